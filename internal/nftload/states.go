package nftload

import (
	"fmt"
	"net/netip"

	"github.com/ti-mo/conntrack"

	"carpfw/rules"
)

// PFState is one pf state as pfctl -s states prints it, reconstructed from
// a conntrack entry (reference §2.4, §3.2): a connection with the
// CtInState mark bit has an inbound state, with CtOutState an outbound
// one (CtInStateReply and CtOutStateReply: kept by a reply-direction
// packet); a forwarded connection usually has both, like pf.
type PFState struct {
	Proto string
	Line  string // without the interface column
}

// States dumps conntrack in the calling thread's namespace and returns
// pfconf's states.
func States() ([]PFState, error) {
	c, err := conntrack.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("conntrack: %w", err)
	}
	defer c.Close()
	flows, err := c.Dump(nil)
	if err != nil {
		return nil, fmt.Errorf("conntrack dump: %w", err)
	}
	var out []PFState
	for _, f := range flows {
		out = append(out, FlowStates(f)...)
	}
	return out, nil
}

// CountStates counts conntrack entries that carry a pf state.
func CountStates() (int, error) {
	st, err := States()
	return len(st), err
}

// FlowStates maps one conntrack entry to its pf states.
func FlowStates(f conntrack.Flow) []PFState {
	var out []PFState
	o, r := f.TupleOrig, f.TupleReply
	proto := protoName(o.Proto.Protocol)
	states := stateNames(f)
	// A state kept by a reply-direction packet is keyed on that
	// direction: the tuples swap roles.
	for _, k := range []struct {
		in, out uint32
		o, r    conntrack.Tuple
	}{{rules.CtInState, rules.CtOutState, o, r}, {rules.CtInStateReply, rules.CtOutStateReply, r, o}} {
		o, r := k.o, k.r
		if f.Mark&k.in != 0 {
			// Inbound: D' (D) <- S.
			a := hostPair(r.IP.SourceAddress, port(r.Proto, true), o.IP.DestinationAddress, port(o.Proto, false))
			b := host(o.IP.SourceAddress, port(o.Proto, true))
			out = append(out, PFState{proto, fmt.Sprintf("%s %s <- %s       %s", proto, a, b, states)})
		}
		if f.Mark&k.out != 0 {
			// Outbound: S' (S) -> D'.
			a := hostPair(r.IP.DestinationAddress, port(r.Proto, false), o.IP.SourceAddress, port(o.Proto, true))
			b := host(r.IP.SourceAddress, port(r.Proto, true))
			out = append(out, PFState{proto, fmt.Sprintf("%s %s -> %s       %s", proto, a, b, states)})
		}
	}
	return out
}

func port(p conntrack.ProtoTuple, src bool) uint16 {
	if p.ICMPv4 || p.ICMPv6 {
		return p.ICMPID
	}
	if src {
		return p.SourcePort
	}
	return p.DestinationPort
}

// host prints an address as pfctl does: a.b.c.d:port, or addr[port].
func host(a netip.Addr, p uint16) string {
	switch {
	case p == 0:
		return a.String()
	case a.Is4():
		return fmt.Sprintf("%s:%d", a, p)
	}
	return fmt.Sprintf("%s[%d]", a, p)
}

// hostPair prints the translated host and, when it differs, the original
// in parentheses.
func hostPair(a netip.Addr, ap uint16, orig netip.Addr, op uint16) string {
	s := host(a, ap)
	if a != orig || ap != op {
		s += " (" + host(orig, op) + ")"
	}
	return s
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmp6"
	case 112:
		return "carp"
	case 240:
		return "pfsync"
	}
	return fmt.Sprint(p)
}

// stateNames approximates pf's per-peer state names from conntrack's
// single TCP state (nf_conntrack_tcp.h TCP_CONNTRACK_*), or from whether
// a reply was seen.
func stateNames(f conntrack.Flow) string {
	switch f.TupleOrig.Proto.Protocol {
	case 6:
		st := uint8(0)
		if f.ProtoInfo.TCP != nil {
			st = f.ProtoInfo.TCP.State
		}
		switch st {
		case 1:
			return "SYN_SENT:CLOSED"
		case 2, 9:
			return "SYN_SENT:SYN_SENT"
		case 3:
			return "ESTABLISHED:ESTABLISHED"
		case 4:
			return "FIN_WAIT_2:ESTABLISHED"
		case 5:
			return "ESTABLISHED:FIN_WAIT_2"
		case 6:
			return "FIN_WAIT_2:FIN_WAIT_2"
		case 7:
			return "TIME_WAIT:TIME_WAIT"
		}
		return "CLOSED:CLOSED"
	case 1, 58:
		return "0:0"
	}
	if f.Status.SeenReply() {
		return "MULTIPLE:MULTIPLE"
	}
	return "SINGLE:NO_TRAFFIC"
}

// FlushStates deletes the conntrack entries that carry a pf state
// (pfctl -F states) and returns how many there were; connections Linux
// tracks without a pf state are left alone.
func FlushStates() (int, error) {
	c, err := conntrack.Dial(nil)
	if err != nil {
		return 0, fmt.Errorf("conntrack: %w", err)
	}
	defer c.Close()
	flows, err := c.Dump(nil)
	if err != nil {
		return 0, fmt.Errorf("conntrack dump: %w", err)
	}
	n := 0
	for _, f := range flows {
		k := len(FlowStates(f))
		if k == 0 {
			continue
		}
		if err := c.Delete(f); err != nil {
			return n, fmt.Errorf("conntrack delete: %w", err)
		}
		n += k
	}
	return n, nil
}
