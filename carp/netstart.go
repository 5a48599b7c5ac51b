package carp

import (
	"fmt"
	"net/netip"
	"slices"

	"carpfw/parser/hostnameif"
)

// CheckLines checks the lines of a hostname.carpN file against the
// interface's current configuration c, as if each line were applied in
// turn, and returns the lines to apply. Nothing is applied.
//
// Files written for OpenBSD before 5.x often have no carpdev: the kernel
// then chose the interface with an address on the virtual address's
// subnet. When a line would set an IPv4 address while no carpdev is set,
// CheckLines asks onSubnet for that interface, inserts "carpdev <it>" in
// the line and returns a warning saying so.
func CheckLines(c Config, file string, lines []hostnameif.Line, linkExists func(string) error, onSubnet func(netip.Addr) (string, bool)) ([]hostnameif.Line, []string, error) {
	var warnings []string
	out := slices.Clone(lines)
	for i, l := range out {
		if l.Shell != "" {
			continue
		}
		req, err := ParseRequest(c.Name, l.Words)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", file, l.N, err)
		}
		if dev, ok := legacyCarpdev(c, req, onSubnet); ok {
			warnings = append(warnings, fmt.Sprintf("%s:%d: no carpdev; using %s, the interface on the address's subnet, as OpenBSD once did", file, l.N, dev))
			out[i].Words = append([]string{"carpdev", dev}, l.Words...)
			req.Settings = append([]Setting{{Keyword: "carpdev", Arg: dev}}, req.Settings...)
		}
		o, err := Apply(c, req, linkExists)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", file, l.N, err)
		}
		c = o.Config
	}
	return out, warnings, nil
}

// legacyCarpdev picks the carpdev for a request that adds an IPv4 address
// to an interface that has none and does not set one itself.
func legacyCarpdev(c Config, r Request, onSubnet func(netip.Addr) (string, bool)) (string, bool) {
	if c.CarpDev != "" || r.Has("carpdev") || onSubnet == nil {
		return "", false
	}
	for _, a := range r.Addrs {
		if a.Mode != AddrDelete && a.Address.Prefix.Addr().Is4() {
			return onSubnet(a.Address.Prefix.Addr())
		}
	}
	return "", false
}
