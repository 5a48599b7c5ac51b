package parser

import (
	"fmt"
	"strings"

	"carpfw/rules"
)

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
