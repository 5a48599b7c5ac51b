package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Matches: the packet tests of one rule, per address family (pf.conf(5)
// "PARAMETERS": af, proto, from/to, port, flags, icmp-type).

// addrField returns the payload of ip/ip6 saddr/daddr.
func addrField(af int, src bool) (off, ln uint32, kw string) {
	if af == AFInet {
		if src {
			return 12, 4, "ip saddr"
		}
		return 16, 4, "ip daddr"
	}
	if src {
		return 8, 16, "ip6 saddr"
	}
	return 24, 16, "ip6 daddr"
}

func loadAddr(af int, src bool) (*expr.Payload, string, uint32) {
	off, ln, kw := addrField(af, src)
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: ln}, kw, ln
}

// addrBytes is an address in network order for family af.
func addrBytes(a Addr16, af int) []byte {
	if af == AFInet {
		return append([]byte(nil), a[:4]...)
	}
	return append([]byte(nil), a[:]...)
}

// sAddrMask is "ip saddr 10.0.0.0/8" (payload, bitwise, cmp).
func sAddrMask(af int, src bool, a, m Addr16, neg bool) Stmt {
	p, kw, ln := loadAddr(af, src)
	full := int(ln) * 8
	bits := m.Bits()
	if bits > full {
		bits = full
	}
	op, t := cmpOp(neg)
	ex := []expr.Any{p}
	text := fmt.Sprintf("%s %s%s", kw, t, a.And(m).String(af))
	if bits < full {
		ex = append(ex, &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: ln,
			Mask: addrBytes(m, af), Xor: make([]byte, ln)})
		text += fmt.Sprintf("/%d", bits)
	}
	ex = append(ex, &expr.Cmp{Op: op, Register: reg, Data: addrBytes(a.And(m), af)})
	return Stmt{text, ex}
}

// sAddrRange is "ip saddr A-B".
func sAddrRange(af int, src bool, a, b Addr16, neg bool) Stmt {
	p, kw, _ := loadAddr(af, src)
	op, t := cmpOp(neg)
	return Stmt{fmt.Sprintf("%s %s%s-%s", kw, t, a.String(af), b.String(af)), []expr.Any{
		p, &expr.Range{Op: op, Register: reg, FromData: addrBytes(a, af), ToData: addrBytes(b, af)},
	}}
}

// sAddrSet is "ip saddr @SET" (or != @SET).
func sAddrSet(af int, src bool, set string, neg bool) Stmt {
	p, kw, _ := loadAddr(af, src)
	_, t := cmpOp(neg)
	return Stmt{fmt.Sprintf("%s %s@%s", kw, t, set), []expr.Any{
		p, &expr.Lookup{SourceRegister: reg, SetName: set, Invert: neg},
	}}
}

// sFibMissing is "fib saddr oif missing" (no-route) or, with iif,
// "fib saddr . iif oif missing" (urpf-failed): nft_fib with
// NFTA_FIB_F_PRESENT.
func sFibMissing(src, iif, neg bool) Stmt {
	f := &expr.Fib{Register: reg, ResultOIF: true, FlagPRESENT: true, FlagSADDR: src, FlagDADDR: !src, FlagIIF: iif}
	kw := "daddr"
	if src {
		kw = "saddr"
	}
	if iif {
		kw += " . iif"
	}
	v := byte(0)
	t := "missing"
	if neg {
		v, t = 1, "exists"
	}
	return Stmt{fmt.Sprintf("fib %s oif %s", kw, t), []expr.Any{
		f, &expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{v, 0, 0, 0}},
	}}
}

// portKeyword is the nft protocol keyword for a port match.
func portKeyword(proto int) string {
	if proto == unix.IPPROTO_UDP {
		return "udp"
	}
	return "tcp"
}

// sPorts renders a pf port operator (print_port / pf_match_port) as
// one or two matches on the transport header.
func sPorts(proto int, src bool, op int, p1, p2 uint16) []Stmt {
	off, kw := uint32(2), portKeyword(proto)+" dport"
	if src {
		off, kw = 0, portKeyword(proto)+" sport"
	}
	load := func() *expr.Payload {
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}
	}
	cmp := func(o expr.CmpOp, sym string, v uint16) Stmt {
		return Stmt{fmt.Sprintf("%s %s%d", kw, sym, v), []expr.Any{load(), &expr.Cmp{Op: o, Register: reg, Data: be16(v)}}}
	}
	rng := func(neg bool, a, b uint16) Stmt {
		o, t := cmpOp(neg)
		return Stmt{fmt.Sprintf("%s %s%d-%d", kw, t, a, b), []expr.Any{load(), &expr.Range{Op: o, Register: reg, FromData: be16(a), ToData: be16(b)}}}
	}
	switch op {
	case OpEQ:
		return []Stmt{cmp(expr.CmpOpEq, "", p1)}
	case OpNE:
		return []Stmt{cmp(expr.CmpOpNeq, "!= ", p1)}
	case OpLT:
		return []Stmt{cmp(expr.CmpOpLt, "< ", p1)}
	case OpLE:
		return []Stmt{cmp(expr.CmpOpLte, "<= ", p1)}
	case OpGT:
		return []Stmt{cmp(expr.CmpOpGt, "> ", p1)}
	case OpGE:
		return []Stmt{cmp(expr.CmpOpGte, ">= ", p1)}
	case OpRRG:
		return []Stmt{rng(false, p1, p2)}
	case OpXRG:
		return []Stmt{rng(true, p1, p2)}
	case OpIRG:
		return []Stmt{cmp(expr.CmpOpGt, "> ", p1), cmp(expr.CmpOpLt, "< ", p2)}
	}
	return nil
}

var tcpFlagNames = []string{"fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"}

func flagText(f uint8) string {
	var names []string
	for i, n := range tcpFlagNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "0x0"
	}
	if len(names) == 1 {
		return names[0]
	}
	return "(" + strings.Join(names, "|") + ")"
}

// sTCPFlags is "tcp flags & (syn|ack) == syn": pf's "flags S/SA" (the
// flag letters FSRPAUEW are the TCP header bits in order).
func sTCPFlags(flags, set uint8) Stmt {
	return Stmt{fmt.Sprintf("tcp flags & %s == %s", flagText(set), flagText(flags)), []expr.Any{
		&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 1, Mask: []byte{set}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{flags}},
	}}
}

// sICMP is "icmp type T" / "icmp code C" (icmpv6 for proto 58).
func sICMP(proto int, code bool, v int) Stmt {
	kw := "icmp"
	if proto == unix.IPPROTO_ICMPV6 {
		kw = "icmpv6"
	}
	off, what := uint32(0), "type"
	if code {
		off, what = 1, "code"
	}
	return Stmt{fmt.Sprintf("%s %s %d", kw, what, v), []expr.Any{
		&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{byte(v)}},
	}}
}

// sICMPNot is "icmp type != T" (icmpv6 for proto 58).
func sICMPNot(proto, v int) Stmt {
	kw := "icmp"
	if proto == unix.IPPROTO_ICMPV6 {
		kw = "icmpv6"
	}
	return Stmt{fmt.Sprintf("%s type != %d", kw, v), []expr.Any{
		&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg, Data: []byte{byte(v)}},
	}}
}

// prefixOf converts an address and mask in pf's layout to a prefix.
func prefixOf(a, m Addr16, af int) netip.Prefix {
	if af == AFInet {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]}), min(m.Bits(), 32)).Masked()
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), m.Bits()).Masked()
}
