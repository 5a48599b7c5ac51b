package parser

import (
	"fmt"

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
