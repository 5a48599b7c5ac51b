package rules

import (
	"fmt"
	"net/netip"
	"strings"

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
	rdr   bool
	af    int
	pool  *Pool
	r     *Rule
	addrs []netip.Addr // the hosts of a table pool
	// poolSet is the anonymous map index → address of a table pool.
	poolSet *Set
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
	x := xlat{rdr: rdr, af: r.AF, pool: p, r: r}
	if p.Addr.Type == AddrTable {
		x.addrs = c.poolHosts(r, p.Addr.Table)
	}
	c.xlats = append(c.xlats, x)
	return uint32(len(c.xlats)) << xlatShift
}

// poolHosts lists the host addresses of a table used as a pool (pfctl
// turns "nat-to { a, b }" into an automatic table).
func (c *compiler) poolHosts(r *Rule, name string) []netip.Addr {
	var out []netip.Addr
	for _, t := range c.opts.Tables {
		if t.Name != name {
			continue
		}
		for _, in := range t.Inits {
			for _, h := range in.Hosts {
				p := prefixOf(h.Addr.Addr, h.Addr.Mask, h.AF)
				if h.Not || h.Addr.Type != AddrMask || !p.IsSingleIP() {
					c.errorf(r, "translation pool <%s>: only host addresses are supported on Linux", name)
					return nil
				}
				out = append(out, p.Addr())
			}
		}
	}
	if len(out) == 0 {
		c.errorf(r, "translation pool <%s> is empty", name)
	}
	return out
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
		case AddrMask, AddrTable:
		case AddrDynIfTL:
			if p == &r.Rdr {
				c.errorf(r, "rdr-to an interface address is not supported on Linux")
			}
		default:
			c.errorf(r, "translation to a range is not supported on Linux")
		}
		switch p.Opts & PoolTypeMask {
		case PoolNone, PoolRandom, PoolRoundRobin:
		case PoolSrcHash:
			if p.Addr.Type != AddrTable {
				c.errorf(r, "source-hash over a prefix is not supported on Linux")
			}
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
		if len(x.addrs) > 0 {
			x.addrs = x.addrs[:len(x.addrs):len(x.addrs)]
			c.poolMap(i+1, &x)
		}
		for k, s := range natStmts(x) {
			if k > 0 && x.poolSet != nil {
				s = c.ownPool(s, x.poolSet, k)
			}
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
	if x.poolSet != nil {
		return poolStmts(x)
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

// ownPool gives rule alternative k its own copy of an anonymous pool map:
// the kernel binds an anonymous set to one rule only (EBUSY otherwise).
func (c *compiler) ownPool(stmts []Stmt, set *Set, k int) []Stmt {
	cp := *set
	cp.Name = fmt.Sprintf("%s_%d", set.Name, k)
	c.prog.Sets = append(c.prog.Sets, &cp)
	out := make([]Stmt, len(stmts))
	for i, st := range stmts {
		out[i] = Stmt{Text: st.Text, Exprs: make([]expr.Any, len(st.Exprs))}
		for j, e := range st.Exprs {
			if l, ok := e.(*expr.Lookup); ok && l.SetName == set.Name {
				nl := *l
				nl.SetName = cp.Name
				e = &nl
			}
			out[i].Exprs[j] = e
		}
	}
	return out
}

// poolMap builds the anonymous map of a table pool: numgen's result
// (0..N-1) to the N addresses.
func (c *compiler) poolMap(id int, x *xlat) {
	s := &Set{Name: fmt.Sprintf("__pool%d", id), Key: KeyInteger, Anonymous: true, Const: true,
		AddrMap: true, DataIPv6: x.addrs[0].Is6()}
	for i, a := range x.addrs {
		if a.Is6() != s.DataIPv6 {
			c.errorf(x.r, "translation pool mixes address families")
			return
		}
		s.Elems = append(s.Elems, Elem{Key: ne32(uint32(i)), Val: a.AsSlice()})
	}
	c.prog.Sets = append(c.prog.Sets, s)
	x.poolSet = s
}

// poolStmts translate to one address of a pool in turn (round-robin:
// "numgen inc") or at random ("numgen random"), pf.conf(5) "POOL OPTIONS".
func poolStmts(x xlat) [][]Stmt {
	typ, kw := uint32(unix.NFT_NG_INCREMENTAL), "inc"
	if x.pool.Opts&PoolTypeMask == PoolRandom {
		typ, kw = unix.NFT_NG_RANDOM, "random"
	}
	n := len(x.addrs)
	var el []string
	for i, a := range x.addrs {
		el = append(el, fmt.Sprintf("%d : %s", i, a))
	}
	af, fam, ipkw := AFInet, uint32(unix.NFPROTO_IPV4), "ip"
	if x.poolSet.DataIPv6 {
		af, fam, ipkw = AFInet6, unix.NFPROTO_IPV6, "ip6"
	}
	verb, typN := "snat", expr.NATTypeSourceNAT
	if x.rdr {
		verb, typN = "dnat", expr.NATTypeDestNAT
	}
	text := fmt.Sprintf("%s %s to numgen %s mod %d map { %s }", verb, ipkw, kw, n, strings.Join(el, ", "))
	pick := func() []expr.Any {
		return []expr.Any{
			&expr.Numgen{Register: 1, Modulus: uint32(n), Type: typ},
			&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: x.poolSet.Name},
		}
	}
	if x.pool.Opts&PoolTypeMask == PoolSrcHash {
		// source-hash: the same source always gets the same address.
		srcAF := x.af
		if srcAF == AFUnspec {
			srcAF = af
		}
		seed := x.pool.Key[0]
		load, skw, ln := loadAddr(srcAF, true)
		text = fmt.Sprintf("%s %s to jhash %s mod %d seed 0x%x map { %s }", verb, ipkw, skw, n, seed, strings.Join(el, ", "))
		pick = func() []expr.Any {
			l := *load
			return []expr.Any{&l,
				&expr.Hash{SourceRegister: 1, DestRegister: 1, Length: ln, Modulus: uint32(n), Seed: seed, Type: expr.HashTypeJenkins},
				&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: x.poolSet.Name},
			}
		}
	}
	plain := Stmt{text, append(pick(), &expr.NAT{Type: typN, Family: fam, RegAddrMin: 1})}
	lo, hi := x.pool.ProxyPort[0], x.pool.ProxyPort[1]
	if x.rdr && lo != 0 {
		hi = lo
	}
	if lo == 0 && hi == 0 {
		return [][]Stmt{{sNfproto(af), plain}}
	}
	nat := &expr.NAT{Type: typN, Family: fam, RegAddrMin: 1, RegProtoMin: 2}
	ex := append(pick(), &expr.Immediate{Register: 2, Data: be16(lo)})
	pt := fmt.Sprintf("%s : %d", text, lo)
	if hi != lo {
		ex = append(ex, &expr.Immediate{Register: 3, Data: be16(hi)})
		nat.RegProtoMax = 3
		pt = fmt.Sprintf("%s : %d-%d", text, lo, hi)
	}
	ex = append(ex, nat)
	return [][]Stmt{
		{sNfproto(af), sL4proto(unix.IPPROTO_TCP, false), {pt, ex}},
		{sNfproto(af), sL4proto(unix.IPPROTO_UDP, false), {pt, ex}},
		{sNfproto(af), notTCPUDP(), plain},
	}
}
