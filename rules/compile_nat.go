package rules

import (
	"fmt"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Translation (pf.conf(5) "TRANSLATION", reference §2.8). nftables
// translates only at fixed hooks and only the first packet of a
// connection (conntrack then keeps the mapping, like pf's state). The
// filter pass decides: the rule whose translation applies (the last
// matching match rule with one, or the deciding pass rule) writes its
// translation id into the mark; the nat chains read it. rdr-to is
// applied in prerouting (type nat, priority -100, after the inbound pass
// at -150); nat-to in postrouting (priority 100, after the outbound pass
// in forward or output).

// xlat is one translation.
type xlat struct {
	rdr  bool
	af   int
	pool *Pool
	r    *Rule
}

// translation returns the mark bits of r's translation in pass d, or 0.
func (c *compiler) translation(r *Rule, d pass) uint32 {
	var p *Pool
	rdr := false
	switch {
	case d == passOut && r.Nat.Addr.Type != AddrNone:
		p = &r.Nat
	case d == passIn && r.Rdr.Addr.Type != AddrNone:
		p, rdr = &r.Rdr, true
	default:
		return 0
	}
	for i, x := range c.xlats {
		if x.r == r && x.rdr == rdr {
			return uint32(i+1) << xlatShift
		}
	}
	if len(c.xlats) >= maxXlat {
		c.errorf(r, "too many translation rules (at most %d)", maxXlat)
		return 0
	}
	c.xlats = append(c.xlats, xlat{rdr: rdr, af: r.AF, pool: p, r: r})
	return uint32(len(c.xlats)) << xlatShift
}

// checkTranslation reports the translations Linux cannot do.
func (c *compiler) checkTranslation(r *Rule) {
	if r.Nat.Addr.Type != AddrNone && r.Direction == DirIn {
		c.errorf(r, "nat-to on inbound rules is not supported on Linux")
	}
	if r.Rdr.Addr.Type != AddrNone && r.Direction == DirOut {
		c.errorf(r, "rdr-to on outbound rules is not supported on Linux")
	}
	for _, p := range []*Pool{&r.Nat, &r.Rdr} {
		if p.Addr.Type == AddrNone {
			continue
		}
		switch p.Addr.Type {
		case AddrMask:
		case AddrDynIfTL:
			if p == &r.Rdr {
				c.errorf(r, "rdr-to an interface address is not supported on Linux")
			}
		default:
			c.errorf(r, "translation to a table or range is not supported on Linux")
		}
		switch p.Opts & PoolTypeMask {
		case PoolNone, PoolRandom, PoolRoundRobin:
		default:
			c.errorf(r, "this translation pool type is not supported on Linux")
		}
	}
	if r.Rdr.Addr.Type != AddrNone && r.Rdr.ProxyPort[1] != 0 && r.Rdr.ProxyPort[1] != r.Rdr.ProxyPort[0] {
		c.errorf(r, "rdr-to a port range is not supported on Linux")
	}
}

// natChains fills xlat_pre and xlat_post.
func (c *compiler) natChains() {
	pre, post := c.prog.chain(chainXlatPre), c.prog.chain(chainXlatPost)
	for i, x := range c.xlats {
		test := sMarkTest(MarkXlat, uint32(i+1)<<xlatShift, false)
		ch := post
		if x.rdr {
			ch = pre
		}
		for _, s := range natStmts(x) {
			ch.Rules = append(ch.Rules, &NRule{Stmts: append([]Stmt{test}, s...), Comment: fmt.Sprintf("@%d", x.r.Nr)})
		}
	}
}

// natStmts are the nat statements of a translation, per family.
func natStmts(x xlat) [][]Stmt {
	p := x.pool
	lo, hi := p.ProxyPort[0], p.ProxyPort[1]
	if p.Addr.Type == AddrDynIfTL {
		// nat-to (if): masquerade picks the outgoing interface's address.
		if lo == 0 && hi == 0 {
			return [][]Stmt{{{"masquerade", []expr.Any{&expr.Masq{}}}}}
		}
		masq := Stmt{fmt.Sprintf("masquerade to :%d-%d", lo, hi), []expr.Any{
			&expr.Immediate{Register: 1, Data: be16(lo)},
			&expr.Immediate{Register: 2, Data: be16(hi)},
			&expr.Masq{ToPorts: true, RegProtoMin: 1, RegProtoMax: 2},
		}}
		return [][]Stmt{
			{sL4proto(unix.IPPROTO_TCP, false), masq},
			{sL4proto(unix.IPPROTO_UDP, false), masq},
			{notTCPUDP(), {"masquerade", []expr.Any{&expr.Masq{}}}},
		}
	}
	af := x.af
	if af == AFUnspec {
		af = AFInet
		if p.Addr.Mask.Bits() > 32 {
			af = AFInet6
		}
	}
	first := p.Addr.Addr.And(p.Addr.Mask)
	full := 32
	fam, kw := uint32(unix.NFPROTO_IPV4), "ip"
	if af == AFInet6 {
		full, fam, kw = 128, unix.NFPROTO_IPV6, "ip6"
	}
	nat := &expr.NAT{Type: expr.NATTypeSourceNAT, Family: fam, RegAddrMin: 1}
	verb := "snat"
	if x.rdr {
		nat.Type, verb = expr.NATTypeDestNAT, "dnat"
	}
	ex := []expr.Any{&expr.Immediate{Register: 1, Data: addrBytes(first, af)}}
	target := first.String(af)
	if bits := p.Addr.Mask.Bits(); bits < full {
		last := lastAddr(prefixOf(p.Addr.Addr, p.Addr.Mask, af))
		ex = append(ex, &expr.Immediate{Register: 2, Data: last.AsSlice()})
		nat.RegAddrMax = 2
		target += "-" + last.String()
	}
	if af == AFInet6 {
		target = "[" + target + "]"
		if nat.RegAddrMax != 0 {
			target = first.String(af) + "-" + lastAddr(prefixOf(p.Addr.Addr, p.Addr.Mask, af)).String()
		}
	}
	if x.rdr && lo != 0 {
		hi = lo
	}
	noPorts := []Stmt{sNfproto(af), {fmt.Sprintf("%s %s to %s", verb, kw, target), append(ex, nat)}}
	if lo == 0 && hi == 0 {
		return [][]Stmt{noPorts}
	}
	// Ports exist for TCP and UDP only (nft: "transport protocol mapping
	// is only valid after transport protocol match"); other protocols
	// are translated without them.
	pn := *nat
	pex := append(append([]expr.Any(nil), ex...), &expr.Immediate{Register: 3, Data: be16(lo)})
	pn.RegProtoMin = 3
	if hi != lo {
		pex = append(pex, &expr.Immediate{Register: 4, Data: be16(hi)})
		pn.RegProtoMax = 4
	}
	pex = append(pex, &pn)
	pt := target + fmt.Sprintf(":%d-%d", lo, hi)
	if lo == hi {
		pt = target + fmt.Sprintf(":%d", lo)
	}
	var out [][]Stmt
	for _, proto := range []int{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
		out = append(out, []Stmt{sNfproto(af), sL4proto(proto, false), {fmt.Sprintf("%s %s to %s", verb, kw, pt), pex}})
	}
	noPorts = []Stmt{noPorts[0], notTCPUDP(), noPorts[1]}
	return append(out, noPorts)
}

// notTCPUDP matches packets that are neither TCP nor UDP.
func notTCPUDP() Stmt {
	return Stmt{"meta l4proto != 6 meta l4proto != 17", append(sL4proto(unix.IPPROTO_TCP, true).Exprs,
		sL4proto(unix.IPPROTO_UDP, true).Exprs...)}
}
