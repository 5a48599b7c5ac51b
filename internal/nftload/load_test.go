package nftload

import (
	"strings"
	"testing"

	"github.com/google/nftables"

	"carpfw/internal/hostinv"
	"carpfw/internal/lab"
	"carpfw/rules"
)

// compileString compiles a pf.conf for tests with the regress host
// profile and no groups.
func compileString(t *testing.T, conf string) *rules.Program {
	t.Helper()
	var diag strings.Builder
	prog, err := Compile(Source{Name: "pf.conf", Data: []byte(conf), Inventory: hostinv.OpenBSDRegress(),
		Groups: func(string) ([]string, bool) { return nil, false }, Stderr: func(s string) { diag.WriteString(s) }})
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, diag.String())
	}
	return prog
}

// loadIn loads prog into host h through the library.
func loadIn(t *testing.T, h *lab.Host, prog *rules.Program) error {
	t.Helper()
	return h.Do(func() error {
		conn, err := nftables.New()
		if err != nil {
			return err
		}
		return Load(conn, prog, LoadOptions{})
	})
}

const smokeConf = `set skip on lo0
set block-policy return
table <bad> { 10.0.0.0/8 !10.1.0.0/16 }
block all
pass in on tun1000000 proto tcp from (lo0) to any port 22
pass out on lo0 from 10.0.0.0/24 to any nat-to 192.0.2.1
pass in proto tcp to 192.0.2.1 port 80 rdr-to 10.0.0.5 port 8080
pass in proto { carp pfsync }
block in quick from <bad>
pass in inet proto icmp icmp-type echoreq code 0 tag ECHO
pass out tagged ECHO
pass proto udp to port 1000:2000 keep state (no-sync)
anchor "foo" {
 pass in proto tcp to port 25
}
`

// TestLoadMatchesNftText loads a program through netlink in one
// namespace and its --print-nft text with nft -f in another, and
// requires the kernel to list the same ruleset for both.
func TestLoadMatchesNftText(t *testing.T) {
	l := lab.New(t)
	a, b := l.Host("a"), l.Host("b")
	prog := compileString(t, smokeConf)
	if err := loadIn(t, a, prog); err != nil {
		t.Fatalf("load: %v", err)
	}
	path := t.TempDir() + "/r.nft"
	writeFile(t, path, prog.Text())
	if out, err := b.Run("nft", "-f", path); err != nil {
		t.Fatalf("nft -f: %v\n%s", err, out)
	}
	got, want := a.MustRun("nft", "list", "ruleset"), b.MustRun("nft", "list", "ruleset")
	if got != want {
		t.Errorf("library load and nft -f differ:\n--- library\n%s\n--- nft -f\n%s", got, want)
	}
}
