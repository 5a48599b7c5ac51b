package rules

import (
	"fmt"
	"strings"
)

// printAddr writes an address as pfctl's print_addr (pf_print_state.c)
// does: dynamic interfaces in parentheses with their modifiers, tables in
// angle brackets, ranges as "a - b", and a /bits suffix when the mask is
// shorter than the family's width.
func printAddr(w *strings.Builder, a *AddrWrap, af int) {
	switch a.Type {
	case AddrDynIfTL:
		w.WriteString("(" + a.IfName)
		if a.IFlags&IfNetwork != 0 {
			w.WriteString(":network")
		}
		if a.IFlags&IfBroadcast != 0 {
			w.WriteString(":broadcast")
		}
		if a.IFlags&IfPeer != 0 {
			w.WriteString(":peer")
		}
		if a.IFlags&IfNoAlias != 0 {
			w.WriteString(":0")
		}
		w.WriteString(")")
	case AddrTable:
		w.WriteString("<" + a.Table + ">")
		return
	case AddrRange:
		w.WriteString(a.Addr.String(af) + " - " + a.Mask.String(af))
		return
	case AddrMask:
		if a.Addr.IsZero() && a.Mask.IsZero() {
			w.WriteString("any")
		} else {
			w.WriteString(a.Addr.String(af))
		}
	case AddrNoRoute:
		w.WriteString("no-route")
		return
	case AddrURPFFailed:
		w.WriteString("urpf-failed")
		return
	case AddrRTLabel:
		fmt.Fprintf(w, "route \"%s\"", a.RTLabel)
		return
	default:
		w.WriteString("?")
		return
	}
	if !(a.Addr.IsZero() && a.Mask.IsZero()) {
		bits := a.Mask.Bits()
		full := 128
		if af == AFInet {
			full = 32
		}
		if bits < full {
			fmt.Fprintf(w, "/%d", bits)
		}
	}
}

// AddrString is printAddr into a string.
func AddrString(a *AddrWrap, af int) string {
	var w strings.Builder
	printAddr(&w, a, af)
	return w.String()
}

// printOp writes a port or id operator (print_op).
func printOp(w *strings.Builder, op int, a1, a2 string) {
	switch op {
	case OpIRG:
		fmt.Fprintf(w, " %s >< %s", a1, a2)
	case OpXRG:
		fmt.Fprintf(w, " %s <> %s", a1, a2)
	case OpEQ:
		fmt.Fprintf(w, " = %s", a1)
	case OpNE:
		fmt.Fprintf(w, " != %s", a1)
	case OpLT:
		fmt.Fprintf(w, " < %s", a1)
	case OpLE:
		fmt.Fprintf(w, " <= %s", a1)
	case OpGT:
		fmt.Fprintf(w, " > %s", a1)
	case OpGE:
		fmt.Fprintf(w, " >= %s", a1)
	case OpRRG:
		fmt.Fprintf(w, " %s:%s", a1, a2)
	}
}

// printPort writes " port <op>" (print_port); ports print as numbers.
func printPort(w *strings.Builder, op int, p1, p2 uint16) {
	w.WriteString(" port")
	printOp(w, op, fmt.Sprint(p1), fmt.Sprint(p2))
}

// printUGID writes a user or group match (print_ugid).
func printUGID(w *strings.Builder, m IDMatch, what string) {
	w.WriteString(" " + what)
	if m.A == 0xffffffff && (m.Op == OpEQ || m.Op == OpNE) {
		printOp(w, m.Op, "unknown", fmt.Sprint(m.B))
		return
	}
	printOp(w, m.Op, fmt.Sprint(m.A), fmt.Sprint(m.B))
}

const tcpFlags = "FSRPAUEW"

// printFlags writes TCP flag letters (print_flags).
func printFlags(w *strings.Builder, f uint8) {
	for i := 0; i < len(tcpFlags); i++ {
		if f&(1<<i) != 0 {
			w.WriteByte(tcpFlags[i])
		}
	}
}

// printFromTo writes " all" or " from … to …" (print_fromto).
func printFromTo(w *strings.Builder, r *Rule) {
	s, d := &r.Src, &r.Dst
	if s.Addr.Type == AddrMask && d.Addr.Type == AddrMask &&
		s.Addr.Addr.IsZero() && s.Addr.Mask.IsZero() &&
		d.Addr.Addr.IsZero() && d.Addr.Mask.IsZero() &&
		!s.Neg && !d.Neg && s.PortOp == 0 && d.PortOp == 0 && r.OS == "" {
		w.WriteString(" all")
		return
	}
	w.WriteString(" from ")
	if s.Neg {
		w.WriteString("! ")
	}
	printAddr(w, &s.Addr, r.AF)
	if s.PortOp != 0 {
		printPort(w, s.PortOp, s.Port[0], s.Port[1])
	}
	if r.OS != "" {
		fmt.Fprintf(w, " os \"%s\"", r.OS)
	}
	w.WriteString(" to ")
	if d.Neg {
		w.WriteString("! ")
	}
	printAddr(w, &d.Addr, r.AF)
	if d.PortOp != 0 {
		printPort(w, d.PortOp, d.Port[0], d.Port[1])
	}
}

// Pool kinds for printPool.
const (
	poolRoute = iota
	poolNat
	poolRdr
)

// printPool writes a translation or routing pool (print_pool).
func printPool(w *strings.Builder, p *Pool, p1, p2 uint16, af, id int) {
	if p.IfName != "" {
		if !p.Addr.Addr.IsZeroAF(af) {
			printAddr(w, &p.Addr, af)
			w.WriteString("@")
		}
		w.WriteString(p.IfName)
	} else {
		printAddr(w, &p.Addr, af)
	}
	switch id {
	case poolNat:
		if (p1 != NatProxyPortLow || p2 != NatProxyPortHigh) && (p1 != 0 || p2 != 0) {
			if p1 == p2 {
				fmt.Fprintf(w, " port %d", p1)
			} else {
				fmt.Fprintf(w, " port %d:%d", p1, p2)
			}
		}
	case poolRdr:
		if p1 != 0 {
			fmt.Fprintf(w, " port %d", p1)
			if p2 != 0 && p2 != p1 {
				fmt.Fprintf(w, ":%d", p2)
			}
		}
	}
	switch p.Opts & PoolTypeMask {
	case PoolBitmask:
		w.WriteString(" bitmask")
	case PoolRandom:
		w.WriteString(" random")
	case PoolSrcHash:
		fmt.Fprintf(w, " source-hash 0x%08x%08x%08x%08x", p.Key[0], p.Key[1], p.Key[2], p.Key[3])
	case PoolRoundRobin:
		w.WriteString(" round-robin")
	case PoolLeastStates:
		w.WriteString(" least-states")
	}
	if p.Opts&PoolStickyAddr != 0 {
		w.WriteString(" sticky-address")
	}
	if id == poolNat && p1 == 0 && p2 == 0 {
		w.WriteString(" static-port")
	}
}
