package difftest

import (
	"math/rand"
	"net/netip"
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

// repros are the smallest cases of the disagreements this test has
// found, each a bug of pfconf's compiler or of the evaluator (fixed on
// the date given), or one of pfconf's differences from pf that the
// evaluator's Linux model now predicts. The last packet of each is the
// one the two sides once decided differently; now they must agree.
var repros = []struct {
	name  string
	conf  string
	steps []step
}{
	{"fixed 2026-11-26: untracked return: SYN+ACK answered with a RST", "block return all\n",
		[]step{{"new", 0, 1, tcp("10.0.0.1", "10.1.0.1", 80, 1000, "SA")}}},
	{"fixed 2026-11-26: untracked return: RST answered with an ICMP unreachable", "block return all\n",
		[]step{{"new", 0, 1, tcp("10.0.0.1", "10.1.0.1", 80, 1000, "R")}}},
	{"fixed 2026-11-26: untracked return: echo reply answered with an ICMP unreachable", "block return all\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 0)}}},
	{"fixed 2026-11-26: no translation without a state: match nat-to and pf's default rule", "match out on em1 proto udp nat-to 192.0.2.1\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}},
	{"fixed 2026-11-26: no translation without a state: match nat-to and a no-state pass", "match out on em1 proto udp nat-to 192.0.2.1\npass proto udp no state\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}},
	{"Linux: rules after match nat-to see the original source",
		"match out on em1 proto udp nat-to 192.0.2.1\nblock out on em1 proto udp from 10.0.0.0/8\npass out on em1 proto udp from 192.0.2.1\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}},
	{"Linux: the last translation replaces the earlier",
		"match in on em0 proto tcp rdr-to 10.1.0.5 port 8080\npass in on em0 proto tcp rdr-to 10.1.0.6\n",
		[]step{{"new", 0, 1, tcp("10.0.0.1", "10.1.0.1", 1000, 80, "S")}}},
	{"Linux: no translation for a connection the kernel already tracks",
		"pass proto udp no state\npass out on em1 proto udp nat-to 192.0.2.1\n",
		[]step{{"new", 1, 0, udp("10.1.0.1", "10.0.0.1", 53, 1000)}, {"reply", 0, 1, eval.Packet{}}}},
	{"fixed 2026-11-26: a state kept by a reply-direction packet is not taken for the other pass's",
		"pass in on em0 proto udp\nblock out on em1 proto udp from 10.0.0.1\n",
		[]step{{"new", 1, 0, udp("10.1.0.1", "10.0.0.1", 53, 1000)}, {"reply", 0, 1, eval.Packet{}}}},
	{"fixed 2026-11-26: a stateful rule does not match an echo reply", "block all\npass inet proto icmp\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 0)}}},
	{"fixed 2026-11-26: a stateful rule without proto does not match a timestamp reply", "block all\npass all\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 14)}}},
	{"fixed 2026-11-26: a stateful rule still matches an echo request", "block all\npass all\n",
		[]step{{"new", 0, 1, echo("10.0.0.1", "10.1.0.1", 8)}}},
	{"fixed 2026-11-26: a related ICMP error does not pass a pass without a state", "pass out on em1 proto udp\nblock out on em0 inet proto icmp\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}, {"error", 1, 0, eval.Packet{}}}},
	{"Linux: no state for a packet the kernel does not track", "block all\npass in on em0 proto tcp flags any\npass out on em1 proto tcp flags any\n",
		[]step{{"new", 0, 1, tcp("10.0.0.1", "10.1.0.1", 80, 1000, "SA")}, {"reply", 1, 0, eval.Packet{}}}},
	{"fixed 2026-11-26: an ICMP error passed by a keep-state rule keeps no state",
		"block all\npass in proto udp no state\npass in on em0 proto udp no state tag A\npass out on em1 proto udp tagged A no state\npass in on em1 inet proto icmp\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}, {"error", 1, 0, eval.Packet{}},
			{"new", 2, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}},
	{"fixed 2026-11-26: a match rule alone does not end the evaluation after a quick anchor", "pass all no state\nanchor quick {\n  match proto udp\n}\nblock proto udp all\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}}},
	{"fixed 2026-11-26 (evaluator): an ICMP error about a translated connection is translated back", "pass out on em1 proto udp nat-to 192.0.2.1\n",
		[]step{{"new", 0, 1, udp("10.0.0.1", "10.1.0.1", 1000, 53)}, {"error", 1, 0, eval.Packet{}}}},
	{"fixed 2026-11-26: an untracked packet passed by a quick keep-state rule in an anchor passes",
		"anchor in on em1 {\n  pass in quick on em1 all\n}\nanchor on em1 {\n  block in all\n}\n",
		[]step{{"new", 1, 2, eval.Packet{Proto: eval.ProtoICMP, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"),
			ICMPType: 11, Inner: &eval.Packet{Proto: eval.ProtoTCP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
				SrcPort: 34657, DstPort: 80}}}}},
}

// TestRepros replays repros: the two sides must agree on every packet.
func TestRepros(t *testing.T) {
	tp := newTopo(t)
	d := &differ{t: t, tp: tp, seen: map[string]int{}, id: 30000}
	for _, tc := range repros {
		l, err := eval.Load("pf.conf", []byte(tc.conf), parser.Config{Inventory: tp.host})
		if err != nil {
			t.Fatalf("%s: evaluator: %v", tc.name, err)
		}
		if err := tp.load(tc.conf); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := &caseRun{d: d, e: l.New(tp.host, eval.Linux()), r: rand.New(rand.NewSource(1)), ports: map[portKey]uint16{}}
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
			if !c.step(s) {
				t.Errorf("%s: step %d disagrees:\n%s%s\n  evaluator: %s\n  kernel:    %s", tc.name, i, tc.conf, s.wp, s.want, s.got)
				break
			}
		}
	}
}
