package rules

import (
	"fmt"
	"strings"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// compiler is the state of one Compile call.
type compiler struct {
	opts    CompileOptions
	prog    *Program
	errs    []string
	warned  map[string]bool
	checked map[*Rule]bool
	ids     map[*Rule]int
	anchors map[*Rule]int
	tags    map[string]int
	xlats   []xlat
	nanchor int
	// overload lists the overload tables, true for those a rule flushes.
	overload map[string]bool
}

// scope is where rules of one ruleset are compiled to: the chain of the
// pass, the anchor path, and whether matching rules must set the quick
// anchor bit.
type scope struct {
	ch    *Chain
	d     pass
	path  string
	quick bool
}

func newCompiler(opts CompileOptions) *compiler {
	c := &compiler{opts: opts, prog: &Program{}, warned: map[string]bool{},
		checked: map[*Rule]bool{}, ids: map[*Rule]int{}, anchors: map[*Rule]int{}, tags: map[string]int{},
		overload: map[string]bool{}}
	c.skeleton()
	return c
}

// ruleset compiles rs into both passes of the main ruleset.
func (c *compiler) ruleset(rs *Ruleset, _ *scope) {
	for _, d := range []pass{passIn, passOut} {
		sc := &scope{ch: c.prog.chain(passChain(d)), d: d}
		c.rules(rs, sc)
		sc.ch.Rules = append(sc.ch.Rules, &NRule{Stmts: []Stmt{sVerdict(expr.VerdictGoto, decideChain(d))}})
	}
}

// rules compiles the rules of one (anchor) ruleset into scope sc.
func (c *compiler) rules(rs *Ruleset, sc *scope) {
	if rs == nil {
		return
	}
	for _, r := range rs.Rules {
		if !c.checked[r] {
			c.checked[r] = true
			c.check(r)
		}
		if r.Direction == DirIn && sc.d == passOut || r.Direction == DirOut && sc.d == passIn {
			continue
		}
		if r.Anchor != nil {
			c.anchor(r, sc)
			continue
		}
		c.rule(r, sc)
	}
}

// id returns the rule id of r (its value in the mark register).
func (c *compiler) id(r *Rule, path string) int {
	if id, ok := c.ids[r]; ok {
		return id
	}
	id := len(c.ids) + 1
	if id > maxRuleID {
		c.errorf(r, "too many rules (at most %d)", maxRuleID)
		id = maxRuleID
	}
	c.ids[r] = id
	c.prog.Rules = append(c.prog.Rules, RuleInfo{ID: id, Rule: r, Anchor: path})
	return id
}

// tagID returns the mark value of a tag name.
func (c *compiler) tagID(r *Rule, name string) uint32 {
	id, ok := c.tags[name]
	if !ok {
		id = len(c.tags) + 1
		if id > maxTag {
			c.errorf(r, "too many tags (at most %d)", maxTag)
		}
		c.tags[name] = id
	}
	return uint32(id) << tagShift
}

// rule compiles a pass, block or match rule into scope sc.
func (c *compiler) rule(r *Rule, sc *scope) {
	id := c.id(r, sc.path)
	keep, val := uint32(0xffffffff), uint32(0)
	if r.Tag != "" {
		// pf tags the packet at every matching rule (pf_match_rule).
		keep &^= MarkTag
		val |= c.tagID(r, r.Tag)
	}
	if sc.quick && r.Action != ActionMatch {
		// Only a pass or block rule of a quick anchor ends the
		// evaluation after it (pf_step_into_anchor: *ctx->am == r).
		keep &^= MarkAnchor
		val |= MarkAnchor
	}
	var tail []Stmt
	switch r.Action {
	case ActionMatch:
		if x := c.translation(r, sc.d); x != 0 {
			keep &^= MarkXlat
			val |= x
		}
		tail = append(tail, sCounter(c.counter(id, sc.d)))
		if r.Log&LogOn != 0 {
			tail = append(tail, sLog(fmt.Sprintf("pf:%d:match:%s ", r.Nr, sc.d), uint16(r.LogIf)))
		}
		if keep != 0xffffffff || val != 0 {
			tail = append([]Stmt{sMarkSet(keep, val)}, tail...)
		}
		if r.Quick {
			tail = append(tail, sVerdict(expr.VerdictGoto, decideChain(sc.d)))
		}
	default:
		keep &^= MarkRule
		val |= uint32(id)
		tail = append(tail, sMarkSet(keep, val))
		if r.Quick {
			tail = append(tail, sVerdict(expr.VerdictGoto, decideChain(sc.d)))
		}
		c.finaliser(r, id, sc.d)
	}
	for _, m := range c.matches(r, sc.d) {
		sc.ch.Rules = append(sc.ch.Rules, &NRule{Stmts: append(m, tail...), Comment: ruleComment(r)})
	}
}

// ruleComment is the pf rule in the nft rule's comment.
func ruleComment(r *Rule) string {
	var w strings.Builder
	call := ""
	if r.Anchor != nil {
		call = r.Anchor.Call
	}
	PrintRule(&w, r, call, false)
	s := w.String()
	if len(s) > 120 {
		s = s[:120]
	}
	return fmt.Sprintf("@%d %s", r.Nr, s)
}

// counter declares the named counter of rule id in pass d.
func (c *compiler) counter(id int, d pass) string {
	n := CounterName(id, d.String())
	c.prog.Counters = append(c.prog.Counters, n)
	ri := &c.prog.Rules[id-1]
	ri.Counters = append(ri.Counters, n)
	return n
}

// finaliser builds the chain that carries out the decision of a pass or
// block rule and adds it to the pass's verdict map.
func (c *compiler) finaliser(r *Rule, id int, d pass) {
	name := FinChain(id, d.String())
	ch := &Chain{Name: name}
	c.prog.Chains = append(c.prog.Chains, ch)
	c.prog.Set(decideMap(d)).Elems = append(c.prog.Set(decideMap(d)).Elems, Elem{Key: ne32(uint32(id)), Goto: name})
	pre := []Stmt{sCounter(c.counter(id, d))}
	add := func(s ...Stmt) { ch.Rules = append(ch.Rules, &NRule{Stmts: s}) }
	if r.Log&LogOn != 0 {
		act := "pass"
		if r.Action == ActionBlock {
			act = "block"
		}
		pre = append(pre, sLog(fmt.Sprintf("pf:%d:%s:%s ", r.Nr, act, d), uint16(r.LogIf)))
	}
	if r.Action == ActionBlock {
		rj := rejects(r)
		if len(rj) > 0 {
			// The reply the kernel generates inherits this mark
			// (net.ipv{4,6}.fwmark_reflect, which pfconf sets): the
			// outbound pass lets it out unfiltered, as pf never
			// filters what it generates. The packet mark goes first:
			// "ct mark set" ends the rule for a packet conntrack does
			// not track (NFT_BREAK).
			pre = append(pre, sMarkSet(0, MarkReply))
			c.prog.Rejects = true
		}
		add(pre...)
		for _, s := range rj {
			add(s...)
		}
		add(sVerdict(expr.VerdictDrop, ""))
		return
	}
	if lim := c.limitRules(r, id, d); len(lim) > 0 {
		// Counted and logged as pf does for a matching rule, then refused
		// over a limit; the state bits and the translation come after.
		add(pre...)
		pre = nil
		for _, l := range lim {
			add(l...)
		}
	}
	var xl []Stmt
	if x := c.translation(r, d); x != 0 {
		xl = append(xl, sMarkSet(^uint32(MarkXlat), x))
	}
	acc := sVerdict(expr.VerdictAccept, "")
	if r.KeepState == StateNone {
		// Translation needs a state (pf_test_rule translates only the
		// packet that creates one): a match rule's is dropped too.
		add(append(append(pre, sMarkSet(^uint32(MarkXlat), 0)), acc)...)
		return
	}
	bit, bitR := uint32(CtInState), uint32(CtInStateReply)
	if d == passOut {
		bit, bitR = CtOutState, CtOutStateReply
	}
	if r.RuleFlag&FlagNoSync != 0 {
		bit |= CtNoSync
		bitR |= CtNoSync
	}
	// An ICMP error (related to the connection of the packet it quotes)
	// passes without a state: pf never creates one for an error
	// message, and its mark would be its connection's. A state kept by
	// a reply-direction packet (the connection's first packet passed
	// with no state) is recorded as such, so that the state look-up
	// matches it the way pf keys it. Each rule counts once: the first
	// only for errors, the second for reply-direction packets, the
	// third for the others. A packet connection tracking does not track
	// (an ICMP error about no known connection, a TCP segment that cannot
	// open one) stops at the third's "ct mark set" (NFT_BREAK), counted:
	// the fourth passes it, untranslated and without a state. Falling
	// off this chain instead would return into the anchor chain that
	// jumped to the rule, and the rules after it would decide.
	add(append(append([]Stmt{sCtState(expr.CtStateBitRELATED, "related")}, pre...), acc)...)
	add(append(append(append([]Stmt{sCtDirection(true)}, pre...), sCtMarkOr(bitR)), append(xl, acc)...)...)
	add(append(append(pre, sCtMarkOr(bit)), append(xl, acc)...)...)
	add(acc)
}

// rejects are the reject statements of a block rule (pf.conf(5) "block
// return", return-rst, return-icmp); each is followed by the rule's drop
// for packets it does not apply to.
func rejects(r *Rule) [][]Stmt {
	tcp := sL4proto(unix.IPPROTO_TCP, false)
	// pf_return: a TCP RST is never answered with a RST; "block return"
	// answers it with an ICMP unreachable instead, return-rst not at all
	// (the kernel's reject with tcp reset sends nothing for a RST).
	noRST := sTCPFlags(0, tcpFlagRST)
	switch {
	case r.RuleFlag&FlagReturnRST != 0:
		return [][]Stmt{{tcp, sReject(rejectTCP, 0, "tcp reset")}}
	case r.RuleFlag&FlagReturnICMP != 0:
		c4, c6 := r.ReturnICMP&0xff, r.ReturnICMP6&0xff
		if r.ReturnICMP == 0 {
			c4 = 3
		}
		if r.ReturnICMP6 == 0 {
			c6 = 4
		}
		return [][]Stmt{
			{sNfproto(AFInet), sReject(rejectICMP, uint8(c4), "icmp "+icmpCodeName(int(c4), false))},
			{sNfproto(AFInet6), sReject(rejectICMP, uint8(c6), "icmpv6 "+icmpCodeName(int(c6), true))},
		}
	case r.RuleFlag&FlagReturn != 0:
		return [][]Stmt{
			{tcp, noRST, sReject(rejectTCP, 0, "tcp reset")},
			{sReject(rejectICMPX, unix.NFT_REJECT_ICMPX_PORT_UNREACH, "icmpx port-unreachable")},
		}
	}
	return nil
}

// tcpFlagRST is TH_RST.
const tcpFlagRST = 0x04

const (
	rejectICMP  = unix.NFT_REJECT_ICMP_UNREACH
	rejectTCP   = unix.NFT_REJECT_TCP_RST
	rejectICMPX = unix.NFT_REJECT_ICMPX_UNREACH
)

// sReject is "reject with ..." (nft_reject_inet).
func sReject(typ uint32, code uint8, text string) Stmt {
	return Stmt{"reject with " + text, []expr.Any{&expr.Reject{Type: typ, Code: code}}}
}

var icmpCodeNames = map[int]string{0: "net-unreachable", 1: "host-unreachable", 2: "prot-unreachable",
	3: "port-unreachable", 4: "frag-needed", 9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited"}
var icmp6CodeNames = map[int]string{0: "no-route", 1: "admin-prohibited", 3: "addr-unreachable",
	4: "port-unreachable", 5: "policy-fail", 6: "reject-route"}

func icmpCodeName(code int, v6 bool) string {
	m := icmpCodeNames
	if v6 {
		m = icmp6CodeNames
	}
	if n, ok := m[code]; ok {
		return n
	}
	return fmt.Sprint(code)
}

// anchor compiles an anchor call: a jump to the anchor's chain for this
// pass, gated by the anchor rule's own criteria (pf.conf(5) "ANCHORS").
// For "anchor quick", the anchor bit is cleared before the jump, set by
// every matching rule inside, and tested after it.
func (c *compiler) anchor(r *Rule, sc *scope) {
	k, ok := c.anchors[r]
	if !ok {
		c.nanchor++
		k = c.nanchor
		c.anchors[r] = k
	}
	name := fmt.Sprintf("a%d_%s", k, sc.d)
	ch := &Chain{Name: name}
	c.prog.Chains = append(c.prog.Chains, ch)
	path := r.Anchor.Call
	if sc.path != "" {
		path = sc.path + "/" + path
	}
	quick := r.Quick
	if strings.HasSuffix(r.Anchor.Call, "/*") && !r.Anchor.Inline {
		// A wildcard: the children's rules in turn, in one chain; pf
		// ignores quick on it (only a quick rule inside stops).
		quick = false
		for _, child := range r.Anchor.Children {
			c.rules(child.Ruleset, &scope{ch: ch, d: sc.d, path: child.Call, quick: sc.quick})
		}
	}
	if quick && sc.quick {
		c.errorf(r, "anchor quick inside a quick anchor: not supported on Linux")
	}
	inner := &scope{ch: ch, d: sc.d, path: path, quick: sc.quick || quick}
	c.rules(r.Anchor.Ruleset, inner)
	var tail []Stmt
	if quick {
		tail = append(tail, sMarkSet(^uint32(MarkAnchor), 0))
	}
	tail = append(tail, sVerdict(expr.VerdictJump, name))
	for _, m := range c.matches(r, sc.d) {
		sc.ch.Rules = append(sc.ch.Rules, &NRule{Stmts: append(m, tail...), Comment: ruleComment(r)})
	}
	if quick {
		sc.ch.Rules = append(sc.ch.Rules, &NRule{Stmts: []Stmt{sMarkTest(MarkAnchor, MarkAnchor, false),
			sVerdict(expr.VerdictGoto, decideChain(sc.d))}, Comment: "anchor quick"})
	}
}

// finish completes the program after all rules.
func (c *compiler) finish() {
	c.natChains()
}
