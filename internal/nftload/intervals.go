package nftload

import (
	"net/netip"
	"sort"

	"carpfw/rules"
)

// Interval arithmetic for table contents: sorted, disjoint, merged
// inclusive address ranges of one family (rules.Interval).

// union merges two interval lists.
func union(a, b []rules.Interval) []rules.Interval {
	all := append(append([]rules.Interval(nil), a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i].From.Less(all[j].From) })
	var out []rules.Interval
	for _, iv := range all {
		n := len(out)
		if n > 0 {
			last := &out[n-1]
			next := last.To.Next()
			if !next.IsValid() || !next.Less(iv.From) {
				if last.To.Less(iv.To) {
					last.To = iv.To
				}
				continue
			}
		}
		out = append(out, iv)
	}
	return out
}

// subtract removes b from a.
func subtract(a, b []rules.Interval) []rules.Interval {
	var out []rules.Interval
	for _, iv := range a {
		cur := []rules.Interval{iv}
		for _, d := range b {
			var next []rules.Interval
			for _, c := range cur {
				if d.To.Less(c.From) || c.To.Less(d.From) {
					next = append(next, c)
					continue
				}
				if c.From.Less(d.From) {
					next = append(next, rules.Interval{From: c.From, To: d.From.Prev()})
				}
				if d.To.Less(c.To) {
					next = append(next, rules.Interval{From: d.To.Next(), To: c.To})
				}
			}
			cur = next
		}
		out = append(out, cur...)
	}
	return out
}

// covers reports whether p lies entirely inside the intervals.
func covers(ivs []rules.Interval, p netip.Prefix) bool {
	first, last := p.Masked().Addr(), lastOf(p)
	for _, iv := range ivs {
		if !first.Less(iv.From) && !iv.To.Less(last) {
			return true
		}
	}
	return false
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func ivOf(p netip.Prefix) rules.Interval {
	return rules.Interval{From: p.Masked().Addr(), To: lastOf(p)}
}

// prefixes splits an interval into the fewest CIDR prefixes, as table
// entries are shown.
func prefixes(iv rules.Interval) []netip.Prefix {
	var out []netip.Prefix
	from := iv.From
	for i := 0; i <= 2*from.BitLen()+2 && from.IsValid() && !iv.To.Less(from); i++ {
		bits := from.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(from, bits-1)
			if p.Masked().Addr() != from || iv.To.Less(lastOf(p)) {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(from, bits)
		out = append(out, p)
		from = lastOf(p).Next()
	}
	return out
}

// elemsToIntervals reads an interval set's elements back: each start
// element and the IntervalEnd element after it (exclusive end).
func elemsToIntervals(keys [][]byte, ends []bool) []rules.Interval {
	type el struct {
		a   netip.Addr
		end bool
	}
	var es []el
	for i, k := range keys {
		a, ok := netip.AddrFromSlice(k)
		if !ok {
			continue
		}
		es = append(es, el{a, ends[i]})
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].a == es[j].a {
			return es[i].end && !es[j].end // an end closes before a start opens
		}
		return es[i].a.Less(es[j].a)
	})
	var out []rules.Interval
	for i := 0; i < len(es); i++ {
		if es[i].end {
			continue
		}
		iv := rules.Interval{From: es[i].a, To: maxAddr(es[i].a)}
		if i+1 < len(es) && es[i+1].end {
			iv.To = es[i+1].a.Prev()
			i++
		}
		out = append(out, iv)
	}
	return out
}

func maxAddr(a netip.Addr) netip.Addr {
	b := a.AsSlice()
	for i := range b {
		b[i] = 0xff
	}
	m, _ := netip.AddrFromSlice(b)
	return m
}
