package difftest

import (
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"carpfw/parser"
	"carpfw/rules"
	"carpfw/rules/eval"
)

// Defaults of TestDifferential: rulesets and first packets per ruleset
// (replies and ICMP errors about earlier packets come on top).
const (
	defaultRulesets = 200
	packetsPerSet   = 10
	minCases        = 1000
	maxReports      = 8
)

// randomOptions restricts the generator to what both sides support.
var randomOptions = eval.RandomOptions{
	Interfaces: []string{"em0", "em1", "em2"},
	NAT:        true,
	Anchors:    true,
}

// TestDifferential checks the reference evaluator against the kernel:
// random rulesets (eval.RandomRuleset with anchors and nat-to/rdr-to on
// em0, em1 and em2) are compiled and loaded into a router namespace,
// and random packets (eval.RandomPacket, about half of them followed by
// their reply, and now and then an ICMP error about an earlier packet)
// are sent through it as Ethernet frames. What comes out (the packet on
// the expected interface with its translation, nothing, a RST or an ICMP
// unreachable with its code) must be what the evaluator predicts from
// its two passes, in on the receiving interface and out on the sending
// one. Connection tracking is flushed and the evaluator's state table is
// new for every ruleset; the packets of one ruleset share both. The
// test skips when not run as root.
//
// The seed is printed (go test -v); DIFFTEST_SEED=n replays a run, and
// ruleset i of a run is ruleset 0 of DIFFTEST_SEED=n+i
// DIFFTEST_RULESETS=1, as each disagreement's message says.
// DIFFTEST_RULESETS=k changes the number of rulesets,
// DIFFTEST_REPORTS=k the number of disagreements reported in full,
// DIFFTEST_NFT=1 adds the kernel's ruleset to the first report and
// DIFFTEST_DEBUG=1 counts the packets the router sends itself and lists
// its connections.
//
// Differences of the model the test accepts on purpose:
//   - TCP window tracking: the evaluator has none, so the router runs
//     with net.netfilter.nf_conntrack_tcp_be_liberal=1;
//   - nat-to source ports: pf (and the kernel) pick any port of the
//     range, the evaluator the packet's own or the lowest free one; the
//     kernel's port must be in the range, and later packets are compared
//     with the kernel's port standing for the evaluator's;
//   - packets that are their own reply (same address and port at both
//     ends) are not sent (see symmetric).
//
// The evaluator runs with eval.Linux: it predicts pfconf's documented
// differences from pf (NAT bound on a connection's first packet, no
// state for a packet connection tracking does not track, translation
// after the filter pass; docs/pfconf-nftables.md §7), and the kernel
// must show exactly those and no others. pf's own answers for the same
// cases are in rules/eval's TestLinuxDifferences.
func TestDifferential(t *testing.T) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("DIFFTEST_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("DIFFTEST_SEED: %v", err)
		}
		seed = n
	}
	nsets := defaultRulesets
	if s := os.Getenv("DIFFTEST_RULESETS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("DIFFTEST_RULESETS: %v", err)
		}
		nsets = n
	}
	t.Logf("DIFFTEST_SEED=%d DIFFTEST_RULESETS=%d", seed, nsets)
	tp := newTopo(t)
	start := time.Now()
	d := &differ{t: t, tp: tp, seen: map[string]int{}}
	for i := 0; i < nsets; i++ {
		d.ruleset(seed+int64(i), i)
	}
	t.Logf("%d rulesets, %d cases (%d passed, %d dropped, %d rst, %d unreach) in %v; %d disagreements",
		nsets, d.cases, d.seen["pass"], d.seen["drop"], d.seen["rst"], d.seen["unreach"],
		time.Since(start).Round(time.Millisecond), d.failed)
	if d.failed > 0 {
		t.Errorf("seed %d: %d disagreements", seed, d.failed)
	}
	if os.Getenv("DIFFTEST_RULESETS") == "" && d.cases < minCases {
		t.Errorf("only %d cases, want at least %d", d.cases, minCases)
	}
}

type differ struct {
	t      *testing.T
	tp     *topo
	cases  int
	failed int
	seen   map[string]int
	id     uint16
}

// sent is one packet of a ruleset's sequence, for replies, ICMP errors
// and messages.
type sent struct {
	in, out  int
	ep       eval.Packet // as the evaluator got it
	wp       *wirePkt    // as sent
	want     expect
	got      observed
	evalOut  eval.Packet // pass: as it left, per the evaluator
	wireOut  *wirePkt    // pass: as it left, per the kernel
	describe string
}

// ruleset runs one random ruleset and its packets.
func (d *differ) ruleset(seed int64, idx int) {
	t := d.t
	r := rand.New(rand.NewSource(seed))
	if d.id == 0 {
		d.id = uint16(1 + seed%60000)
	}
	conf := eval.RandomRuleset(r, randomOptions)
	l, err := eval.Load("pf.conf", []byte(conf), parser.Config{Inventory: d.tp.host})
	if err != nil {
		t.Fatalf("ruleset %d (seed %d): evaluator: %v\n%s", idx, seed, err, conf)
	}
	if err := d.tp.load(conf); err != nil {
		t.Fatalf("ruleset %d (seed %d): %v\n%s", idx, seed, err, conf)
	}
	e := l.New(d.tp.host, eval.Linux())
	c := &caseRun{d: d, e: e, r: r, ports: map[portKey]uint16{}}
	for n := 0; n < packetsPerSet; n++ {
		ok := c.step(c.first())
		if ok && c.last().want.kind == "pass" && !isICMPError(c.last().wp) && r.Intn(2) == 0 {
			ok = c.step(c.reply(c.last()))
		}
		if ok && r.Intn(6) == 0 {
			if prev := c.passedEarlier(); prev != nil {
				ok = c.step(c.icmpErrorAbout(prev))
			}
		}
		if !ok {
			d.failed++
			if d.failed <= d.maxReports() {
				d.t.Error(d.describe(seed, idx, conf, c))
			}
			return
		}
	}
}

// portKey is an evaluator's translated end and the end it talks to: pf
// (and the evaluator) use a nat port again towards another peer.
type portKey struct {
	addr netip.Addr
	port uint16
	peer netip.AddrPort
}

// caseRun is the packet sequence of one ruleset.
type caseRun struct {
	d     *differ
	e     *eval.Engine
	r     *rand.Rand
	log   []*sent
	ports map[portKey]uint16 // the evaluator's nat port: the kernel's
}

func (c *caseRun) last() *sent { return c.log[len(c.log)-1] }

// passedEarlier picks a packet of the sequence that both sides passed.
func (c *caseRun) passedEarlier() *sent {
	var ok []*sent
	for _, s := range c.log {
		if s.got.kind == "pass" && s.want.kind == "pass" && s.ep.Proto != eval.ProtoICMP {
			ok = append(ok, s)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	return ok[c.r.Intn(len(ok))]
}

func (c *caseRun) nextID() uint16 {
	c.d.id++
	if c.d.id == 0 {
		c.d.id = 1
	}
	return c.d.id
}

// first is a new random packet on a random path.
func (c *caseRun) first() *sent {
	r := c.r
	p := eval.RandomPacket(r, randomOptions)
	for symmetric(p) {
		p = eval.RandomPacket(r, randomOptions)
	}
	ifi := int(p.If[len(p.If)-1] - '0')
	other := (ifi + 1 + r.Intn(nIfs-1)) % nIfs
	s := &sent{in: ifi, out: other, describe: "new"}
	if p.Dir == rules.DirOut {
		s.in, s.out = other, ifi
	}
	if p.Proto == eval.ProtoICMP && p.ICMPType != 0 && p.ICMPType != 8 {
		// An error message quotes a packet its destination sent.
		in := eval.Packet{Proto: []int{eval.ProtoTCP, eval.ProtoUDP}[r.Intn(2)], Src: p.Dst, Dst: p.Src,
			SrcPort: uint16(1024 + r.Intn(60000)), DstPort: []uint16{22, 53, 80, 1000, 8080}[r.Intn(5)]}
		p.Inner = &in
	}
	s.ep = p
	s.wp = wireOf(p, c.nextID(), r)
	return s
}

// reply answers an earlier packet that passed, on the way back.
func (c *caseRun) reply(prev *sent) *sent {
	s := &sent{in: prev.out, out: prev.in, describe: fmt.Sprintf("reply to #%d", len(c.log)-1)}
	s.ep = eval.Reply(prev.evalOut)
	k := *prev.wireOut
	w := &k
	w.Inner = nil
	w.Src, w.Dst = k.Dst, k.Src
	w.SrcPort, w.DstPort = k.DstPort, k.SrcPort
	w.ID = c.nextID()
	switch w.Proto {
	case eval.ProtoTCP:
		w.Flags = s.ep.TCPFlags
		w.Ack = k.Seq
		if k.Flags&(eval.TCPSyn|eval.TCPFin) != 0 {
			w.Ack++
		}
		w.Seq = c.r.Uint32()
	case eval.ProtoICMP:
		w.Type = s.ep.ICMPType
	}
	w.TOS = tosFor(s.in, s.out)
	s.ep.TOS = w.TOS
	s.wp = w
	return s
}

// icmpErrorAbout is an ICMP error from the far end of an earlier packet
// that passed, quoting it as it arrived there, sent back its way.
func (c *caseRun) icmpErrorAbout(prev *sent) *sent {
	s := &sent{in: prev.out, out: prev.in, describe: fmt.Sprintf("icmp error about #%d", indexOf(c.log, prev))}
	typ := []uint8{3, 11}[c.r.Intn(2)]
	code := uint8(0)
	if typ == 3 {
		code = []uint8{1, 3}[c.r.Intn(2)]
	}
	inner := prev.evalOut
	s.ep = eval.Packet{Proto: eval.ProtoICMP, Src: inner.Dst, Dst: inner.Src, ICMPType: typ, ICMPCode: code, Inner: &inner}
	in := *prev.wireOut
	in.Inner = nil
	s.wp = &wirePkt{ID: c.nextID(), Proto: eval.ProtoICMP, Src: in.Dst, Dst: in.Src, Type: typ, Code: code, Inner: &in}
	s.wp.TOS = tosFor(s.in, s.out)
	s.ep.TOS = s.wp.TOS
	return s
}

// symmetric reports whether a packet is its own reply (same address and
// port on both ends): pf's state of the inbound pass then also matches
// the outbound pass as a reply, the kernel's connection has one
// direction. No real host sends these; the test does not.
func symmetric(p eval.Packet) bool {
	return p.Src == p.Dst && p.SrcPort == p.DstPort
}

// isICMPError reports whether w is an ICMP error message.
func isICMPError(w *wirePkt) bool {
	return w.Proto == eval.ProtoICMP && w.Inner != nil
}

func indexOf(l []*sent, s *sent) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

// wireOf is the frame's packet for an evaluator packet.
func wireOf(p eval.Packet, id uint16, r *rand.Rand) *wirePkt {
	w := &wirePkt{ID: id, Proto: p.Proto, Src: p.Src, Dst: p.Dst, SrcPort: p.SrcPort, DstPort: p.DstPort,
		Flags: p.TCPFlags, Type: p.ICMPType, Code: p.ICMPCode, ICMPID: p.ICMPID}
	if p.Proto == eval.ProtoTCP {
		w.Seq = r.Uint32()
		if p.TCPFlags&eval.TCPAck != 0 {
			w.Ack = r.Uint32()
		}
	}
	if p.Inner != nil {
		w.Inner = wireOf(*p.Inner, uint16(r.Intn(65536)), r)
	}
	return w
}

// step sends one packet through both sides and compares.
func (c *caseRun) step(s *sent) bool {
	if s.wp.TOS == 0 {
		s.wp.TOS = tosFor(s.in, s.out)
		s.ep.TOS = s.wp.TOS
	}
	c.log = append(c.log, s)
	c.d.cases++
	s.want, s.evalOut = c.expect(s)
	got, err := c.d.tp.send(s.in, s.wp, s.want.kind == "drop")
	if err != nil {
		c.d.t.Fatalf("sending %s: %v", s.wp, err)
	}
	s.got = got
	c.d.seen[got.kind]++
	if got.kind == "pass" {
		s.wireOut = got.pkt
	}
	if s.want.kind == "pass" {
		// The kernel confirms the connection of what it forwards.
		c.e.Confirm(s.ep, s.evalOut)
	}
	return c.agree(s)
}

// expect is the evaluator's outcome for a packet on its path.
type expect struct {
	kind  string
	code  uint8
	port  int
	pkt   eval.Packet
	nat   [2]uint16 // the range of a source port (or echo id) chosen by nat-to
	trace []string
	// verdicts of the passes, in then out
	verdicts []eval.Verdict
}

func (x expect) String() string {
	s := x.kind
	switch x.kind {
	case "pass":
		s = fmt.Sprintf("pass out %s: %s", ifName(x.port), x.pkt)
		if x.nat[1] != 0 {
			s += fmt.Sprintf(" (nat port %d-%d)", x.nat[0], x.nat[1])
		}
	case "unreach":
		s = fmt.Sprintf("unreach code %d", x.code)
	}
	return s + " (" + strings.Join(x.trace, "; ") + ")"
}

func (c *caseRun) expect(s *sent) (expect, eval.Packet) {
	var x expect
	p := s.ep
	p.If, p.Dir, p.RcvIf = ifName(s.in), rules.DirIn, ifName(s.in)
	v := c.e.Eval(p)
	x.trace = append(x.trace, "in on "+p.If+": "+v.String())
	x.verdicts = append(x.verdicts, v)
	if v.Action != rules.ActionPass {
		x.block(v)
		return x, p
	}
	x.natRange(v)
	q := apply(p, v.Translation)
	q.If, q.Dir, q.Tag = ifName(s.out), rules.DirOut, v.Tag
	v = c.e.Eval(q)
	x.trace = append(x.trace, "out on "+q.If+": "+v.String())
	x.verdicts = append(x.verdicts, v)
	if v.Action != rules.ActionPass {
		x.block(v)
		return x, q
	}
	x.natRange(v)
	f := apply(q, v.Translation)
	x.kind, x.port, x.pkt = "pass", s.out, f
	return x, f
}

func (x *expect) block(v eval.Verdict) {
	switch v.Return {
	case eval.ReturnRST:
		x.kind = "rst"
	case eval.ReturnICMP:
		x.kind, x.code = "unreach", uint8(v.ReturnICMP)
		if v.ReturnICMP>>8 != 3 {
			x.kind = fmt.Sprintf("icmp %d/%d", v.ReturnICMP>>8, uint8(v.ReturnICMP))
		}
	default:
		x.kind = "drop"
	}
}

func (x *expect) natRange(v eval.Verdict) {
	if n := v.Translation; n != nil && n.Nat && !v.StateMatch && n.PortHigh != 0 {
		x.nat = [2]uint16{n.PortLow, n.PortHigh}
	}
}

func apply(p eval.Packet, n *eval.NAT) eval.Packet {
	if n == nil {
		return p
	}
	if n.Inner != nil && p.Inner != nil {
		q := apply(*p.Inner, n.Inner)
		p.Inner = &q
	}
	p.Src, p.Dst = n.Src, n.Dst
	switch p.Proto {
	case eval.ProtoTCP, eval.ProtoUDP:
		p.SrcPort, p.DstPort = n.SrcPort, n.DstPort
	case eval.ProtoICMP:
		if n.ICMPID != 0 {
			p.ICMPID = n.ICMPID
		}
	}
	return p
}

// agree compares the two outcomes of the last packet.
func (c *caseRun) agree(s *sent) bool {
	want, got := s.want, s.got
	if want.kind != got.kind {
		return false
	}
	switch want.kind {
	case "unreach":
		return want.code == got.code
	case "pass":
	default:
		return true
	}
	if want.port != got.port {
		return false
	}
	w, k := want.pkt, got.pkt
	if w.Src != k.Src || w.Dst != k.Dst {
		return false
	}
	switch w.Proto {
	case eval.ProtoTCP, eval.ProtoUDP:
		return c.samePort(w.Src, w.SrcPort, k.SrcPort, want.nat, netip.AddrPortFrom(w.Dst, w.DstPort)) &&
			c.samePort(w.Dst, w.DstPort, k.DstPort, [2]uint16{}, netip.AddrPortFrom(w.Src, w.SrcPort))
	case eval.ProtoICMP:
		if w.ICMPType == 0 || w.ICMPType == 8 {
			return c.samePort(w.Src, w.ICMPID, k.ICMPID, want.nat, netip.AddrPortFrom(w.Dst, 0)) ||
				c.samePort(w.Dst, w.ICMPID, k.ICMPID, [2]uint16{}, netip.AddrPortFrom(w.Src, 0))
		}
		if w.Inner != nil {
			// The quoted packet, translated back as the error's
			// connection was.
			wi, ki := w.Inner, k.Inner
			return ki != nil && wi.Src == ki.Src && wi.Dst == ki.Dst &&
				c.samePort(wi.Src, wi.SrcPort, ki.SrcPort, [2]uint16{}, netip.AddrPortFrom(wi.Dst, wi.DstPort)) &&
				c.samePort(wi.Dst, wi.DstPort, ki.DstPort, [2]uint16{}, netip.AddrPortFrom(wi.Src, wi.SrcPort))
		}
	}
	return true
}

// samePort compares the evaluator's port with the kernel's: equal, in
// the nat-to range (then remembered), or the kernel's port for the
// evaluator's one seen before.
func (c *caseRun) samePort(a netip.Addr, want, got uint16, nat [2]uint16, peer netip.AddrPort) bool {
	k := portKey{a, want, peer}
	if nat[1] != 0 {
		if got < nat[0] || got > nat[1] {
			return false
		}
		if want != got {
			c.ports[k] = got
		}
		return true
	}
	if want == got {
		return true
	}
	m, ok := c.ports[k]
	return ok && m == got
}

// maxReports is how many disagreements are reported in full
// (DIFFTEST_REPORTS, default maxReports).
func (d *differ) maxReports() int {
	if n, err := strconv.Atoi(os.Getenv("DIFFTEST_REPORTS")); err == nil {
		return n
	}
	return maxReports
}

func (d *differ) describe(seed int64, idx int, conf string, c *caseRun) string {
	var w strings.Builder
	fmt.Fprintf(&w, "disagreement: ruleset %d, replay with DIFFTEST_SEED=%d DIFFTEST_RULESETS=1\n", idx, seed)
	fmt.Fprintf(&w, "ruleset:\n%s", conf)
	for i, s := range c.log {
		mark := "  "
		if i == len(c.log)-1 {
			mark = "=>"
		}
		fmt.Fprintf(&w, "%s #%d %s, %s -> %s: %s\n", mark, i, s.describe, ifName(s.in), ifName(s.out), s.wp)
		fmt.Fprintf(&w, "     evaluator: %s\n     kernel:    %s\n", s.want, s.got)
		if i == len(c.log)-1 && len(s.got.other) > 0 {
			fmt.Fprintf(&w, "     other frames: %s\n", strings.Join(s.got.other, "; "))
		}
	}
	if os.Getenv("DIFFTEST_DEBUG") != "" {
		out, _ := d.tp.r.Run("nft", "list", "table", "ip", "dbg")
		fmt.Fprintf(&w, "%s\n", out)
		out, _ = d.tp.r.Run("conntrack", "-L")
		fmt.Fprintf(&w, "%s\n", out)
	}
	if d.failed == 1 && os.Getenv("DIFFTEST_NFT") != "" {
		out, _ := d.tp.r.Run("nft", "list", "ruleset")
		if len(out) > 8000 {
			out = out[:8000] + "\n..."
		}
		fmt.Fprintf(&w, "nft list ruleset:\n%s\n", out)
	}
	return w.String()
}
