package nftload

import (
	"net/netip"

	"github.com/google/nftables"

	"carpfw/rules"
)

// DynSet is one (if) set of a loaded program: which interface and
// modifiers fill it.
type DynSet struct {
	Set   string `json:"set"`
	If    string `json:"if"`
	Flags int    `json:"flags"`
	V6    bool   `json:"v6,omitempty"`
}

// DynSets lists the (if) sets of a program.
func DynSets(prog *rules.Program) []DynSet {
	var out []DynSet
	for _, s := range prog.Sets {
		if s.Dynamic != "" {
			out = append(out, DynSet{s.Name, s.Dynamic, s.DynFlags, s.Key == rules.KeyIPv6})
		}
	}
	return out
}

// RefreshDynamic rewrites the (if) sets from the interfaces' current
// addresses (ifAddrs; nil asks the kernel), in one batch on conn: what
// pf does when an interface's address changes. A watcher that calls it
// on address events is not built yet.
func RefreshDynamic(conn *nftables.Conn, sets []DynSet, ifAddrs func(string) []netip.Prefix) error {
	if ifAddrs == nil {
		ifAddrs = KernelIfAddrs
	}
	for _, d := range sets {
		af, key := rules.AFInet, rules.KeyIPv4
		if d.V6 {
			af, key = rules.AFInet6, rules.KeyIPv6
		}
		var ents []rules.TableEntry
		for _, p := range rules.IfPrefixes(ifAddrs(d.If), d.Flags) {
			ents = append(ents, rules.TableEntry{Prefix: p})
		}
		ns, elems := nfSet(&rules.Set{Name: d.Set, Key: key, Interval: true, Elems: rules.IntervalElems(ents, af)})
		conn.FlushSet(ns)
		if err := addElements(conn, ns, elems); err != nil {
			return err
		}
	}
	if err := conn.Flush(); err != nil {
		return &KernelError{Op: "refreshing interface addresses", Err: err}
	}
	return nil
}
