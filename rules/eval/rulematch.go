package eval

import (
	"carpfw/rules"
)

// defaultPrio is IFQ_DEFPRIO, the priority of a packet nobody set.
const defaultPrio = 3

// ruleMatches is the test sequence of pf_match_rule for one rule:
// interface, direction, rdomain, family, protocol, addresses (against
// the translated view; the packet's own under Linux), then per protocol flags, ports, user and group,
// ICMP type and code, then fragment, tos, probability, tag, received-on
// and prio.
func (c *evalCtx) ruleMatches(r *rules.Rule) bool {
	p, e := c.p, c.e
	if ifMatch(e.host, r.IfName, p.If) == r.IfNot {
		return false
	}
	if r.Direction != rules.DirInOut && r.Direction != p.Dir {
		return false
	}
	if r.OnRdomain >= 0 && (r.OnRdomain == 0) == r.IfNot {
		return false
	}
	if r.AF != 0 && r.AF != c.af {
		return false
	}
	if r.Proto != 0 && r.Proto != p.Proto {
		return false
	}
	src, dst, sport, dport := c.nsrc, c.ndst, c.nsport, c.ndport
	if e.linux {
		// Linux (3): the filter sees the packet as it arrived.
		src, dst, sport, dport = p.Src, p.Dst, c.osport, c.odport
	}
	if !e.sideMatch(&r.Src, src, c.af) || !e.sideMatch(&r.Dst, dst, c.af) {
		return false
	}
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		if p.Proto == ProtoTCP {
			if r.FlagSet&p.TCPFlags != r.Flags {
				return false
			}
			if r.OS != "" && r.OS != "any" {
				return false // no fingerprints here
			}
		}
		if r.Src.PortOp != rules.OpNone && !portMatch(r.Src.PortOp, r.Src.Port[0], r.Src.Port[1], sport) {
			return false
		}
		if r.Dst.PortOp != rules.OpNone && !portMatch(r.Dst.PortOp, r.Dst.Port[0], r.Dst.Port[1], dport) {
			return false
		}
		// No socket: pf_match_uid with uid -1 only lets != match.
		if r.UID.Op != rules.OpNone && r.UID.Op != rules.OpNE {
			return false
		}
		if r.GID.Op != rules.OpNone && r.GID.Op != rules.OpNE {
			return false
		}
	case ProtoICMP, ProtoICMPv6:
		if r.Type != 0 && r.Type != int(p.ICMPType)+1 {
			return false
		}
		if r.Code != 0 && r.Code != int(p.ICMPCode)+1 {
			return false
		}
		// A stateful rule does not match a reply (echo reply …):
		// replies only pass by the state of their query.
		if r.KeepState != rules.StateNone && !c.stateICMP &&
			r.RuleFlag&rules.FlagStateSloppy == 0 && c.icmpDir != rules.DirIn {
			return false
		}
	}
	if r.RuleFlag&rules.FlagFragment != 0 {
		return false // no fragments here
	}
	if r.TOS != 0 && r.TOS != p.TOS {
		return false
	}
	if r.Prob != 0 && r.Prob <= uint32(e.rnd.Int63n(1<<32-2))+1 {
		return false
	}
	if r.MatchTag != "" && (c.tag == r.MatchTag) == r.MatchTagNot {
		return false
	}
	if r.RcvIfName != "" && (p.RcvIf != "" && ifMatch(e.host, r.RcvIfName, p.RcvIf)) == r.RcvIfNot {
		return false
	}
	if r.Prio != 0 {
		want := int(r.Prio)
		if r.Prio == rules.PrioZero {
			want = 0
		}
		if want != defaultPrio {
			return false
		}
	}
	return true
}
