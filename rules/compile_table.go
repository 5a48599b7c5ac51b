package rules

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Tables become named interval sets, one per family (pf.conf(5)
// "TABLES"; nftables wiki "Sets", flags interval). pf tables match by
// longest prefix and may hold negated entries; the kernel's interval
// sets hold disjoint ranges and no negation, so the compiler computes
// the effective membership (normalise) and loads that.

// TableSetName is the set holding family af of pf table t.
func TableSetName(t string, af int) string {
	return "t_" + sanitize(t) + afSuffix(af)
}

// DynSetName is the set holding the addresses of interface ifname for
// (ifname) with modifier flags.
func DynSetName(ifname string, flags int, af int) string {
	s := "if_" + sanitize(ifname)
	if flags&IfNetwork != 0 {
		s += "_net"
	}
	if flags&IfBroadcast != 0 {
		s += "_bcast"
	}
	if flags&IfPeer != 0 {
		s += "_peer"
	}
	if flags&IfNoAlias != 0 {
		s += "_0"
	}
	return s + afSuffix(af)
}

func afSuffix(af int) string {
	if af == AFInet6 {
		return "_6"
	}
	return "_4"
}

// sanitize keeps a name usable inside an nft identifier (nft's scanner:
// letters, digits and "/", "-", "_", "."), so that a table name such as
// <bad-hosts>, an anchor's scoped table or an interface such as eth0.100
// keeps its own name.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/') {
			b[i] = '_'
		}
	}
	return string(b)
}

// TableEntry is one table entry: a prefix, possibly negated.
type TableEntry struct {
	Prefix netip.Prefix
	Not    bool
}

// tables creates the sets of all defined tables.
func (c *compiler) tables(ts []*Table) {
	for _, t := range ts {
		var ents []TableEntry
		for _, in := range t.Inits {
			if in.File != "" {
				fe, err := c.tableFile(in.File)
				if err != nil {
					c.errs = append(c.errs, fmt.Sprintf("pf.conf: table <%s>: %v", t.Name, err))
				}
				ents = append(ents, fe...)
				continue
			}
			for _, h := range in.Hosts {
				switch {
				case h.Addr.Type == AddrMask && h.AF != AFUnspec:
					ents = append(ents, TableEntry{prefixOf(h.Addr.Addr, h.Addr.Mask, h.AF), h.Not})
				case h.Addr.Type == AddrDynIfTL || h.IfName != "":
					name := h.Addr.IfName
					if name == "" {
						name = h.IfName
					}
					for _, p := range c.ifAddrs(name, h.Addr.IFlags) {
						ents = append(ents, TableEntry{p, h.Not})
					}
				default:
					c.errs = append(c.errs, fmt.Sprintf("pf.conf: table <%s>: entry type %d not supported on Linux", t.Name, h.Addr.Type))
				}
			}
		}
		c.tableSets(t.Name, ents, t.Flags&TableConst != 0)
	}
}

// tableFile reads "table <t> file F": one address or prefix per line,
// "#" comments, "!" negation (pfr_buf_load semantics, simplified).
func (c *compiler) tableFile(name string) ([]TableEntry, error) {
	if c.opts.ReadFile == nil {
		return nil, fmt.Errorf("file %q: table files are not read here", name)
	}
	data, err := c.opts.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []TableEntry
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, w := range strings.Fields(line) {
			not := strings.HasPrefix(w, "!")
			w = strings.TrimPrefix(w, "!")
			p, err := ParseEntry(w)
			if err != nil {
				return nil, fmt.Errorf("file %q: %v", name, err)
			}
			out = append(out, TableEntry{p, not})
		}
	}
	return out, nil
}

// ParseEntry parses a table address: "a.b.c.d", "a.b.c.d/n", "x::y/n".
func ParseEntry(w string) (netip.Prefix, error) {
	if strings.Contains(w, "/") {
		p, err := netip.ParsePrefix(w)
		if err != nil {
			return p, fmt.Errorf("%s: invalid address", w)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(w)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: invalid address", w)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// tableSets creates (or fills) the two sets of table name. An overload
// table's sets are plain dynamic sets of host addresses, which rules can
// add to (compile_limits.go).
func (c *compiler) tableSets(name string, ents []TableEntry, isConst bool) {
	_, overload := c.overload[name]
	if overload {
		if isConst {
			c.errs = append(c.errs, fmt.Sprintf("pf.conf: table <%s>: a const table cannot be an overload table", name))
		}
		for _, e := range ents {
			if e.Not || e.Prefix.Bits() != e.Prefix.Addr().BitLen() {
				c.errs = append(c.errs, fmt.Sprintf("pf.conf: table <%s>: %s: an overload table holds host addresses only on Linux", name, e.Prefix))
			}
		}
	}
	for _, af := range []int{AFInet, AFInet6} {
		sn := TableSetName(name, af)
		s := c.prog.Set(sn)
		if s == nil {
			s = &Set{Name: sn, Key: keyOf(af), Interval: !overload, Eval: overload, Table: name}
			if overload {
				s.Size = limitSetSize
			}
			c.prog.Sets = append(c.prog.Sets, s)
		}
		s.Const = isConst
		if overload {
			s.Elems = HostElems(ents, af)
		} else {
			s.Elems = IntervalElems(ents, af)
		}
	}
}

// HostElems are the elements of a set of host addresses of family af.
func HostElems(ents []TableEntry, af int) []Elem {
	var out []Elem
	seen := map[netip.Addr]bool{}
	for _, e := range ents {
		a := e.Prefix.Addr()
		if e.Not || a.Is4() != (af == AFInet) || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, Elem{Key: a.AsSlice()})
	}
	return out
}

func keyOf(af int) int {
	if af == AFInet6 {
		return KeyIPv6
	}
	return KeyIPv4
}

// ensureTable makes sure a referenced table has sets (pf creates
// referenced but undefined tables empty).
func (c *compiler) ensureTable(name string) {
	if c.prog.Set(TableSetName(name, AFInet)) == nil {
		c.tableSets(name, nil, false)
	}
}

// IntervalElems normalises entries of family af into the elements of an
// interval set: the disjoint, merged ranges of addresses whose longest
// matching entry is not negated.
func IntervalElems(ents []TableEntry, af int) []Elem {
	ivs := Normalise(ents, af)
	out := make([]Elem, 0, len(ivs))
	for _, iv := range ivs {
		e := Elem{Key: iv.From.AsSlice()}
		if next := iv.To.Next(); next.IsValid() {
			e.End = next.AsSlice()
		}
		out = append(out, e)
	}
	return out
}

// Interval is an inclusive address range.
type Interval struct{ From, To netip.Addr }

// Normalise computes the membership of a table as sorted, disjoint,
// merged inclusive ranges. Prefixes are either nested or disjoint, so a
// sweep in (start, length) order with a stack of open prefixes paints
// each address with the value of its longest matching entry.
func Normalise(ents []TableEntry, af int) []Interval {
	var es []TableEntry
	for _, e := range ents {
		if e.Prefix.Addr().Is4() == (af == AFInet) && e.Prefix.IsValid() {
			es = append(es, TableEntry{e.Prefix.Masked(), e.Not})
		}
	}
	sort.SliceStable(es, func(i, j int) bool {
		if c := es[i].Prefix.Addr().Compare(es[j].Prefix.Addr()); c != 0 {
			return c < 0
		}
		return es[i].Prefix.Bits() < es[j].Prefix.Bits()
	})
	type open struct {
		last   netip.Addr
		cursor netip.Addr // first address not yet painted; invalid when done
		in     bool
	}
	var out []Interval
	emit := func(from, to netip.Addr, in bool) {
		if !in || !from.IsValid() || from.Compare(to) > 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].To.Next() == from {
			out[n-1].To = to
			return
		}
		out = append(out, Interval{from, to})
	}
	var stack []open
	pop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		emit(top.cursor, top.last, top.in)
	}
	for _, e := range es {
		start, last := e.Prefix.Addr(), lastAddr(e.Prefix)
		for len(stack) > 0 && stack[len(stack)-1].last.Compare(start) < 0 {
			pop()
		}
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if top.cursor.IsValid() && top.cursor.Compare(start) < 0 {
				emit(top.cursor, start.Prev(), top.in)
			}
			top.cursor = last.Next()
		}
		stack = append(stack, open{last: last, cursor: start, in: !e.Not})
	}
	for len(stack) > 0 {
		pop()
	}
	return out
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ifAddrs resolves (ifname) with its modifiers to prefixes.
func (c *compiler) ifAddrs(name string, flags int) []netip.Prefix {
	return DynPrefixes(name, flags, c.opts.Groups, c.opts.IfAddrs)
}

// DynPrefixes resolves an interface or interface group name with the
// (if) modifiers to prefixes: a group's members one after the other, each
// with its modifiers, as pf fills a dynamic address from every interface
// of a group (pfi_table_update, pf_if.c), so that (egress) holds the
// addresses of the default route's interfaces. groups or ifAddrs may be
// nil (no groups; no addresses).
func DynPrefixes(name string, flags int, groups func(string) ([]string, bool), ifAddrs func(string) []netip.Prefix) []netip.Prefix {
	if ifAddrs == nil {
		return nil
	}
	members := []string{name}
	if groups != nil {
		if ms, ok := groups(name); ok {
			members = ms
		}
	}
	var out []netip.Prefix
	for _, m := range members {
		out = append(out, IfPrefixes(ifAddrs(m), flags)...)
	}
	return out
}

// IfPrefixes applies the (if) modifiers to one interface's addresses
// (pf.conf(5) "ADDRESSES": :network, :broadcast, :peer, :0); :0 keeps the
// first address of each family (pfi_instance_add skips the rest).
func IfPrefixes(ps []netip.Prefix, flags int) []netip.Prefix {
	var out []netip.Prefix
	var got4, got6 bool
	for _, p := range ps {
		if flags&IfNoAlias != 0 {
			if p.Addr().Is4() && got4 || p.Addr().Is6() && got6 {
				continue
			}
			got4, got6 = got4 || p.Addr().Is4(), got6 || p.Addr().Is6()
		}
		if flags&IfNetwork != 0 {
			out = append(out, p.Masked())
			continue
		}
		if flags&IfBroadcast != 0 {
			if p.Addr().Is4() && p.Bits() < 31 {
				out = append(out, netip.PrefixFrom(lastAddr(p), 32))
			}
			continue
		}
		out = append(out, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
	}
	return out
}

// dynSets creates the sets of (ifname) and returns their names.
func (c *compiler) dynSets(a *AddrWrap) {
	ps := c.ifAddrs(a.IfName, a.IFlags)
	var ents []TableEntry
	for _, p := range ps {
		ents = append(ents, TableEntry{Prefix: p})
	}
	for _, af := range []int{AFInet, AFInet6} {
		sn := DynSetName(a.IfName, a.IFlags, af)
		if c.prog.Set(sn) != nil {
			continue
		}
		c.prog.Sets = append(c.prog.Sets, &Set{Name: sn, Key: keyOf(af), Interval: true,
			Dynamic: a.IfName, DynFlags: a.IFlags, Elems: IntervalElems(ents, af)})
	}
	for _, d := range c.prog.Dynamic {
		if d == a.IfName {
			return
		}
	}
	c.prog.Dynamic = append(c.prog.Dynamic, a.IfName)
}
