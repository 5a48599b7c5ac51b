package eval

import "testing"

func TestTableFiles(t *testing.T) {
	l := load(t, "table <f> file \"f.txt\" { 192.0.2.0/24 }\nblock all\npass in from <f>\n", map[string]string{
		"f.txt": "# blocklist\n10.0.0.0/8 !10.1.0.0/16\n!10.2.0.0/16 # inline comment\n",
	})
	e := l.New(testHost())
	for _, tc := range []struct{ name, pkt, want string }{
		{"ok, list entry", "in em0 udp 192.0.2.9:1 > 192.0.2.1:2", "pass @1 keep"},
		{"ok, file entry", "in em0 udp 10.3.0.1:1 > 192.0.2.1:2", "pass @1 keep"},
		{"bad, negated in a list", "in em0 udp 10.1.0.1:1 > 192.0.2.1:2", "block @0"},
		{"bad, negated", "in em0 udp 10.2.0.1:1 > 192.0.2.1:2", "block @0"},
	} {
		if got := e.Eval(pkt(tc.pkt)).String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestAnchorPath(t *testing.T) {
	for _, tc := range []struct{ name, cur, call, want string }{
		{"ok, relative in main", "", "a", "a"},
		{"ok, relative in an anchor", "a", "b", "a/b"},
		{"ok, absolute", "a/b", "/c", "c"},
		{"ok, one level up", "a/b", "../c", "a/c"},
		{"ok, two levels up", "a/b", "../../c", "c"},
		{"bad, beyond the root", "a", "../../c", "!"},
	} {
		got, ok := anchorPath(tc.cur, tc.call)
		if !ok {
			got = "!"
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
