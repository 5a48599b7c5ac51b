package parser

import (
	"fmt"
	"strconv"
	"strings"

	"carpfw/rules"
)

// ruleConsistent is rule_consistent: combinations pf cannot load.
func (p *parser) ruleConsistent(r *rules.Rule, file string, line int) int {
	problems := 0
	e := func(msg string) { p.errorAt(file, line, msg); problems++ }
	tcpudp := r.Proto == 6 || r.Proto == 17
	if r.Proto != 6 && r.OS != "" {
		e("os only applies to tcp")
	}
	if !tcpudp && (r.Src.PortOp != 0 || r.Dst.PortOp != 0) {
		e("port only applies to tcp/udp")
	}
	if !tcpudp && r.UID.Op != 0 {
		e("user only applies to tcp/udp")
	}
	if !tcpudp && r.GID.Op != 0 {
		e("group only applies to tcp/udp")
	}
	if r.Proto != 1 && r.Proto != 58 && (r.Type != 0 || r.Code != 0) {
		e("icmp-type/code only applies to icmp")
	}
	if r.AF == 0 && (r.Type != 0 || r.Code != 0) {
		e("must indicate address family with icmp-type/code")
	}
	if r.RuleFlag&rules.FlagAfTo != 0 && r.AF == r.NAF {
		e("must indicate different address family with af-to")
	}
	if r.OverloadTable != "" && r.MaxSrcConn == 0 && r.MaxSrcConnRate.Seconds == 0 {
		e("'overload' requires 'max-src-conn' or 'max-src-conn-rate'")
	}
	if (r.Proto == 1 && r.AF == rules.AFInet6) || (r.Proto == 58 && r.AF == rules.AFInet) {
		pr, fam := "icmp", "inet"
		if r.Proto == 58 {
			pr = "icmp6"
		}
		if r.AF == rules.AFInet6 {
			fam = "inet6"
		}
		e(fmt.Sprintf("proto %s doesn't match address family %s", pr, fam))
	}
	if r.AllowOpts && r.Action != rules.ActionPass {
		e("allow-opts can only be specified for pass rules")
	}
	if r.RuleFlag&rules.FlagFragment != 0 && (r.Src.PortOp != 0 || r.Dst.PortOp != 0 || r.FlagSet != 0 || r.Type != 0 || r.Code != 0) {
		e("fragments can be filtered only on IP header fields")
	}
	if r.RuleFlag&rules.FlagReturnRST != 0 && r.Proto != 6 {
		e("return-rst can only be applied to TCP rules")
	}
	if r.MaxSrcNodes != 0 && r.RuleFlag&rules.FlagRuleSrcTrack == 0 {
		e("max-src-nodes requires 'source-track rule'")
	}
	if r.Action != rules.ActionPass && r.KeepState != 0 {
		e("keep state is great, but only for pass rules")
	}
	if r.RT != 0 && r.KeepState == 0 {
		e("route-to, reply-to and dup-to require keep state")
	}
	if r.RuleFlag&rules.FlagStateSloppy != 0 && (r.KeepState == rules.StateModulate || r.KeepState == rules.StateSynproxy) {
		e("sloppy state matching cannot be used with synproxy state or modulate state")
	}
	if r.KeepState == rules.StateSynproxy && r.Direction != rules.DirIn {
		p.stderr(fmt.Sprintf("%s:%d: warning: synproxy used for inbound rules only, ignored for outbound\n", file, line))
	}
	if (r.Nat.Addr.Type != rules.AddrNone || r.Rdr.Addr.Type != rules.AddrNone) && r.Action != rules.ActionMatch && r.KeepState == 0 {
		e("nat-to and rdr-to require keep state")
	}
	if r.Direction == rules.DirInOut && (r.Nat.Addr.Type != rules.AddrNone || r.Rdr.Addr.Type != rules.AddrNone) {
		e("nat-to and rdr-to require a direction")
	}
	if r.AF == rules.AFInet6 && r.ScrubFlags&(rules.ScrubNoDF|rules.ScrubRandomID) != 0 {
		e("address family inet6 does not support scrub options no-df, random-id")
	}
	switch r.Action {
	case rules.ActionMatch:
		if r.Divert.Type != rules.DivertNone {
			e("divert is not supported on match rules")
		}
		if r.RT != 0 {
			e("route-to, reply-to and dup-to are not supported on match rules")
		}
		if r.RuleFlag&rules.FlagAfTo != 0 {
			e("af-to is not supported on match rules")
		}
	case rules.ActionBlock:
		if r.RT != 0 {
			e("route-to, reply-to and dup-to are not supported on block rules")
		}
	}
	return -problems
}

// expandLabel replaces $if, $srcaddr, $dstaddr, $srcport, $dstport and
// $proto in a label or tag (expand_label); $nr is done when loading.
func (p *parser) expandLabel(label, ifname string, af int, src hostNode, sport portNode, dst hostNode, dport portNode, proto int) string {
	if label == "" || !strings.Contains(label, "$") {
		return label
	}
	if strings.Contains(label, "$if") {
		n := ifname
		if n == "" {
			n = "any"
		}
		label = strings.ReplaceAll(label, "$if", n)
	}
	label = labelAddr(label, "$srcaddr", af, src)
	label = labelAddr(label, "$dstaddr", af, dst)
	label = labelPort(label, "$srcport", sport)
	label = labelPort(label, "$dstport", dport)
	if strings.Contains(label, "$proto") {
		name, ok := p.inv.ProtocolName(proto)
		if !ok {
			name = strconv.Itoa(proto)
		}
		label = strings.ReplaceAll(label, "$proto", name)
	}
	return label
}

func labelAddr(label, name string, af int, h hostNode) string {
	if !strings.Contains(label, name) {
		return label
	}
	var tmp string
	switch h.addr.Type {
	case rules.AddrDynIfTL:
		tmp = "(" + h.addr.IfName + ")"
	case rules.AddrTable:
		tmp = "<" + h.addr.Table + ">"
	case rules.AddrNoRoute:
		tmp = "no-route"
	case rules.AddrURPFFailed:
		tmp = "urpf-failed"
	case rules.AddrMask:
		if af == 0 || (h.addr.Addr.IsZeroAF(af) && h.addr.Mask.IsZeroAF(af)) {
			tmp = "any"
		} else {
			tmp = h.addr.Addr.String(af)
			bits := h.addr.Mask.Bits()
			if (af == rules.AFInet && bits < 32) || (af == rules.AFInet6 && bits < 128) {
				tmp += "/" + strconv.Itoa(bits)
			}
		}
	default:
		tmp = "?"
	}
	if h.not {
		tmp = "! " + tmp
	}
	return strings.ReplaceAll(label, name, tmp)
}

func labelPort(label, name string, pn portNode) string {
	if !strings.Contains(label, name) {
		return label
	}
	a1, a2 := strconv.Itoa(int(pn.port[0])), strconv.Itoa(int(pn.port[1]))
	op := ""
	switch pn.op {
	case rules.OpIRG:
		op = a1 + "><" + a2
	case rules.OpXRG:
		op = a1 + "<>" + a2
	case rules.OpEQ:
		op = a1
	case rules.OpNE:
		op = "!=" + a1
	case rules.OpLT:
		op = "<" + a1
	case rules.OpLE:
		op = "<=" + a1
	case rules.OpGT:
		op = ">" + a1
	case rules.OpGE:
		op = ">=" + a1
	}
	return strings.ReplaceAll(label, name, op)
}
