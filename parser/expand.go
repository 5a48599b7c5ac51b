package parser

import (
	"fmt"
	"strconv"
	"strings"

	"carpfw/rules"
)

// expandRule is expand_rule: the cross product of interfaces, protocols,
// icmp types, addresses, ports, users and groups, with the translation
// pools collapsed per combination, labels expanded and each combination
// checked. binat-to adds the matching inbound rdr-to rule.
func (p *parser) expandRule(r *rules.Rule, keep bool, rp *ruleParts, nat, rdr, rroute *redirSpec, fo *filterOpts, file string, line int) {
	if !keep && p.expandBase < 0 {
		p.expandBase = p.errors
	}
	af := r.AF
	added, errs := 0, 0
	label, tag, mtag := r.Label, r.Tag, r.MatchTag
	flags, flagset, keepState := r.Flags, r.FlagSet, r.KeepState
	dir := r.Direction

	n := 1
	for _, l := range []int{len(rp.ifs), len(rp.protos), len(rp.srcHosts), len(rp.dstHosts), len(rp.srcPorts), len(rp.dstPorts), len(rp.os)} {
		n *= max(l, 1)
		if n > maxExpansion {
			p.errorAt(file, line, "rule expands to too many combinations")
			return
		}
	}
	if fo != nil {
		for _, l := range []int{len(fo.icmp), len(fo.uids), len(fo.gids)} {
			n *= max(l, 1)
			if n > maxExpansion {
				p.errorAt(file, line, "rule expands to too many combinations")
				return
			}
		}
	}
	if n+len(p.cur.Rules) > 4*maxExpansion {
		p.errorAt(file, line, "rule expands to too many combinations")
		return
	}
	ifs := orOne(rp.ifs)
	protos := orOne(rp.protos)
	var icmps []icmpNode
	var uids, gids []idNode
	var rcv *ifNode
	if fo != nil {
		icmps, uids, gids, rcv = fo.icmp, fo.uids, fo.gids, fo.rcv
	}
	icmps = orOne(icmps)
	srcs, dsts := orOne(rp.srcHosts), orOne(rp.dstHosts)
	sports, dports := orOne(rp.srcPorts), orOne(rp.dstPorts)
	oses := orOne(rp.os)
	uids, gids = orOne(uids), orOne(gids)

	for ii, ifc := range ifs {
		for pi, proto := range protos {
			for ci, icmp := range icmps {
				for _, srcH := range srcs {
					for di, dstH := range dsts {
						for spi, sport := range sports {
							for dpi, dport := range dports {
								for oi, osName := range oses {
									for ui, uid := range uids {
										for gi, gid := range gids {
											r.AF = af
											errs += p.collapseRedirspec(&r.Rdr, r, rdr, false, file, line)
											errs += p.collapseRedirspec(&r.Nat, r, nat, false, file, line)
											errs += p.collapseRedirspec(&r.Route, r, rroute, true, file, line)
											ifIdx := 0
											if ifc.name != "" {
												ifIdx = p.ifIndex(ifc.name)
											}
											if (r.AF != 0 && srcH.af != 0 && r.AF != srcH.af) ||
												(r.AF != 0 && dstH.af != 0 && r.AF != dstH.af) ||
												(srcH.af != 0 && dstH.af != 0 && srcH.af != dstH.af) ||
												(srcH.ifindex != 0 && dstH.ifindex != 0 && srcH.ifindex != dstH.ifindex) ||
												(srcH.ifindex != 0 && ifc.name != "" && srcH.ifindex != ifIdx) ||
												(dstH.ifindex != 0 && ifc.name != "" && dstH.ifindex != ifIdx) {
												continue
											}
											if r.AF == 0 && srcH.af != 0 {
												r.AF = srcH.af
											} else if r.AF == 0 && dstH.af != 0 {
												r.AF = dstH.af
											}
											switch {
											case ifc.name != "":
												r.IfName = ifc.name
											case p.ifName(srcH.ifindex) != "":
												r.IfName = p.ifName(srcH.ifindex)
											case p.ifName(dstH.ifindex) != "":
												r.IfName = p.ifName(dstH.ifindex)
											default:
												r.IfName = ""
											}
											r.OnRdomain = -1
											if ifc.useRdomain {
												r.OnRdomain = ifc.rdomain
											}
											r.Label = p.expandLabel(label, r.IfName, r.AF, srcH, sport, dstH, dport, proto)
											r.Tag = p.expandLabel(tag, r.IfName, r.AF, srcH, sport, dstH, dport, proto)
											r.MatchTag = p.expandLabel(mtag, r.IfName, r.AF, srcH, sport, dstH, dport, proto)

											src, dst := srcH, dstH
											if src.addr.Type == rules.AddrDynIfTL {
												src = genDynNode(src, r.AF)
											}
											if dst.addr.Type == rules.AddrDynIfTL {
												dst = genDynNode(dst, r.AF)
											}
											errs += p.checkNetmask(src, r.AF)
											errs += p.checkNetmask(dst, r.AF)

											r.IfNot = ifc.not
											r.Proto = proto
											r.Src = rules.RuleAddr{Addr: src.addr, Neg: src.not, Port: sport.port, PortOp: sport.op}
											r.Dst = rules.RuleAddr{Addr: dst.addr, Neg: dst.not, Port: dport.port, PortOp: dport.op}
											r.UID = rules.IDMatch{Op: uid.op, A: uid.id[0], B: uid.id[1]}
											r.GID = rules.IDMatch{Op: gid.op, A: gid.id[0], B: gid.id[1]}
											if rcv != nil {
												r.RcvIfName, r.RcvIfNot = rcv.name, rcv.not
											}
											r.Type, r.Code = icmp.typ, icmp.code
											if (keepState == rules.StateModulate || keepState == rules.StateSynproxy) && r.Proto != 0 && r.Proto != 6 {
												r.KeepState = rules.StateNormal
											} else {
												r.KeepState = keepState
											}
											if r.Proto != 0 && r.Proto != 6 {
												r.Flags, r.FlagSet = 0, 0
											} else {
												r.Flags, r.FlagSet = flags, flagset
											}
											if icmp.proto != 0 && r.Proto != icmp.proto {
												p.errorAt(file, line, "icmp-type mismatch")
												errs++
											}
											r.OS = osName

											if nat != nil && nat.rdr != nil && nat.binat {
												if hasTable(srcH) {
													p.errorAt(file, line, fmt.Sprintf("invalid use of table <%s> as the source address of a binat-to rule", srcH.addr.Table))
													errs++
												} else if dynMultiAddr(&srcH.addr) {
													p.errorAt(file, line, fmt.Sprintf("invalid use of interface (%s) as the source address of a binat-to rule", srcH.addr.IfName))
													errs++
												} else if (r.Src.Addr.Type != rules.AddrMask && r.Src.Addr.Type != rules.AddrDynIfTL) ||
													(r.Nat.Addr.Type != rules.AddrMask && r.Nat.Addr.Type != rules.AddrDynIfTL) {
													p.errorAt(file, line, "binat-to requires a specified source and redirect address")
													errs++
												}
												if dynMultiAddr(&r.Src.Addr) || dynMultiAddr(&r.Nat.Addr) {
													p.errorAt(file, line, "dynamic interfaces must be used with :0 in a binat-to rule")
													errs++
												}
												if maskZero(&r.Src.Addr, af) || maskZero(&r.Nat.Addr, af) {
													p.errorAt(file, line, "source and redir addresess must have a matching network mask in binat-rule")
													errs++
												}
												if r.Nat.Addr.Type == rules.AddrTable {
													p.errorAt(file, line, "tables cannot be used as the redirect address of a binat-to rule")
													errs++
												}
												if r.Direction != rules.DirInOut {
													p.errorAt(file, line, "binat-to cannot be specified with a direction")
													errs++
												}
												r.Direction = rules.DirOut
											}
											errs += p.applyRedirspec(&r.Nat, r, nat, 0, dport, file, line)
											errs += p.applyRedirspec(&r.Rdr, r, rdr, 1, dport, file, line)
											errs += p.applyRedirspec(&r.Route, r, rroute, 2, dport, file, line)

											if p.ruleConsistent(r, file, line) < 0 || errs > 0 {
												p.errorAt(file, line, "skipping rule due to errors")
											} else {
												nr := *r
												nr.Nr = len(p.cur.Rules)
												if r.Anchor != nil {
													a := *r.Anchor
													nr.Anchor = &a
												}
												p.cur.Rules = append(p.cur.Rules, &nr)
												added++
											}
											r.Direction = dir

											if errs == 0 && nat != nil && nat.rdr != nil && nat.binat {
												rb := *r
												rb.Direction = rules.DirIn
												srch := srcH
												dsth := hostNode{addr: r.Nat.Addr}
												binat := &redirSpec{rdr: &redirection{hosts: []hostNode{srch}, rport: nat.rdr.rport}, opts: nat.opts}
												binat.opts.staticPort = false
												sub := &ruleParts{
													ifs:      ifs[ii:],
													protos:   protos[pi:],
													srcHosts: dsts[di:],
													srcPorts: dports[dpi:],
													dstHosts: []hostNode{dsth},
													dstPorts: sports[spi:],
													os:       oses[oi:],
												}
												subfo := &filterOpts{uids: uids[ui:], gids: gids[gi:], rcv: rcv, icmp: icmps[ci:]}
												if len(rp.os) == 0 {
													sub.os = nil
												}
												p.expandRule(&rb, true, trimZero(sub), nil, binat, nil, trimZeroOpts(subfo), file, line)
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if added == 0 {
		p.errorAt(file, line, "rule expands to no valid combination")
	}
}

// orOne returns l, or a list of one zero value when l is empty, as
// pfctl's LOOP_THROUGH does.
func orOne[T any](l []T) []T {
	if len(l) == 0 {
		var z T
		return []T{z}
	}
	return l
}

func isZero[T comparable](v T) bool {
	var z T
	return v == z
}

// trimZero drops the placeholder zero items so that the recursive
// expansion sees empty lists again.
func trimZero(rp *ruleParts) *ruleParts {
	if len(rp.ifs) == 1 && rp.ifs[0] == (ifNode{}) {
		rp.ifs = nil
	}
	if len(rp.protos) == 1 && rp.protos[0] == 0 {
		rp.protos = nil
	}
	if len(rp.srcPorts) == 1 && isZero(rp.srcPorts[0]) {
		rp.srcPorts = nil
	}
	if len(rp.dstPorts) == 1 && isZero(rp.dstPorts[0]) {
		rp.dstPorts = nil
	}
	if len(rp.srcHosts) == 1 && isZero(rp.srcHosts[0]) {
		rp.srcHosts = nil
	}
	return rp
}

func trimZeroOpts(fo *filterOpts) *filterOpts {
	if len(fo.uids) == 1 && isZero(fo.uids[0]) {
		fo.uids = nil
	}
	if len(fo.gids) == 1 && isZero(fo.gids[0]) {
		fo.gids = nil
	}
	if len(fo.icmp) == 1 && isZero(fo.icmp[0]) {
		fo.icmp = nil
	}
	return fo
}

func hasTable(h hostNode) bool { return h.addr.Type == rules.AddrTable }

// dynMultiAddr is DYNIF_MULTIADDR: a dynamic interface address that can
// stand for several addresses.
func dynMultiAddr(a *rules.AddrWrap) bool {
	if a.Type != rules.AddrDynIfTL {
		return false
	}
	n := a.IfName
	last := byte(0)
	if n != "" {
		last = n[len(n)-1]
	}
	return a.IFlags&rules.IfNoAlias == 0 || !(last >= '0' && last <= '9')
}

// genDynNode is gen_dynnode: an IPv4 rule caps the mask at 32 bits.
func genDynNode(h hostNode, af int) hostNode {
	if af == rules.AFInet && h.addr.Mask.Bits() > 32 {
		setIPMask(&h, 32)
	}
	return h
}

// checkNetmask is check_netmask: masks longer than 32 bits on IPv4.
func (p *parser) checkNetmask(h hostNode, af int) int {
	if h.addr.Type == rules.AddrTable {
		return 0
	}
	m := h.addr.Mask
	if af == rules.AFInet {
		for _, b := range m[4:] {
			if b != 0 {
				p.stderr(fmt.Sprintf("netmask %d invalid for IPv4 address\n", m.Bits()))
				return 1
			}
		}
	}
	return 0
}

// collapseRedirspec is collapse_redirspec: pick the pool addresses of the
// rule's family; several become an automatic table.
func (p *parser) collapseRedirspec(pool *rules.Pool, r *rules.Rule, rs *redirSpec, routing bool, file string, line int) int {
	kind := "translation"
	if routing {
		kind = "routing"
	}
	if rs == nil || rs.rdr == nil || len(rs.rdr.hosts) == 0 {
		*pool = rules.Pool{Addr: rules.AddrWrap{Type: rules.AddrNone}}
		return 0
	}
	if r.RuleFlag&rules.FlagAfTo != 0 {
		r.NAF = rs.af
	}
	af := 0
	naddr := 0
	var tbl *rules.Table
	var prev *hostNode
	for i := range rs.rdr.hosts {
		h := &rs.rdr.hosts[i]
		if routing && h.addr.Type == rules.AddrDynIfTL && h.addr.IFlags != rules.IfPeer {
			p.errorAt(file, line, "route spec requires :peer with dynamic interface addresses")
			return 1
		}
		if rs.af != 0 && r.AF == 0 && af == 0 {
			switch r.NAF {
			case rules.AFInet6:
				af = rules.AFInet
			case rules.AFInet:
				af = rules.AFInet6
			default:
				af = rs.af
			}
		}
		if h.af != 0 && r.NAF == 0 {
			if r.AF != 0 && r.AF != h.af {
				continue
			}
			if r.AF == 0 && af != 0 && af != h.af {
				p.errorAt(file, line, kind+" spec contains addresses with different address families")
				return 1
			}
		} else if h.af != 0 {
			if rs.af != 0 && rs.af != h.af {
				p.errorAt(file, line, kind+" spec contains addresses that don't match target address family")
				return 1
			}
		}
		if r.AF == 0 && af == 0 {
			af = h.af
		}
		if naddr == 0 {
			pool.Addr = h.addr
			pool.IfName = ""
			prev = h
		} else {
			if rs.opts.typ != 0 && !poolDynType(rs.opts.typ) {
				p.errorAt(file, line, "pool type is not valid for multiple translation or routing addresses")
				return 1
			}
			if prev != nil && prev.addr.Type != rules.AddrMask && prev.addr.Type != rules.AddrNone &&
				h.addr.Type != rules.AddrMask && h.addr.Type != rules.AddrNone {
				p.errorAt(file, line, "multiple tables or dynamic interfaces not supported for translation or routing")
				return 1
			}
			if tbl == nil {
				tbl = &rules.Table{Name: fmt.Sprintf("__automatic_%d", *p.tableNum), Flags: rules.TableConst, InitAddr: true}
				*p.tableNum++
				tbl.Inits = []rules.TableInit{{}}
			}
			if prev != nil {
				tbl.Inits[0].Hosts = append(tbl.Inits[0].Hosts, rules.TableHost{AF: prev.af, Addr: prev.addr})
				prev = nil
			}
			tbl.Inits[0].Hosts = append(tbl.Inits[0].Hosts, rules.TableHost{AF: h.af, Addr: h.addr})
		}
		naddr++
	}
	if r.AF == 0 && af != 0 {
		r.AF = af
	}
	if naddr == 0 {
		p.errorAt(file, line, "af mismatch in "+kind+" spec")
		return 1
	}
	if tbl != nil {
		if p.verbose() {
			var w strings.Builder
			rules.PrintTable(&w, tbl)
			p.stdout(w.String())
		}
		p.res.Tables = append(p.res.Tables, tbl)
		pool.Addr = rules.AddrWrap{Type: rules.AddrTable, Table: tbl.Name}
	}
	return 0
}

func poolDynType(t int) bool {
	switch t & rules.PoolTypeMask {
	case rules.PoolRoundRobin, rules.PoolLeastStates, rules.PoolRandom, rules.PoolSrcHash:
		return true
	}
	return false
}

// applyRedirspec is apply_redirspec: ports and pool options of a pool.
// kind is 0 for nat-to, 1 for rdr-to and 2 for routing.
func (p *parser) applyRedirspec(pool *rules.Pool, r *rules.Rule, rs *redirSpec, kind int, np portNode, file string, line int) int {
	if rs == nil || rs.rdr == nil {
		return 0
	}
	rp := rs.rdr.rport
	pool.ProxyPort[0] = rp.a
	if kind != 0 {
		if rp.b == 0 && rp.t != 0 {
			pool.ProxyPort[1] = rp.a + (np.port[1] - np.port[0])
		} else {
			if validateRange(rp.t, rp.a, rp.b) {
				p.errorAt(file, line, "invalid rdr-to port range")
				return 1
			}
			pool.PortOp = rp.t
			pool.ProxyPort[1] = rp.b
		}
	} else {
		pool.ProxyPort[1] = rp.b
		if pool.ProxyPort[0] == 0 && pool.ProxyPort[1] == 0 {
			pool.ProxyPort = [2]uint16{rules.NatProxyPortLow, rules.NatProxyPortHigh}
		} else if pool.ProxyPort[1] == 0 {
			pool.ProxyPort[1] = pool.ProxyPort[0]
		}
	}
	pool.Opts = rs.opts.typ
	if pool.Opts&rules.PoolTypeMask == rules.PoolNone && (pool.Addr.Type == rules.AddrTable || dynMultiAddr(&pool.Addr)) {
		pool.Opts |= rules.PoolRoundRobin
	}
	if !poolDynType(pool.Opts) {
		for _, h := range rs.rdr.hosts {
			if h.addr.Type == rules.AddrTable {
				p.errorAt(file, line, "tables are not supported by pool type")
				return 1
			}
		}
		for _, h := range rs.rdr.hosts {
			if dynMultiAddr(&h.addr) {
				p.errorAt(file, line, fmt.Sprintf("interface (%s) is not supported by pool type", h.addr.IfName))
				return 1
			}
		}
	}
	if rs.opts.key != nil {
		pool.Key = *rs.opts.key
	}
	if rs.opts.sticky {
		pool.Opts |= rules.PoolStickyAddr
	}
	if rs.opts.staticPort {
		if kind != 0 {
			p.errorAt(file, line, "the 'static-port' option is only valid with nat rules")
			return 1
		}
		if pool.ProxyPort[0] != rules.NatProxyPortLow && pool.ProxyPort[1] != rules.NatProxyPortHigh {
			p.errorAt(file, line, "the 'static-port' option can't be used when specifying a port range")
			return 1
		}
		pool.ProxyPort = [2]uint16{}
	}
	return 0
}

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

// maskZero is PF_AZERO on the mask of an address wrap. In pf the mask
// shares its bytes with the table name, so a table's "mask" is the
// seventeenth and later characters of its name.
func maskZero(a *rules.AddrWrap, af int) bool {
	switch a.Type {
	case rules.AddrMask, rules.AddrDynIfTL, rules.AddrRange:
		return a.Mask.IsZeroAF(af)
	case rules.AddrTable:
		var m rules.Addr16
		if len(a.Table) > 16 {
			copy(m[:], a.Table[16:])
		}
		return m.IsZeroAF(af)
	}
	return rules.Addr16{}.IsZeroAF(af)
}
