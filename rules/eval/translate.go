package eval

import (
	"net/netip"

	"carpfw/rules"
)

// translation is what pf_get_transaddr has decided so far in one
// evaluation: which sides were translated, from which pool and range.
type translation struct {
	nat, rdr          bool
	pool              bool
	portLow, portHigh uint16
	failed            bool
}

// transaddr is pf_get_transaddr: a rule's nat-to rewrites the source
// (address from the pool, port from the proxy range unless static-port),
// then its rdr-to rewrites the destination (address from the pool, port
// from the rdr-to port or range). Later rules see the result. Under
// Linux a rule that translates starts again from the packet's own
// addresses: its translation replaces the earlier ones.
func (c *evalCtx) transaddr(r *rules.Rule) {
	if c.e.linux && (r.Nat.Addr.Type != rules.AddrNone || r.Rdr.Addr.Type != rules.AddrNone) {
		c.untranslate()
	}
	tcpudp := c.p.Proto == ProtoTCP || c.p.Proto == ProtoUDP
	if r.Nat.Addr.Type != rules.AddrNone {
		a, pool, ok := c.mapAddr(&r.Nat, c.nsrc)
		if !ok {
			c.tr.failed = true
			return
		}
		port := c.nsport
		lo, hi := r.Nat.ProxyPort[0], r.Nat.ProxyPort[1]
		switch {
		case c.icmpEchoRequest():
			// pf_get_sport gives echo requests a new id from 1-65535.
			lo, hi = 1, 65535
			port, ok = c.freePort(a, lo, hi)
		case !tcpudp:
			// Other protocols keep their (virtual) ports.
			lo, hi = 0, 0
		case lo == 0 && hi == 0:
			// static-port, or binat-to: the port stays, unless taken.
			ok = !c.e.st.inUse(makeKey(c.p, c.af, a, c.ndst, port, c.ndport))
		default:
			port, ok = c.freePort(a, lo, hi)
		}
		if !ok {
			c.tr.failed = true
			return
		}
		c.nsrc, c.nsport = a, port
		c.tr.nat, c.tr.portLow, c.tr.portHigh = true, lo, hi
		c.tr.pool = c.tr.pool || pool
	}
	if r.Rdr.Addr.Type != rules.AddrNone {
		a, pool, ok := c.mapAddr(&r.Rdr, c.nsrc)
		if !ok {
			c.tr.failed = true
			return
		}
		if r.Rdr.Opts&rules.PoolTypeMask == rules.PoolBitmask {
			a = poolmask(a, r.Rdr.Addr.Mask, c.ndst)
		}
		var nport uint16
		if tcpudp {
			p0, p1 := r.Rdr.ProxyPort[0], r.Rdr.ProxyPort[1]
			if p1 != 0 {
				div := int(uint16(p1 - p0 + 1))
				if div == 0 {
					div = 1
				}
				t := uint32(int32((int(c.ndport)-int(r.Dst.Port[0]))%div + int(p0)))
				if t > 65535 {
					t -= 65535
				}
				nport = uint16(t)
			} else if p0 != 0 {
				nport = p0
			}
		}
		c.ndst = a
		if nport != 0 {
			c.ndport = nport
		}
		c.tr.rdr = true
		c.tr.pool = c.tr.pool || pool
	}
}

// mapAddr is pf_map_addr for the first address: a plain address, or for
// a bitmask pool the pool's network with the host part of saddr; a
// table, a dynamic interface with several addresses or a pool type that
// spreads over a network report pool. ok is false when the pool has no
// address of the packet's family.
func (c *evalCtx) mapAddr(pool *rules.Pool, saddr netip.Addr) (a netip.Addr, multi, ok bool) {
	af := c.af
	typ := pool.Opts & rules.PoolTypeMask
	switch pool.Addr.Type {
	case rules.AddrMask:
		pr := prefixOf(pool.Addr.Addr, pool.Addr.Mask, af)
		switch typ {
		case rules.PoolNone:
			return pr.Addr(), false, true
		case rules.PoolBitmask:
			return poolmask(pr.Addr(), pool.Addr.Mask, saddr), false, true
		}
		return pr.Addr(), pr.Bits() < pr.Addr().BitLen(), true
	case rules.AddrDynIfTL:
		var list []netip.Prefix
		for _, p := range ifAddrs(c.e.host, pool.Addr.IfName, pool.Addr.IFlags, pool.Addr.Mask.Bits()) {
			if afOf(p.Addr()) == af {
				list = append(list, p)
			}
		}
		if len(list) == 0 {
			return netip.Addr{}, false, false
		}
		if typ == rules.PoolBitmask {
			return poolmask(list[0].Addr(), rules.MaskOf(list[0].Bits()), saddr), len(list) > 1, true
		}
		return list[0].Addr(), len(list) > 1, true
	case rules.AddrTable:
		first, n := c.e.tables[pool.Addr.Table].first(af)
		return first, true, n > 0
	}
	return netip.Addr{}, false, false
}

// poolmask is pf_poolmask: the network bits of raddr under mask with the
// host bits of saddr.
func poolmask(raddr netip.Addr, mask rules.Addr16, saddr netip.Addr) netip.Addr {
	if raddr.Is4() != saddr.Is4() {
		return raddr
	}
	r := raddr.AsSlice()
	s := saddr.AsSlice()
	for i := range r {
		r[i] = r[i]&mask[i] | s[i]&^mask[i]
	}
	out, _ := netip.AddrFromSlice(r)
	return out
}

// icmpEchoRequest reports whether the packet is an ICMP or ICMPv6 echo
// request, whose id nat-to rewrites.
func (c *evalCtx) icmpEchoRequest() bool {
	return c.p.Proto == ProtoICMP && c.p.ICMPType == 8 || c.p.Proto == ProtoICMPv6 && c.p.ICMPType == 128
}

// freePort picks the nat source port the way pf_get_sport would, but
// deterministically: the packet's own port when it is in the range and
// free, otherwise the lowest port of the range whose translated key no
// state uses. pf starts at a random port instead.
func (c *evalCtx) freePort(a netip.Addr, lo, hi uint16) (uint16, bool) {
	if lo > hi {
		lo, hi = hi, lo
	}
	if own := c.nsport; own >= lo && own <= hi && !c.e.st.inUse(makeKey(c.p, c.af, a, c.ndst, own, c.ndport)) {
		return own, true
	}
	for port := uint32(lo); port <= uint32(hi); port++ {
		k := makeKey(c.p, c.af, a, c.ndst, uint16(port), c.ndport)
		if !c.e.st.inUse(k) {
			return uint16(port), true
		}
	}
	return 0, false
}

// report is the translation to put in a verdict: nil when no rule
// translated or the translation left the packet as it was.
func (c *evalCtx) report() *NAT {
	p := c.p
	sp, dp := virtualPorts(p, c.af)
	if !c.tr.nat && !c.tr.rdr || c.nsrc == p.Src && c.ndst == p.Dst && c.nsport == sp && c.ndport == dp {
		return nil
	}
	n := &NAT{Src: c.nsrc, Dst: c.ndst, Nat: c.tr.nat, Rdr: c.tr.rdr,
		PortLow: c.tr.portLow, PortHigh: c.tr.portHigh, Pool: c.tr.pool}
	switch c.p.Proto {
	case ProtoTCP, ProtoUDP:
		n.SrcPort, n.DstPort = c.nsport, c.ndport
	case ProtoICMP, ProtoICMPv6:
		n.ICMPID = c.ndport
		if c.icmpDir == rules.DirIn {
			n.ICMPID = c.nsport
		}
		if n.ICMPID == p.ICMPID {
			n.ICMPID = 0
		}
	}
	return n
}
