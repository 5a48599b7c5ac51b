package eval

import (
	"net/netip"

	"carpfw/rules"
)

// evalCtx is struct pf_test_ctx: the packet's translated view, the tag,
// the last matching pass or block rule and the anchor it sits in.
type evalCtx struct {
	e                  *Engine
	p                  *Packet
	af                 int
	nsrc, ndst         netip.Addr
	nsport, ndport     uint16
	osport, odport     uint16 // the packet's own (virtual) ports
	icmpDir            int
	stateICMP          bool
	tag                string
	rm, am, a          *rules.Rule
	rmPath             string
	log                uint8 // log flags of the match rules met (act.log)
	tr                 translation
	depth              int
	matchTranslateRule *rules.Rule
}

type status int

const (
	testOK status = iota
	testQuick
	testFail
)

// testRule is pf_test_rule.
func (e *Engine) testRule(p *Packet, af int) Verdict {
	c := &evalCtx{e: e, p: p, af: af, nsrc: p.Src, ndst: p.Dst, tag: p.Tag, icmpDir: rules.DirIn}
	c.nsport, c.ndport = virtualPorts(p, af)
	c.osport, c.odport = c.nsport, c.ndport
	if p.Proto == ProtoICMP || p.Proto == ProtoICMPv6 {
		c.icmpDir, _, _, c.stateICMP = icmpMapping(af, p.ICMPType, p.ICMPID)
	}
	drop := Verdict{Action: rules.ActionBlock, RuleNr: -1, Tag: p.Tag}
	if c.matchRuleset(e.root, "") == testFail {
		if c.matchTranslateRule != nil {
			drop.RuleNr, drop.Rule = c.matchTranslateRule.Nr, c.matchTranslateRule
		}
		return drop
	}
	r := c.rm
	v := Verdict{Action: rules.ActionPass, RuleNr: -1, Log: c.log != 0}
	if r == nil {
		// pf's default rule: pass, no state, so no translation either.
		v.Tag = c.tag
		return v
	}
	v.RuleNr, v.Anchor, v.Rule, v.Quick = r.Nr, c.rmPath, r, r.Quick
	v.Log = v.Log || r.Log != 0
	c.transaddr(r)
	if c.tr.failed {
		drop.RuleNr, drop.Anchor, drop.Rule, drop.Log = r.Nr, c.rmPath, r, v.Log
		return drop
	}
	if r.Action != rules.ActionPass {
		v.Action = rules.ActionBlock
		v.Return, v.ReturnICMP = c.blockReturn(r)
		v.Tag = p.Tag
		return v
	}
	v.Tag = c.tag
	if c.stateICMP || r.KeepState == rules.StateNone {
		return v
	}
	if e.linux {
		switch {
		case !e.tracks(p) && !opensConnection(p):
			return v // Linux (2): no state, so no translation
		case e.tracks(p):
			c.untranslate() // Linux (1)
		}
	}
	if r.MaxStates != 0 && uint32(e.st.count(r)) >= r.MaxStates {
		v.Action = rules.ActionBlock
		return v
	}
	v.State = c.createState(r)
	v.Translation = c.report()
	return v
}

// untranslate drops what the rules translated: the packet keeps its own
// addresses and ports.
func (c *evalCtx) untranslate() {
	c.nsrc, c.ndst, c.nsport, c.ndport = c.p.Src, c.p.Dst, c.osport, c.odport
	c.tr = translation{}
}

// blockReturn is the return handling of pf_test_rule: a RST for TCP
// (unless the packet is itself a RST) under return or return-rst,
// otherwise the rule's ICMP or ICMPv6 error, never in answer to an ICMP
// error message.
func (c *evalCtx) blockReturn(r *rules.Rule) (ReturnKind, uint16) {
	p := c.p
	if r.RuleFlag&(rules.FlagReturnRST|rules.FlagReturnICMP|rules.FlagReturn) == 0 {
		return ReturnNone, 0
	}
	if p.Proto == ProtoTCP && r.RuleFlag&(rules.FlagReturnRST|rules.FlagReturn) != 0 && p.TCPFlags&TCPRst == 0 {
		return ReturnRST, 0
	}
	if c.af == rules.AFInet && r.ReturnICMP != 0 && (p.Proto != ProtoICMP || icmpInfoType(p.ICMPType)) {
		return ReturnICMP, r.ReturnICMP
	}
	if c.af == rules.AFInet6 && r.ReturnICMP6 != 0 &&
		(p.Proto != ProtoICMPv6 || (p.ICMPType >= 128 && p.ICMPType != 137)) {
		return ReturnICMP, r.ReturnICMP6
	}
	return ReturnNone, 0
}

// createState is pf_create_state with pf_state_key_setup: the key of the
// packet as seen and as translated; inbound the wire key is the former,
// outbound the latter.
func (c *evalCtx) createState(r *rules.Rule) *StateKey {
	p := c.p
	sp, dp := virtualPorts(p, c.af)
	k1 := makeKey(p, c.af, p.Src, p.Dst, sp, dp)
	k2 := makeKey(p, c.af, c.nsrc, c.ndst, c.nsport, c.ndport)
	s := &state{wire: k1, stack: k2, dir: p.Dir, rule: r, anchor: c.rmPath, log: (c.log|r.Log)&rules.LogAll != 0}
	if p.Dir == rules.DirOut {
		s.wire, s.stack = k2, k1
	}
	if r.RuleFlag&rules.FlagIfBound != 0 {
		s.ifname = p.If
	}
	if c.tag != "" {
		s.tag = c.tag
	}
	s.info = StateKey{AF: c.af, Proto: p.Proto, Dir: p.Dir, If: s.ifname,
		Src: netip.AddrPortFrom(p.Src, sp), Dst: netip.AddrPortFrom(p.Dst, dp),
		NatSrc: netip.AddrPortFrom(c.nsrc, c.nsport), NatDst: netip.AddrPortFrom(c.ndst, c.ndport),
		RuleNr: r.Nr, Anchor: c.rmPath}
	c.e.st.insert(s)
	info := s.info
	return &info
}

// matchRuleset is pf_match_rule over one ruleset.
func (c *evalCtx) matchRuleset(rs *rules.Ruleset, path string) status {
	if rs == nil {
		return testOK
	}
	for _, r := range rs.Rules {
		if c.e.expired[r] || !c.ruleMatches(r) {
			continue
		}
		if r.Tag != "" {
			c.tag = r.Tag
		}
		if r.Anchor != nil {
			saveA := c.a
			c.a = r
			if st := c.stepIntoAnchor(r, path); st != testOK {
				return st
			}
			c.a = saveA
			continue
		}
		if r.RuleFlag&rules.FlagOnce != 0 {
			c.e.expired[r] = true
		}
		if r.Action == rules.ActionMatch {
			c.log |= r.Log
			c.transaddr(r)
			if c.tr.failed {
				c.matchTranslateRule = r
				return testFail
			}
		} else {
			c.rm, c.am, c.rmPath = r, c.a, path
		}
		if r.Quick {
			return testQuick
		}
	}
	return testOK
}
