// Package nftload loads a compiled pf ruleset (rules.Program) into the
// kernel's nftables in one atomic netlink batch, reads it back, and
// carries out pfctl's runtime commands on it (tables, enable/disable,
// counters). It touches only table "inet pfconf" (rules.TableName).
//
// Atomicity (reference §2.14): the whole table is deleted and created
// again in one batch (NFNL_MSG_BATCH_BEGIN ... END), which the kernel
// commits completely or not at all. github.com/google/nftables v0.3.0 can
// leave a partial batch queued after a marshalling error, so Load builds
// every message first and sends nothing if any step failed; callers pass
// a fresh Conn per load.
package nftload

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"

	"carpfw/rules"
)

// Table is the nftables table pfconf owns.
var Table = &nftables.Table{Family: nftables.TableFamilyINet, Name: rules.TableName}

// LoadOptions modify a load.
type LoadOptions struct {
	// Disabled loads the ruleset with empty base chains (pfctl -f while
	// pf is disabled keeps it disabled).
	Disabled bool
}

// Load replaces pfconf's table with prog in one batch on conn. On any
// error nothing is sent, or the kernel rejected the whole batch; either
// way the running ruleset is unchanged.
func Load(conn *nftables.Conn, prog *rules.Program, lo LoadOptions) error {
	if prog.Rejects {
		if err := reflectMarks(); err != nil {
			return err
		}
	}
	if err := queue(conn, prog, lo); err != nil {
		return fmt.Errorf("building the batch: %w", err)
	}
	if err := conn.Flush(); err != nil {
		return &KernelError{Op: "loading the ruleset", Err: err}
	}
	return nil
}

// KernelError is a batch the kernel refused. The kernel answers every
// message of a failed batch; Error shows the first answer only.
type KernelError struct {
	Op  string
	Err error
}

func (e *KernelError) Error() string {
	msg := e.Err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimPrefix(msg, "conn.Receive: ")
	msg = strings.TrimPrefix(msg, "netlink receive: ")
	return e.Op + ": " + msg
}

func (e *KernelError) Unwrap() error { return e.Err }

// queue buffers the messages of a load on conn.
func queue(conn *nftables.Conn, prog *rules.Program, lo LoadOptions) error {
	conn.AddTable(Table)
	conn.DelTable(Table)
	conn.AddTable(Table)
	for _, n := range prog.Counters {
		conn.AddObj(&nftables.CounterObj{Table: Table, Name: n})
	}
	chains := map[string]*nftables.Chain{}
	for _, ch := range prog.Chains {
		chains[ch.Name] = conn.AddChain(nfChain(ch))
	}
	sets := map[string]*nftables.Set{}
	for _, s := range prog.Sets {
		ns, elems := nfSet(s)
		if s.Anonymous {
			// Anonymous sets take their (few) elements with them.
			if err := addSet(conn, ns, elems); err != nil {
				return fmt.Errorf("set %s: %w", s.Name, err)
			}
			sets[s.Name] = ns
			continue
		}
		if err := addSet(conn, ns, nil); err != nil {
			return fmt.Errorf("set %s: %w", s.Name, err)
		}
		if err := addElements(conn, ns, elems); err != nil {
			return fmt.Errorf("set %s: %w", s.Name, err)
		}
		sets[s.Name] = ns
	}
	for _, ch := range prog.Chains {
		if lo.Disabled && ch.Hook != nil {
			continue
		}
		for _, r := range ch.Rules {
			ex, err := exprs(r, sets)
			if err != nil {
				return fmt.Errorf("chain %s: %w", ch.Name, err)
			}
			nr := &nftables.Rule{Table: Table, Chain: chains[ch.Name], Exprs: ex}
			if r.Comment != "" {
				nr.UserData = userdata.AppendString(nil, userdata.TypeComment, rules.CommentText(r.Comment))
			}
			conn.AddRule(nr)
		}
	}
	return nil
}

// elemChunk is how many set elements go in one message: the element
// list is one netlink attribute, whose length field has 16 bits, so a
// long list must be split (an interval's start and end stay together).
const elemChunk = 1024

// addElements queues elems in messages of at most elemChunk elements.
func addElements(conn *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) error {
	for len(elems) > 0 {
		n := min(elemChunk, len(elems))
		if n < len(elems) && elems[n].IntervalEnd {
			n++
		}
		if err := conn.SetAddElements(s, elems[:n]); err != nil {
			return err
		}
		elems = elems[n:]
	}
	return nil
}

// nfChain converts a chain; base chains get policy accept.
func nfChain(ch *rules.Chain) *nftables.Chain {
	c := &nftables.Chain{Name: ch.Name, Table: Table}
	if h := ch.Hook; h != nil {
		prio := nftables.ChainPriority(h.Priority)
		pol := nftables.ChainPolicyAccept
		c.Hooknum, c.Priority, c.Type, c.Policy = h.Hooknum, &prio, h.Type, &pol
	}
	return c
}

// nfSet converts a set and its elements (interval sets: a start element
// and an IntervalEnd element at the exclusive end).
func nfSet(s *rules.Set) (*nftables.Set, []nftables.SetElement) {
	ns := &nftables.Set{Table: Table, Name: s.Name, Interval: s.Interval, Constant: s.Const, Anonymous: s.Anonymous,
		Dynamic: s.Eval, Size: s.Size, HasTimeout: s.Timeout > 0, Timeout: s.Timeout}
	switch {
	case s.AddrMap:
		ns.KeyType, ns.KeyByteOrder, ns.IsMap, ns.DataType = nftables.TypeInteger, binaryutil.NativeEndian, true, nftables.TypeIPAddr
		if s.DataIPv6 {
			ns.DataType = nftables.TypeIP6Addr
		}
	case s.Map:
		ns.KeyType, ns.IsMap, ns.DataType = nftables.TypeMark, true, nftables.TypeVerdict
		ns.KeyByteOrder = binaryutil.NativeEndian
	case s.Key == rules.KeyIPv6:
		ns.KeyType = nftables.TypeIP6Addr
	case s.Key == rules.KeyIPv4:
		ns.KeyType = nftables.TypeIPAddr
	default:
		ns.KeyType = nftables.TypeMark
	}
	elems := make([]nftables.SetElement, 0, 2*len(s.Elems))
	for _, e := range s.Elems {
		el := nftables.SetElement{Key: e.Key, Val: e.Val}
		if e.Goto != "" {
			el.VerdictData = &expr.Verdict{Kind: expr.VerdictGoto, Chain: e.Goto}
		}
		elems = append(elems, el)
		if e.End != nil {
			elems = append(elems, nftables.SetElement{Key: e.End, IntervalEnd: true})
		}
	}
	return ns, elems
}

// exprs flattens a rule's statements, binding the set look-ups and
// dynamic set updates to the sets created in the same batch
// (NFTA_LOOKUP_SET_ID, NFTA_DYNSET_SET_ID).
func exprs(r *rules.NRule, sets map[string]*nftables.Set) ([]expr.Any, error) {
	var out []expr.Any
	bind := func(name string) (*nftables.Set, error) {
		if s := sets[name]; s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("rule %q: no set %s", r.Text(), name)
	}
	for _, st := range r.Stmts {
		for _, e := range st.Exprs {
			switch x := e.(type) {
			case *expr.Lookup:
				s, err := bind(x.SetName)
				if err != nil {
					return nil, err
				}
				cp := *x
				cp.SetID, cp.SetName = s.ID, s.Name
				e = &cp
			case *expr.Dynset:
				s, err := bind(x.SetName)
				if err != nil {
					return nil, err
				}
				cp := *x
				cp.SetID, cp.SetName = s.ID, s.Name
				e = &cp
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// reflectMarks makes the RSTs and ICMP errors the kernel generates carry
// the mark of the packet they answer (net.ipv4.fwmark_reflect,
// net.ipv6.fwmark_reflect in the caller's network namespace), so that
// the replies of block return rules (rules.MarkReply) leave unfiltered.
// A namespace without IPv6 has no IPv6 setting to change.
func reflectMarks() error {
	for _, f := range []string{"/proc/sys/net/ipv4/fwmark_reflect", "/proc/sys/net/ipv6/fwmark_reflect"} {
		if b, err := os.ReadFile(f); err == nil && strings.TrimSpace(string(b)) == "1" {
			continue
		}
		if err := os.WriteFile(f, []byte("1\n"), 0o644); err != nil && !(os.IsNotExist(err) && strings.Contains(f, "ipv6")) {
			return fmt.Errorf("block return needs %s: %w", f, err)
		}
	}
	return nil
}
