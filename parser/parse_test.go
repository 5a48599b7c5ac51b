package parser_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"carpfw/internal/hostinv"
	"carpfw/parser"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		verbose   int
		defines   []string
		want      string
	}{
		{"ok, pass rules get keep state and flags S/SA", "pass in proto tcp to port ssh\npass out proto udp\n", 1, nil,
			"pass in proto tcp from any to any port = 22 flags S/SA\npass out proto udp all\n"},
		{"ok, carp and pfsync keep state with no-sync", "pass quick on { sis2 } proto pfsync keep state (no-sync)\npass on { sis0 sis1 } proto carp keep state\n", 1, nil,
			"pass quick on sis2 proto pfsync all keep state (no-sync)\npass on sis0 proto carp all\npass on sis1 proto carp all\n"},
		{"ok, -vv numbers rules", "block all\nanchor foo {\n pass\n}\n", 2, nil,
			"@0 block drop all\n@1 anchor \"foo\" all {\n@0 pass all flags S/SA\n}\n"},
		{"ok, -D overrides the file's macro", "ext = \"em0\"\nblock on $ext\n", 1, []string{"ext=em1"},
			"ext = \"em0\"\nblock drop on em1 all\n"},
		{"ok, address family from the addresses", "pass from { 10.0.0.1, ::1 } to any\n", 1, nil,
			"pass inet from 10.0.0.1 to any flags S/SA\npass inet6 from ::1 to any flags S/SA\n"},
		{"ok, once, received-on, max-pkt-rate", "pass in once received-on lo0 max-pkt-rate 100/10\n", 1, nil,
			"pass in all received-on lo0 flags S/SA max-pkt-rate 100/10 once\n"},
		{"ok, -n without -v prints nothing", "pass\n", 0, nil, ""},
		{"bad, syntax error names the line", "pass\npass in in\n", 1, nil,
			"stdin:2: syntax error\n"},
		{"bad, icmp type on tcp", "pass inet proto tcp icmp-type echoreq\n", 1, nil,
			"stdin:1: icmp-type mismatch\nstdin:1: icmp-type/code only applies to icmp\nstdin:1: skipping rule due to errors\nstdin:1: rule expands to no valid combination\n"},
		{"bad, unknown user", "pass proto tcp user nosuchuser\n", 1, nil,
			"stdin:1: unknown user nosuchuser\n"},
		{"bad, queue must be defined", "pass set queue std\n", 1, nil,
			"stdin:1: queue std is not defined\n"},
		{"bad, route-to needs a direction", "pass route-to 10.0.0.1\n", 1, nil,
			"stdin:1: direction must be explicit with rules that specify routing\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			parser.Check("stdin", []byte(tc.src), parser.Config{
				Inventory: hostinv.OpenBSDRegress(),
				Verbose:   tc.verbose,
				Defines:   tc.defines,
				Stdout:    func(s string) { out.WriteString(s) },
				Stderr:    func(s string) { out.WriteString(s) },
			})
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}
