package rules

import (
	"math/bits"
	"net/netip"
)

// Addr16 holds an IPv4 (first four bytes) or IPv6 address or mask, as
// struct pf_addr does.
type Addr16 [16]byte

// IsZero reports whether all 128 bits are zero (PF_AZERO for AF_INET6).
func (a Addr16) IsZero() bool { return a == Addr16{} }

// IsZeroAF is PF_AZERO for af; it is false when af is unspecified.
func (a Addr16) IsZeroAF(af int) bool {
	switch af {
	case AFInet:
		return a[0]|a[1]|a[2]|a[3] == 0
	case AFInet6:
		return a.IsZero()
	}
	return false
}

// Bits counts the one bits of a mask (pfctl's unmask).
func (a Addr16) Bits() int {
	n := 0
	for _, b := range a {
		n += bits.OnesCount8(b)
	}
	return n
}

// MaskOf returns a mask of the given prefix length.
func MaskOf(n int) Addr16 {
	var m Addr16
	for i := 0; i < n && i < 128; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// And masks a with m.
func (a Addr16) And(m Addr16) Addr16 {
	for i := range a {
		a[i] &= m[i]
	}
	return a
}

// FromNetip stores ip in pf's layout.
func FromNetip(ip netip.Addr) Addr16 {
	var a Addr16
	if ip.Is4() {
		b := ip.As4()
		copy(a[:4], b[:])
	} else {
		a = ip.As16()
	}
	return a
}

// String renders a in family af as inet_ntop does.
func (a Addr16) String(af int) string {
	if af == AFInet {
		return netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]}).String()
	}
	return netip.AddrFrom16(a).String()
}

// Address types (PF_ADDR_*).
const (
	AddrMask = iota
	AddrNoRoute
	AddrDynIfTL
	AddrTable
	AddrRTLabel
	AddrURPFFailed
	AddrRange
	AddrNone
)

// Interface address flags (PFI_AFLAG_*).
const (
	IfNetwork   = 0x01
	IfBroadcast = 0x02
	IfPeer      = 0x04
	IfModeMask  = 0x07
	IfNoAlias   = 0x08
)

// AddrWrap is struct pf_addr_wrap: an address with mask, a range, an
// interface name, a table, a route label or a keyword.
type AddrWrap struct {
	Type    int
	Addr    Addr16
	Mask    Addr16 // end address for ranges
	IfName  string
	IFlags  int
	Table   string
	RTLabel string
}

// RuleAddr is one side of a rule (struct pf_rule_addr).
type RuleAddr struct {
	Addr   AddrWrap
	Neg    bool
	Port   [2]uint16
	PortOp int
}

// Pool is a translation or routing pool (struct pf_pool).
type Pool struct {
	Addr      AddrWrap
	IfName    string
	ProxyPort [2]uint16
	PortOp    int
	Opts      int
	Key       [4]uint32
}
