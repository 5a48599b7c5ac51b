package eval

import (
	"net/netip"

	"carpfw/rules"
)

// table is a pf table's contents: prefixes, some negated. A look-up finds
// the longest prefix that holds the address; the address is in the table
// when that prefix is not negated (pfr_match_addr).
type table struct {
	entries []tableEntry
}

type tableEntry struct {
	prefix netip.Prefix
	neg    bool
}

func (t *table) match(a netip.Addr) bool {
	if t == nil {
		return false
	}
	best, found, neg := -1, false, false
	for _, e := range t.entries {
		if e.prefix.Contains(a) && e.prefix.Bits() > best {
			best, found, neg = e.prefix.Bits(), true, e.neg
		}
	}
	return found && !neg
}

// first returns the first non-negated address of family af, for pools.
func (t *table) first(af int) (netip.Addr, int) {
	n := 0
	var first netip.Addr
	for _, e := range t.entries {
		if e.neg || afOf(e.prefix.Addr()) != af {
			continue
		}
		if n == 0 {
			first = e.prefix.Addr()
		}
		n++
	}
	return first, n
}

// tableFromDef loads a table definition's address lists; Load reads
// its files.
func tableFromDef(d *rules.Table) *table {
	t := &table{}
	for _, ti := range d.Inits {
		for _, h := range ti.Hosts {
			if h.Addr.Type != rules.AddrMask {
				continue
			}
			p := prefixOf(h.Addr.Addr, h.Addr.Mask, h.AF)
			t.entries = append(t.entries, tableEntry{prefix: p, neg: h.Not})
		}
	}
	return t
}

// prefixOf turns pf's address and mask into a prefix of family af.
func prefixOf(a, m rules.Addr16, af int) netip.Prefix {
	if af == rules.AFInet {
		ip := netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]})
		var m4 rules.Addr16
		copy(m4[:4], m[:4])
		return netip.PrefixFrom(ip, m4.Bits()).Masked()
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), m.Bits()).Masked()
}

func addrOf(a rules.Addr16, af int) netip.Addr {
	if af == rules.AFInet {
		return netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]})
	}
	return netip.AddrFrom16(a)
}

func afOf(a netip.Addr) int {
	if a.Is4() {
		return rules.AFInet
	}
	return rules.AFInet6
}
