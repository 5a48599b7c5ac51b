package nftload

import (
	"net/netip"

	"github.com/google/nftables"

	"carpfw/internal/hostinv"
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

// DynSetPrefixes resolves the addresses set d holds now: its interface,
// or its group's members, with d's modifiers, in d's family.
func DynSetPrefixes(d DynSet, groups func(string) ([]string, bool), ifAddrs func(string) []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range rules.DynPrefixes(d.If, d.Flags, groups, ifAddrs) {
		if p.Addr().Is6() == d.V6 {
			out = append(out, p)
		}
	}
	return out
}

// RefreshDynamic rewrites the (if) sets from the interfaces' current
// addresses (groups and ifAddrs; nil asks the kernel), in one batch on
// conn: what pf does when an interface's address changes. The Watcher
// calls it on address, link and route events.
func RefreshDynamic(conn *nftables.Conn, sets []DynSet, groups func(string) ([]string, bool), ifAddrs func(string) []netip.Prefix) error {
	if ifAddrs == nil {
		ifAddrs = KernelIfAddrs
	}
	if groups == nil {
		groups = HostGroups(hostinv.FromEnv())
	}
	for _, d := range sets {
		af, key := rules.AFInet, rules.KeyIPv4
		if d.V6 {
			af, key = rules.AFInet6, rules.KeyIPv6
		}
		var ents []rules.TableEntry
		for _, p := range DynSetPrefixes(d, groups, ifAddrs) {
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
