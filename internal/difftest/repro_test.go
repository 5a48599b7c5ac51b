package difftest

import (
	"math/rand"
	"net/netip"
	"os"
	"testing"

	"carpfw/parser"
	"carpfw/rules/eval"
)

// step is one packet of a reproduction: a new packet on a path, the
// reply to the previous packet, or an ICMP error about it.
type step struct {
	kind    string // new, reply, error
	in, out int
	p       eval.Packet
}

func udp(src, dst string, sport, dport uint16) eval.Packet {
	return eval.Packet{Proto: eval.ProtoUDP, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
		SrcPort: sport, DstPort: dport}
}

func tcp(src, dst string, sport, dport uint16, flags string) eval.Packet {
	p := udp(src, dst, sport, dport)
	p.Proto, p.TCPFlags = eval.ProtoTCP, eval.ParseFlags(flags)
	return p
}

func echo(src, dst string, typ uint8) eval.Packet {
	return eval.Packet{Proto: eval.ProtoICMP, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
		ICMPType: typ, ICMPID: 1}
}

// knownRepros are the smallest cases found for the known disagreements
// (each is a bug of pfconf's compiler or of the evaluator; see
// known_test.go and TestDifferential). The last packet of each is the
// one the two sides decide differently.
var knownRepros = []struct {
	name  string
	conf  string
	steps []step
	fixed bool // a fixed bug: the two sides must agree
}{
	{"fixed 2026-11-26: untracked return: SYN+ACK answered with a RST", "block return all\n",
		[]step{{"new", 0, 1, tcp("10.0.0.1", "10.1.0.1", 80, 1000, "SA")}}, true},
	{"fixed 2026-11-26: untracked return: RST answered with an ICMP unreachable", "block return all\n",
		[]step{{"new", 0, 1, tcp("10.0.0.1", "10.1.0.1", 80, 1000, "R")}}, true},
	{"fixed 2026-11-26: untracked return: echo reply answered with an ICMP unreachable", "block return all\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 0)}}, true},
	{"fixed 2026-11-26: no translation without a state: match nat-to and pf's default rule", "match out on em1 proto udp nat-to 192.0.2.1\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}, true},
	{"fixed 2026-11-26: no translation without a state: match nat-to and a no-state pass", "match out on em1 proto udp nat-to 192.0.2.1\npass proto udp no state\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}, true},
	{"rules after match nat-to see the translated source",
		"match out on em1 proto udp nat-to 192.0.2.1\nblock out on em1 proto udp from 10.0.0.0/8\npass out on em1 proto udp from 192.0.2.1\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}, false},
	{"translation for a connection the kernel already tracks: none",
		"pass proto udp no state\npass out on em1 proto udp nat-to 192.0.2.1\n",
		[]step{{"new", 1, 0, udp("10.1.0.1", "10.0.0.1", 53, 1000)}, {"reply", 0, 1, eval.Packet{}}}, false},
	{"fixed 2026-11-26: a state kept by a reply-direction packet is not taken for the other pass's",
		"pass in on em0 proto udp\nblock out on em1 proto udp from 10.0.0.1\n",
		[]step{{"new", 1, 0, udp("10.1.0.1", "10.0.0.1", 53, 1000)}, {"reply", 0, 1, eval.Packet{}}}, true},
	{"fixed 2026-11-26: a stateful rule does not match an echo reply", "block all\npass inet proto icmp\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 0)}}, true},
	{"fixed 2026-11-26: a stateful rule without proto does not match a timestamp reply", "block all\npass all\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 14)}}, true},
	{"fixed 2026-11-26: a stateful rule still matches an echo request", "block all\npass all\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 8)}}, true},
	{"fixed 2026-11-26: a related ICMP error does not pass a pass without a state", "pass out on em1 proto udp\nblock out on em0 inet proto icmp\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}, {"error", 1, 0, eval.Packet{}}}, true},
	{"state of an untracked packet", "block all\npass in on em0 proto tcp flags any\npass out on em1 proto tcp flags any\n",
		[]step{{"new", 0, 1, tcp("10.0.0.1", "10.1.0.1", 80, 1000, "SA")}, {"reply", 1, 0, eval.Packet{}}}, false},
	{"fixed 2026-11-26: a match rule alone does not end the evaluation after a quick anchor", "pass all no state\nanchor quick {\n  match proto udp\n}\nblock proto udp all\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}, true},
	{"evaluator: ICMP error about a translated connection", "pass out on em1 proto udp nat-to 192.0.2.1\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}, {"error", 1, 0, eval.Packet{}}}, false},
}

// TestKnownDisagreements replays knownRepros and logs, for each, whether
// the two sides still disagree on its last packet; with DIFFTEST_STRICT
// set, a disagreement fails. A case that agrees is fixed: its exclusion
// can go.
func TestKnownDisagreements(t *testing.T) {
	tp := newTopo(t)
	strict := os.Getenv("DIFFTEST_STRICT") != ""
	d := &differ{t: t, tp: tp, seen: map[string]int{}, id: 30000}
	for _, tc := range knownRepros {
		l, err := eval.Load("pf.conf", []byte(tc.conf), parser.Config{Inventory: tp.host})
		if err != nil {
			t.Fatalf("%s: evaluator: %v", tc.name, err)
		}
		if err := tp.load(tc.conf); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := &caseRun{d: d, e: l.New(tp.host), r: rand.New(rand.NewSource(1)), ports: map[portKey]uint16{}}
		ok := true
		for i, st := range tc.steps {
			var s *sent
			switch st.kind {
			case "new":
				s = &sent{in: st.in, out: st.out, ep: st.p, describe: "new"}
				s.wp = wireOf(st.p, c.nextID(), c.r)
			case "reply":
				s = c.reply(c.last())
			case "error":
				s = c.icmpErrorAbout(c.last())
			}
			if st.kind != "new" && (s.in != st.in || s.out != st.out) {
				t.Fatalf("%s: step %d goes %s -> %s", tc.name, i, ifName(s.in), ifName(s.out))
			}
			ok = c.step(s)
			if !ok && i < len(tc.steps)-1 {
				t.Errorf("%s: step %d disagrees already", tc.name, i)
			}
		}
		last := c.last()
		switch {
		case ok:
			t.Logf("%s: agrees now (%s)", tc.name, last.want)
		case tc.fixed:
			t.Errorf("%s: disagrees again:\n%s%s\n  evaluator: %s\n  kernel:    %s", tc.name, tc.conf, last.wp, last.want, last.got)
		case strict:
			t.Errorf("%s:\n%s%s\n  evaluator: %s\n  kernel:    %s", tc.name, tc.conf, last.wp, last.want, last.got)
		default:
			t.Logf("%s:\n%s%s\n  evaluator: %s\n  kernel:    %s", tc.name, tc.conf, last.wp, last.want, last.got)
		}
	}
}
