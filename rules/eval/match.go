package eval

import (
	"net/netip"

	"carpfw/rules"
)

// portMatch is pf_match_port: the port operators compare in host order;
// >< and <> exclude both ends, : includes them.
func portMatch(op int, a1, a2, p uint16) bool {
	switch op {
	case rules.OpIRG:
		return p > a1 && p < a2
	case rules.OpXRG:
		return p < a1 || p > a2
	case rules.OpRRG:
		return p >= a1 && p <= a2
	case rules.OpEQ:
		return p == a1
	case rules.OpNE:
		return p != a1
	case rules.OpLT:
		return p < a1
	case rules.OpLE:
		return p <= a1
	case rules.OpGT:
		return p > a1
	case rules.OpGE:
		return p >= a1
	}
	return false
}

// addrMatch reports whether an address matches one side of a rule before
// negation, as PF_MISMATCHAW tests it: a prefix (any is the empty
// prefix), a range, a dynamic interface address, a table. Addresses that
// need the routing table (no-route, urpf-failed, route labels) never
// match here.
func (e *Engine) addrMatch(aw *rules.AddrWrap, a netip.Addr, af int) bool {
	switch aw.Type {
	case rules.AddrMask:
		if aw.Addr.IsZero() && aw.Mask.IsZero() {
			return true // any
		}
		return prefixOf(aw.Addr, aw.Mask, af).Contains(a)
	case rules.AddrRange:
		lo, hi := addrOf(aw.Addr, af), addrOf(aw.Mask, af)
		return a.Compare(lo) >= 0 && a.Compare(hi) <= 0
	case rules.AddrDynIfTL:
		for _, p := range ifAddrs(e.host, aw.IfName, aw.IFlags, aw.Mask.Bits()) {
			if afOf(p.Addr()) == af && p.Contains(a) {
				return true
			}
		}
		return false
	case rules.AddrTable:
		return e.tables[aw.Table].match(a)
	}
	return false
}

// sideMatch is one side (from or to) of a rule: address with negation.
func (e *Engine) sideMatch(ra *rules.RuleAddr, a netip.Addr, af int) bool {
	return e.addrMatch(&ra.Addr, a, af) != ra.Neg
}

// icmpInfoType is ICMP_INFOTYPE: the ICMPv4 query and reply types, which
// pf answers with an ICMP error when blocked with return; errors are
// never answered.
func icmpInfoType(t uint8) bool {
	switch t {
	case 0, 8, 9, 10, 13, 14, 15, 16, 17, 18:
		return true
	}
	return false
}

// icmpMapping is pf_icmp_mapping: the direction an ICMP type travels in
// relative to the exchange (in for queries, out for their replies), the
// virtual type and id that stand for ports in the state key, and whether
// the message is an error that refers to another connection's state.
func icmpMapping(af int, t uint8, id uint16) (dir int, vid, vtype uint16, isErr bool) {
	dir = rules.DirOut
	if af == rules.AFInet {
		switch t {
		case 8, 0: // echo, echo reply
			return pick(t == 8), id, 8, false
		case 13, 14: // timestamp
			return pick(t == 13), id, 13, false
		case 15, 16: // information
			return pick(t == 15), id, 15, false
		case 17, 18: // mask
			return pick(t == 17), id, 17, false
		case 33, 34: // where are you, I am here
			return pick(t == 33), 0, 33, false
		case 35, 36: // mobile registration
			return pick(t == 35), 0, 35, false
		case 10, 9: // router solicitation, advertisement
			return pick(t == 10), 0, 10, false
		case 3, 4, 5, 11, 12:
			return rules.DirIn, 0, uint16(t), true
		}
		return rules.DirIn, 0, uint16(t), false
	}
	switch t {
	case 128, 129: // echo
		return pick(t == 128), id, 128, false
	case 139, 140: // who are you
		return pick(t == 139), 0, 139, false
	case 201, 200: // mtrace
		return pick(t == 201), 0, 201, false
	case 1, 2, 3, 4:
		return rules.DirIn, 0, uint16(t), true
	}
	// Neighbour discovery and listener messages hash their target into
	// the id in pf; the evaluator has no target field and uses the id.
	return rules.DirIn, id, uint16(t), t == 136
}

func pick(query bool) int {
	if query {
		return rules.DirIn
	}
	return rules.DirOut
}
