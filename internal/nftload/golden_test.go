package nftload

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"carpfw/internal/hostinv"
)

var update = flag.Bool("update", false, "rewrite testdata/nft/*.nft from the compiler's output")

// goldenGroups and goldenAddrs are the fixed host the golden files are
// compiled for.
var goldenGroups = map[string][]string{"egress": {"em0"}, "carp": {"carp0", "carp1"}}

var goldenAddrs = map[string][]netip.Prefix{
	"em0": {netip.MustParsePrefix("192.0.2.1/24")},
	"em1": {netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")},
}

// goldenCompile compiles a file of testdata/nft and returns the nft
// text followed by the diagnostics as "# " comment lines.
func goldenCompile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var diag strings.Builder
	prog, err := Compile(Source{Name: filepath.Base(path), Data: data, Inventory: hostinv.OpenBSDRegress(),
		Groups: func(n string) ([]string, bool) {
			ms, ok := goldenGroups[n]
			return ms, ok
		},
		IfAddrs: func(n string) []netip.Prefix { return goldenAddrs[n] },
		Stderr:  func(s string) { diag.WriteString("# " + s) }})
	if err != nil {
		return diag.String()
	}
	return prog.Text() + diag.String()
}

// TestGoldenNft compiles testdata/nft/*.conf and compares the text with
// the .nft file beside it (go test -update rewrites them).
func TestGoldenNft(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/nft/*.conf")
	if len(files) == 0 {
		t.Fatal("no testdata/nft/*.conf")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := goldenCompile(t, f)
			want := strings.TrimSuffix(f, ".conf") + ".nft"
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(w), got); d != "" {
				t.Errorf("%s (-want +got):\n%s", want, d)
			}
		})
	}
}
