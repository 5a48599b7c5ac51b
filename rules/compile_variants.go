package rules

import (
	"slices"

	"golang.org/x/sys/unix"
)

// matches returns the match statements of rule r in pass d, as one or
// more alternatives: one nft rule each. Alternatives come from interface
// groups (one per member), a missing address family where tables or
// interface addresses need one (ipv4 and ipv6), and the default
// "flags S/SA" of a rule without proto, which pf applies to TCP only
// (reference §2.3: one alternative for TCP with the flag test, one for
// everything else). Alternatives never match the same packet, so a rule
// still counts once. A rule that can never match has none.
func (c *compiler) matches(r *Rule, d pass) [][]Stmt {
	ifs, ok := c.ifAlternatives(r.IfName, r.IfNot, d == passIn)
	if !ok {
		return nil
	}
	var out [][]Stmt
	for _, af := range c.families(r) {
		for _, tcpSplit := range c.protoAlternatives(r) {
			for _, ifm := range ifs {
				m, ok := c.matchOne(r, af, tcpSplit, ifm)
				if ok {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// ifAlternatives resolves "on [!] IF": the interface or the group's
// members (each an alternative; negated, all in one alternative). An
// empty group matches nothing (or everything when negated).
func (c *compiler) ifAlternatives(name string, not, in bool) ([][]Stmt, bool) {
	if name == "" || name == "any" {
		return [][]Stmt{nil}, true
	}
	ms := c.members(name)
	if not {
		var one []Stmt
		for _, m := range ms {
			one = append(one, sIfname(in, m, true))
		}
		return [][]Stmt{one}, true
	}
	if len(ms) == 0 {
		return nil, false
	}
	var out [][]Stmt
	for _, m := range ms {
		out = append(out, []Stmt{sIfname(in, m, false)})
	}
	return out, true
}

// families lists the address families a rule is compiled for: its own,
// or both when it has none but refers to tables or interface addresses.
func (c *compiler) families(r *Rule) []int {
	if r.AF != AFUnspec {
		return []int{r.AF}
	}
	needs := func(a *AddrWrap) bool {
		return a.Type == AddrTable || a.Type == AddrDynIfTL
	}
	if needs(&r.Src.Addr) || needs(&r.Dst.Addr) {
		return []int{AFInet, AFInet6}
	}
	return []int{AFUnspec}
}

// Protocol alternatives: TCP apart for a rule with a flags test, and
// ICMP and ICMPv6 apart for a stateful rule (query replies excluded).
const (
	protoAsIs = iota
	protoTCP
	protoNotTCP
	protoOther // neither ICMP nor ICMPv6 (nor TCP, with a flags test)
	protoICMP4
	protoICMP6
)

func (c *compiler) protoAlternatives(r *Rule) []int {
	switch {
	case r.Proto == 0 && ignoresQueryReplies(r) && r.FlagSet != 0:
		return []int{protoTCP, protoOther, protoICMP4, protoICMP6}
	case r.Proto == 0 && ignoresQueryReplies(r):
		return []int{protoOther, protoICMP4, protoICMP6}
	case r.FlagSet != 0 && r.Proto == 0:
		return []int{protoTCP, protoNotTCP}
	}
	return []int{protoAsIs}
}

// ignoresQueryReplies tells whether r, as pf_match_rule does for a rule
// that keeps state ("r->keep_state && icmp_dir != PF_IN", not sloppy),
// never matches an ICMP query reply (echo reply, timestamp reply …):
// those pass only by the state of their query. The kernel would let
// such a rule create a connection from an unsolicited reply.
func ignoresQueryReplies(r *Rule) bool {
	return r.KeepState != StateNone && r.RuleFlag&FlagStateSloppy == 0
}

// queryReplies are the ICMP types pf maps to the reply direction
// (pf_icmp_mapping: icmp_dir PF_OUT, not an error).
func queryReplies(proto int) []int {
	if proto == unix.IPPROTO_ICMPV6 {
		return []int{129, 140, 200} // echo reply, node information reply, mtrace response
	}
	return []int{0, 9, 14, 16, 18, 34, 36} // echo, router advertisement, timestamp, information, mask, I-am-here, mobile registration replies
}

// sNotQueryReply is "icmp type != R" for every query reply type R.
func sNotQueryReply(proto int) []Stmt {
	var out []Stmt
	for _, t := range queryReplies(proto) {
		out = append(out, sICMPNot(proto, t))
	}
	return out
}

// matchOne builds one alternative; ok is false when it cannot match.
func (c *compiler) matchOne(r *Rule, af, split int, ifm []Stmt) ([]Stmt, bool) {
	var m []Stmt
	if af != AFUnspec {
		m = append(m, sNfproto(af))
	}
	m = append(m, ifm...)
	if r.RcvIfName != "" {
		ifs, ok := c.ifAlternatives(r.RcvIfName, r.RcvIfNot, true)
		if !ok || len(ifs) != 1 {
			c.errorf(r, "received-on a group: not supported on Linux")
			return nil, false
		}
		m = append(m, ifs[0]...)
	}
	switch {
	case r.Proto != 0:
		m = append(m, sL4proto(r.Proto, false))
	case split == protoTCP:
		m = append(m, sL4proto(unix.IPPROTO_TCP, false))
	case split == protoNotTCP:
		m = append(m, sL4proto(unix.IPPROTO_TCP, true))
	case split == protoOther:
		if r.FlagSet != 0 {
			m = append(m, sL4proto(unix.IPPROTO_TCP, true))
		}
		if af != AFInet6 && r.AF != AFInet6 {
			m = append(m, sL4proto(unix.IPPROTO_ICMP, true))
		}
		if af != AFInet && r.AF != AFInet {
			m = append(m, sL4proto(unix.IPPROTO_ICMPV6, true))
		}
	case split == protoICMP4 || split == protoICMP6:
		p := unix.IPPROTO_ICMP
		if split == protoICMP6 {
			p = unix.IPPROTO_ICMPV6
		}
		if (p == unix.IPPROTO_ICMP && (af == AFInet6 || r.AF == AFInet6)) || (p == unix.IPPROTO_ICMPV6 && (af == AFInet || r.AF == AFInet)) {
			return nil, false
		}
		m = append(m, sL4proto(p, false))
		m = append(m, sNotQueryReply(p)...)
	}
	if (r.Proto == unix.IPPROTO_ICMP || r.Proto == unix.IPPROTO_ICMPV6) && ignoresQueryReplies(r) {
		if r.Type != 0 && slices.Contains(queryReplies(r.Proto), r.Type-1) {
			return nil, false // a stateful rule for a reply type matches nothing
		}
		if r.Type == 0 {
			m = append(m, sNotQueryReply(r.Proto)...)
		}
	}
	for _, side := range []bool{true, false} {
		ra := &r.Dst
		if side {
			ra = &r.Src
		}
		s, ok := c.addr(r, ra, af, side)
		if !ok {
			return nil, false
		}
		m = append(m, s...)
		if ra.PortOp != OpNone {
			m = append(m, sPorts(r.Proto, side, ra.PortOp, ra.Port[0], ra.Port[1])...)
		}
	}
	if r.Type != 0 {
		m = append(m, sICMP(r.Proto, false, r.Type-1))
	}
	if r.Code != 0 {
		m = append(m, sICMP(r.Proto, true, r.Code-1))
	}
	if r.FlagSet != 0 && (r.Proto == unix.IPPROTO_TCP || split == protoTCP) {
		m = append(m, sTCPFlags(r.Flags, r.FlagSet))
	}
	if r.MatchTag != "" {
		m = append(m, sMarkTest(MarkTag, c.tagID(r, r.MatchTag), r.MatchTagNot))
	}
	return m, true
}

// addr builds the match of one side's address (pf.conf(5) "from",
// "to"): prefixes, ranges, tables, interface addresses, no-route and
// urpf-failed.
func (c *compiler) addr(r *Rule, ra *RuleAddr, af int, src bool) ([]Stmt, bool) {
	a := &ra.Addr
	switch a.Type {
	case AddrMask:
		if a.Addr.IsZero() && a.Mask.IsZero() {
			return nil, !ra.Neg
		}
		if af == AFUnspec {
			c.errorf(r, "address without address family")
			return nil, false
		}
		return []Stmt{sAddrMask(af, src, a.Addr, a.Mask, ra.Neg)}, true
	case AddrRange:
		return []Stmt{sAddrRange(af, src, a.Addr, a.Mask, ra.Neg)}, true
	case AddrTable:
		c.ensureTable(a.Table)
		return []Stmt{sAddrSet(af, src, TableSetName(a.Table, af), ra.Neg)}, true
	case AddrDynIfTL:
		c.dynSets(a)
		return []Stmt{sAddrSet(af, src, DynSetName(a.IfName, a.IFlags, af), ra.Neg)}, true
	case AddrNoRoute:
		return []Stmt{sFibMissing(src, false, ra.Neg)}, true
	case AddrURPFFailed:
		return []Stmt{sFibMissing(true, true, ra.Neg)}, true
	case AddrNone:
		return nil, true
	}
	return nil, false // route labels: reported by check
}
