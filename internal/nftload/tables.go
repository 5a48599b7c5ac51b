package nftload

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/google/nftables"

	"carpfw/rules"
)

// ErrNoTable is pfctl's "Table does not exist".
var ErrNoTable = errors.New("Table does not exist")

// Contents is a pf table as loaded: the membership per family.
type Contents struct {
	V4, V6 []rules.Interval
	// Hosts: the table is an overload table, whose sets hold host
	// addresses only (rules.HostElems).
	Hosts bool
}

// All returns both families' intervals.
func (c Contents) All() []rules.Interval {
	return append(append([]rules.Interval(nil), c.V4...), c.V6...)
}

// Prefixes lists the membership as CIDR prefixes, IPv4 first.
func (c Contents) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, iv := range c.All() {
		if c.Hosts { // one line per host, as pfctl -T show prints them
			for a := iv.From; a.IsValid() && a.Compare(iv.To) <= 0 && len(out) < limitSetSize; a = a.Next() {
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
			}
			continue
		}
		out = append(out, prefixes(iv)...)
	}
	return out
}

// split separates prefixes by family into intervals.
func split(ps []netip.Prefix) Contents {
	var c Contents
	for _, p := range ps {
		if p.Addr().Is4() {
			c.V4 = union(c.V4, []rules.Interval{ivOf(p)})
		} else {
			c.V6 = union(c.V6, []rules.Interval{ivOf(p)})
		}
	}
	return c
}

// TableNames lists the pf tables loaded (from the sets' names), sorted.
func TableNames(conn *nftables.Conn) ([]string, error) {
	sets, err := conn.GetSets(Table)
	if err != nil {
		if isNoEnt(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading sets: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range sets {
		n, ok := strings.CutPrefix(s.Name, "t_")
		if !ok || !(strings.HasSuffix(n, "_4") || strings.HasSuffix(n, "_6")) {
			continue
		}
		n = n[:len(n)-2]
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadTable reads table name's contents.
func ReadTable(conn *nftables.Conn, name string) (Contents, error) {
	var c Contents
	for _, af := range []int{rules.AFInet, rules.AFInet6} {
		s, err := conn.GetSetByName(Table, rules.TableSetName(name, af))
		if err != nil {
			return c, ErrNoTable
		}
		els, err := conn.GetSetElements(s)
		if err != nil {
			return c, fmt.Errorf("reading table <%s>: %w", name, err)
		}
		var ivs []rules.Interval
		if !s.Interval {
			c.Hosts = true
			for _, e := range els {
				if a, ok := netip.AddrFromSlice(e.Key); ok {
					ivs = union(ivs, []rules.Interval{{From: a, To: a}})
				}
			}
		} else {
			keys := make([][]byte, len(els))
			ends := make([]bool, len(els))
			for i, e := range els {
				keys[i], ends[i] = e.Key, e.IntervalEnd
			}
			ivs = elemsToIntervals(keys, ends)
		}
		if af == rules.AFInet {
			c.V4 = ivs
		} else {
			c.V6 = ivs
		}
	}
	return c, nil
}

// WriteTable replaces table name's contents in one batch on conn (a
// fresh connection), creating the table's sets when create is set.
func WriteTable(conn *nftables.Conn, name string, c Contents, create bool) error {
	for _, af := range []int{rules.AFInet, rules.AFInet6} {
		ivs := c.V4
		if af == rules.AFInet6 {
			ivs = c.V6
		}
		var ents []rules.TableEntry
		if c.Hosts {
			for _, iv := range ivs {
				for a := iv.From; a.IsValid() && a.Compare(iv.To) <= 0 && len(ents) < limitSetSize; a = a.Next() {
					ents = append(ents, rules.TableEntry{Prefix: netip.PrefixFrom(a, a.BitLen())})
				}
			}
		} else {
			for _, iv := range ivs {
				for _, p := range prefixes(iv) {
					ents = append(ents, rules.TableEntry{Prefix: p})
				}
			}
		}
		set := &rules.Set{Name: rules.TableSetName(name, af), Key: keyOf(af), Interval: true,
			Elems: rules.IntervalElems(ents, af)}
		if c.Hosts {
			set = &rules.Set{Name: set.Name, Key: set.Key, Eval: true, Size: limitSetSize, Elems: rules.HostElems(ents, af)}
		}
		ns, elems := nfSet(set)
		if create {
			if err := addSet(conn, ns, nil); err != nil {
				return err
			}
		}
		conn.FlushSet(ns)
		if err := addElements(conn, ns, elems); err != nil {
			return err
		}
	}
	if err := conn.Flush(); err != nil {
		return &KernelError{Op: "table <" + name + ">", Err: err}
	}
	return nil
}

func keyOf(af int) int {
	if af == rules.AFInet6 {
		return rules.KeyIPv6
	}
	return rules.KeyIPv4
}

// ParseAddrs parses -T arguments: addresses and prefixes.
func ParseAddrs(args []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, a := range args {
		p, err := rules.ParseEntry(a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// TableResult is what a table command did, in pfctl's terms.
type TableResult struct {
	Created            bool
	Added, Deleted     int
	Matched, Requested int
}

// TableCommand carries out "-t name -T cmd args" (pfctl(8) -T add,
// delete, flush, replace, test) with fresh connections from dial: one to
// read, one for the atomic write.
func TableCommand(dial func() (*nftables.Conn, error), name, cmd string, args []netip.Prefix) (TableResult, error) {
	var res TableResult
	conn, err := dial()
	if err != nil {
		return res, err
	}
	cur, err := ReadTable(conn, name)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNoTable) {
		return res, err
	}
	if !exists && cmd != "add" && cmd != "replace" {
		return res, ErrNoTable
	}
	res.Requested = len(args)
	if cur.Hosts {
		for _, p := range args {
			if p.Bits() != p.Addr().BitLen() {
				return res, fmt.Errorf("%s: table <%s> is an overload table: it holds host addresses only on Linux", p, name)
			}
		}
	}
	next := cur
	switch cmd {
	case "test":
		for _, p := range args {
			if covers(cur.All(), p) {
				res.Matched++
			}
		}
		return res, nil
	case "add":
		for _, p := range args {
			if !covers(cur.All(), p) {
				res.Added++
			}
		}
		add := split(args)
		next = Contents{union(cur.V4, add.V4), union(cur.V6, add.V6), cur.Hosts}
	case "delete":
		for _, p := range args {
			if covers(cur.All(), p) {
				res.Deleted++
			}
		}
		del := split(args)
		next = Contents{subtract(cur.V4, del.V4), subtract(cur.V6, del.V6), cur.Hosts}
	case "flush":
		res.Deleted = len(cur.Prefixes())
		next = Contents{Hosts: cur.Hosts}
	case "replace":
		nw := split(args)
		for _, p := range args {
			if !covers(cur.All(), p) {
				res.Added++
			}
		}
		for _, p := range cur.Prefixes() {
			if !covers(nw.All(), p) {
				res.Deleted++
			}
		}
		next = nw
		next.Hosts = cur.Hosts
	default:
		return res, fmt.Errorf("-T %s: not supported", cmd)
	}
	if !exists {
		if _, err := conn.ListTableOfFamily(rules.TableName, nftables.TableFamilyINet); err != nil {
			return res, fmt.Errorf("no ruleset loaded")
		}
		res.Created = true
	}
	w, err := dial()
	if err != nil {
		return res, err
	}
	return res, WriteTable(w, name, next, !exists)
}

// limitSetSize bounds an overload table's sets (rules.limitSetSize).
const limitSetSize = 65535
