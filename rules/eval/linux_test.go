package eval

import "testing"

// TestLinuxDifferences shows each difference of the Linux model (see
// Linux) next to pf's own answer for the same packets.
func TestLinuxDifferences(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		// pkts are evaluated in order; the packets before the last
		// are confirmed (the router forwarded them).
		pkts      []string
		pf, linux string // the last packet's verdict
	}{
		{"NAT bound on the first packet: a no-state pass, then nat-to keep state",
			"pass out on em0 proto udp nat-to 192.0.2.1\npass out quick on em0 proto udp tagged first no state\n",
			[]string{"out em0 udp 10.0.0.2:1000 > 198.51.100.1:53 tag=first", "out em0 udp 10.0.0.2:1000 > 198.51.100.1:53"},
			"pass @0 keep nat 192.0.2.1:50001 > 198.51.100.1:53", "pass @0 keep"},
		{"no state for an untracked packet: a stray SYN+ACK",
			"block all\npass out on em0 proto tcp flags any\n",
			[]string{"out em0 tcp 10.0.0.2:80 > 198.51.100.1:1000 SA"},
			"pass @1 keep", "pass @1"},
		{"translation after filtering: later rules see the original source",
			"match out on em0 proto udp nat-to 192.0.2.1\nblock out on em0 proto udp from 10.0.0.0/8\npass out on em0 proto udp from 192.0.2.1\n",
			[]string{"out em0 udp 10.0.0.2:1000 > 198.51.100.1:53"},
			"pass @2 keep nat 192.0.2.1:50001 > 198.51.100.1:53", "block @1"},
		{"translation after filtering: the last translation replaces the earlier",
			"match in on em1 proto tcp rdr-to 10.0.0.5 port 8080\npass in on em1 proto tcp rdr-to 10.0.0.6\n",
			[]string{"in em1 tcp 10.0.0.2:1000 > 10.0.0.1:80 S"},
			"pass @1 keep nat 10.0.0.2:1000 > 10.0.0.6:8080", "pass @1 keep nat 10.0.0.2:1000 > 10.0.0.6:80"},
	} {
		for _, mode := range []string{"pf", "linux"} {
			l := load(t, tc.conf, nil)
			var e *Engine
			want := tc.pf
			if mode == "linux" {
				e, want = l.New(testHost(), Linux()), tc.linux
			} else {
				e = l.New(testHost())
			}
			var got string
			for i, s := range tc.pkts {
				p := pkt(s)
				v := e.Eval(p)
				got = v.String()
				if i < len(tc.pkts)-1 {
					e.Confirm(p, p)
				}
			}
			if got != want {
				t.Errorf("%s, %s: got %q, want %q", tc.name, mode, got, want)
			}
		}
	}
}
