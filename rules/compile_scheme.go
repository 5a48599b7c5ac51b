package rules

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// The evaluation scheme (reference §2.2 "Scheme 2", a verdict register):
// each pf pass (in, out) is one regular chain holding the rules in file
// order. A matching pass or block rule writes its id into the low bits of
// the packet mark; a quick one then goes to the decision chain at once.
// At the end of the pass the decision chain maps the recorded id through
// a verdict map to that rule's finaliser chain, which counts, logs,
// creates the state (ct mark) or rejects, and accepts or drops. An id of
// 0 (no pass/block rule matched) is pf's default: pass without state.
//
// Packet mark layout (see docs/pfconf-nftables.md):
//
//	 31  30..24   23..16     15..0
//	+---+-------+----------+---------+
//	| A |  tag  | xlat id  | rule id |
//	+---+-------+----------+---------+
//
// A: a rule of a quick anchor matched. The connection mark holds the
// state bits: which pass created a pf state for the connection, and
// no-sync.
const (
	MarkRule   = 0x0000ffff
	MarkXlat   = 0x00ff0000
	MarkTag    = 0x7f000000
	MarkAnchor = 0x80000000

	xlatShift = 16
	tagShift  = 24
	maxRuleID = MarkRule - 1 // 0xffff is MarkReply's
	maxXlat   = MarkXlat >> xlatShift
	maxTag    = MarkTag >> tagShift

	// CtInState and CtOutState mark a connection for which a pass rule
	// kept state in the inbound or outbound pass (reference §2.4).
	CtInState  = 0x00000001
	CtOutState = 0x00000002
	// CtInStateReply and CtOutStateReply: the state was kept by a packet
	// of the connection's reply direction (its first packet passed with
	// no state, and the kernel tracks it since): the state matches the
	// reply direction in its own pass and the original direction in the
	// other, as pf keys a state on the packet that created it.
	CtInStateReply  = 0x00000010
	CtOutStateReply = 0x00000020
	// CtStates are all the state bits.
	CtStates = CtInState | CtOutState | CtInStateReply | CtOutStateReply
	// CtNoSync marks a state created by a rule with no-sync; the pfsync
	// worker does not send such states (pf.conf(5) "no-sync").
	CtNoSync = 0x80000000
	// MarkReply is the packet mark a block return rule sets before its
	// reject: the RST or ICMP error the kernel generates carries it
	// (fwmark_reflect), and the outbound pass accepts it at once. It
	// reads as anchor bit 0, tag 127, translation 255, rule 0xffff,
	// which no evaluation produces (rule ids stop below 0xffff).
	MarkReply = 0x7fffffff
)

// pass is one of pf's two evaluation passes.
type pass int

const (
	passIn pass = iota
	passOut
)

func (d pass) String() string {
	if d == passIn {
		return "in"
	}
	return "out"
}

// Chain names of the fixed skeleton.
const (
	chainFilterIn  = "filter_in"  // hook prerouting: the inbound pass
	chainFilterFwd = "filter_fwd" // hook forward: outbound pass, forwarded
	chainFilterOut = "filter_out" // hook output: outbound pass, local
	chainNatPre    = "nat_pre"    // hook prerouting, type nat: rdr-to
	chainNatPost   = "nat_post"   // hook postrouting, type nat: nat-to
	chainXlatPre   = "xlat_pre"
	chainXlatPost  = "xlat_post"
)

func passChain(d pass) string   { return "pf_" + d.String() }
func decideChain(d pass) string { return "decide_" + d.String() }
func decideMap(d pass) string   { return "v_" + d.String() }

// FinChain is the finaliser chain of rule id in pass d.
func FinChain(id int, d string) string { return fmt.Sprintf("r%d_%s", id, d) }

// CounterName is the named counter of rule id in pass d.
func CounterName(id int, d string) string { return fmt.Sprintf("r%d_%s", id, d) }

func hook(t nftables.ChainType, h *nftables.ChainHook, name string, prio int32) *Hook {
	return &Hook{Type: t, Hooknum: h, Name: name, Priority: prio}
}

// skeleton creates the base chains, the pass chains and the decision
// chains, in the order a batch creates them.
func (c *compiler) skeleton() {
	p := c.prog
	p.Chains = append(p.Chains,
		&Chain{Name: chainFilterIn, Hook: hook(nftables.ChainTypeFilter, nftables.ChainHookPrerouting, "prerouting", -150)},
		&Chain{Name: chainFilterFwd, Hook: hook(nftables.ChainTypeFilter, nftables.ChainHookForward, "forward", 0)},
		&Chain{Name: chainFilterOut, Hook: hook(nftables.ChainTypeFilter, nftables.ChainHookOutput, "output", -150)},
		&Chain{Name: chainNatPre, Hook: hook(nftables.ChainTypeNAT, nftables.ChainHookPrerouting, "prerouting", -100)},
		&Chain{Name: chainNatPost, Hook: hook(nftables.ChainTypeNAT, nftables.ChainHookPostrouting, "postrouting", 100)},
		&Chain{Name: chainXlatPre},
		&Chain{Name: chainXlatPost},
	)
	for _, d := range []pass{passIn, passOut} {
		p.Chains = append(p.Chains, &Chain{Name: decideChain(d)}, &Chain{Name: passChain(d)})
		p.Sets = append(p.Sets, &Set{Name: decideMap(d), Key: KeyMark, Map: true})
	}
	for _, ch := range BaseRules() {
		c.prog.chain(ch.Name).Rules = ch.Rules
	}
	for _, d := range []pass{passIn, passOut} {
		pc := p.chain(passChain(d))
		c.skipRules(pc, d)
		pc.Rules = append(pc.Rules, stateRules(d)...)
		dc := p.chain(decideChain(d))
		dc.Rules = append(dc.Rules,
			&NRule{Stmts: []Stmt{sVmap(MarkRule, decideMap(d))}},
			// pf's default rule passes without a state, so a
			// translation a match rule chose is not applied.
			&NRule{Stmts: []Stmt{sMarkSet(^uint32(MarkXlat), 0), sVerdict(expr.VerdictAccept, "")}, Comment: "default: pass, no state"})
	}
}

// BaseRules are the rules of the base chains: clearing pfconf's mark
// bits at the start of each pass and jumping to the pass chain. They are
// what "pfconf -d" removes and "pfconf -e" puts back (the ruleset stays
// loaded in between).
func BaseRules() []*Chain {
	return []*Chain{
		{Name: chainFilterIn, Rules: []*NRule{{Stmts: []Stmt{sMarkSet(0, 0), sVerdict(expr.VerdictJump, passChain(passIn))}}}},
		// The outbound pass of a forwarded packet keeps the tag given in
		// the inbound pass (pf's tags travel with the packet).
		{Name: chainFilterFwd, Rules: []*NRule{{Stmts: []Stmt{sMarkSet(MarkTag, 0), sVerdict(expr.VerdictJump, passChain(passOut))}}}},
		{Name: chainFilterOut, Rules: []*NRule{
			{Stmts: []Stmt{sMarkTest(0xffffffff, MarkReply, false), sVerdict(expr.VerdictAccept, "")}, Comment: "generated by block return"},
			{Stmts: []Stmt{sMarkSet(0, 0), sVerdict(expr.VerdictJump, passChain(passOut))}}}},
		{Name: chainNatPre, Rules: []*NRule{{Stmts: []Stmt{sVerdict(expr.VerdictJump, chainXlatPre)}}}},
		{Name: chainNatPost, Rules: []*NRule{{Stmts: []Stmt{sVerdict(expr.VerdictJump, chainXlatPost)}}}},
	}
}

// BaseChainNames lists the base chains.
func BaseChainNames() []string {
	return []string{chainFilterIn, chainFilterFwd, chainFilterOut, chainNatPre, chainNatPost}
}

// stateRules are the state look-up at the top of a pass (reference §2.4):
// a packet of a connection for which a pass rule kept state in the same
// pass (original direction) or in the other pass (reply direction) is
// passed without evaluating the ruleset, as pf's state look-up does.
// A state kept by a reply-direction packet matches with the directions
// swapped. An ICMP error about the connection is matched by the same
// rules, as pf matches it against the state of the packet it quotes:
// conntrack gives it the connection's mark and the direction it travels
// in (IP_CT_RELATED or IP_CT_RELATED_REPLY). The RSTs and ICMP errors
// block return generates leave by MarkReply, not by a state.
func stateRules(d pass) []*NRule {
	same, other := uint32(CtInState), uint32(CtOutState)
	sameR, otherR := uint32(CtInStateReply), uint32(CtOutStateReply)
	if d == passOut {
		same, other = other, same
		sameR, otherR = otherR, sameR
	}
	acc := sVerdict(expr.VerdictAccept, "")
	return []*NRule{
		{Stmts: []Stmt{sCtDirection(false), sCtMarkTest(same, same, false), acc}, Comment: "state"},
		{Stmts: []Stmt{sCtDirection(true), sCtMarkTest(other, other, false), acc}, Comment: "state"},
		{Stmts: []Stmt{sCtDirection(true), sCtMarkTest(sameR, sameR, false), acc}, Comment: "state"},
		{Stmts: []Stmt{sCtDirection(false), sCtMarkTest(otherR, otherR, false), acc}, Comment: "state"},
	}
}

// skipRules are "set skip on": the packet is passed untouched.
func (c *compiler) skipRules(ch *Chain, d pass) {
	for _, name := range c.opts.Skip {
		for _, m := range c.members(name) {
			ch.Rules = append(ch.Rules, &NRule{Stmts: []Stmt{sIfname(d == passIn, m, false), sVerdict(expr.VerdictAccept, "")}, Comment: "skip"})
		}
	}
}

// members resolves an interface group to its members; a name that is not
// a known group is an interface.
func (c *compiler) members(name string) []string {
	if c.opts.Groups != nil {
		if ms, ok := c.opts.Groups(name); ok {
			return ms
		}
	}
	return []string{name}
}
