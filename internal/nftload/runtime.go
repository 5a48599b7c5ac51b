package nftload

import (
	"fmt"

	"github.com/google/nftables"

	"carpfw/rules"
)

// Counters reads pfconf's named counters (packets, bytes) by name.
func Counters(conn *nftables.Conn) (map[string][2]uint64, error) {
	objs, err := conn.GetObjects(Table)
	if err != nil {
		if isNoEnt(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading counters: %w", err)
	}
	out := map[string][2]uint64{}
	for _, o := range objs {
		if c, ok := o.(*nftables.CounterObj); ok {
			out[c.Name] = [2]uint64{c.Packets, c.Bytes}
		}
	}
	return out, nil
}

// SetEnabled switches filtering on or off without touching the ruleset
// (pfctl -e/-d): the base chains get back, or lose, their jumps into
// the pass chains, in one batch on conn.
func SetEnabled(conn *nftables.Conn, on bool) error {
	for _, ch := range rules.BaseRules() {
		nc := &nftables.Chain{Name: ch.Name, Table: Table}
		conn.FlushChain(nc)
		if !on {
			continue
		}
		for _, r := range ch.Rules {
			ex, err := exprs(r, nil)
			if err != nil {
				return err
			}
			conn.AddRule(&nftables.Rule{Table: Table, Chain: nc, Exprs: ex})
		}
	}
	if err := conn.Flush(); err != nil {
		return &KernelError{Op: "switching pf", Err: err}
	}
	return nil
}

// Flush deletes pfconf's table (pfctl -F all); it reports whether there
// was one.
func Flush(dial func() (*nftables.Conn, error)) (bool, error) {
	st, err := Status(dial)
	if err != nil || !st.Loaded {
		return false, err
	}
	conn, err := dial()
	if err != nil {
		return false, err
	}
	conn.DelTable(Table)
	if err := conn.Flush(); err != nil {
		return false, &KernelError{Op: "flushing", Err: err}
	}
	return true, nil
}
