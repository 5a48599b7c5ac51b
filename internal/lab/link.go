package lab

import (
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// maxIfName is the longest interface name Linux accepts (IFNAMSIZ - 1).
const maxIfName = 15

// Link connects host a and host b with a virtual cable (a veth pair): the
// end named aIf lives in a, the end named bIf in b, and both are up.
// The pair is created inside a's namespace with its peer placed directly
// in b's, so no interface ever appears in the root namespace. It fails the
// test on error.
func (l *Lab) Link(a *Host, aIf string, b *Host, bIf string) {
	l.t.Helper()
	if a.lab != l || b.lab != l {
		l.t.Fatalf("lab: link %s %s to %s %s: host of another lab", a.name, aIf, b.name, bIf)
	}
	if err := createVeth(a, aIf, b, bIf); err != nil {
		a.fatalf("%v", err)
	}
	if err := a.setLink(aIf, true); err != nil {
		a.fatalf("link %s to %s %s: %v", aIf, b.name, bIf, err)
	}
	if err := b.setLink(bIf, true); err != nil {
		b.fatalf("link %s to %s %s: %v", bIf, a.name, aIf, err)
	}
}

// createVeth creates the veth pair aIf (in a) and bIf (in b), both down.
func createVeth(a *Host, aIf string, b *Host, bIf string) error {
	what := fmt.Sprintf("link %s to %s %s", aIf, b.name, bIf)
	if err := checkIfName(aIf); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := checkIfName(bIf); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if a == b && aIf == bIf {
		return fmt.Errorf("%s: both ends have the same name", what)
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: aIf, TxQLen: -1},
		PeerName:      bIf,
		PeerNamespace: netlink.NsFd(b.fd),
		PeerTxQLen:    -1,
	}
	if err := a.nl.LinkAdd(veth); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// checkIfName validates an interface name: 1 to 15 characters, no "/",
// ":" or white space, not "." or "..".
func checkIfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty interface name")
	case len(name) > maxIfName:
		return fmt.Errorf("interface name %q longer than %d characters", name, maxIfName)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q not allowed", name)
	case strings.ContainsAny(name, "/: \t\n"):
		return fmt.Errorf("interface name %q holds '/', ':' or white space", name)
	}
	return nil
}
