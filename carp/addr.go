package carp

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Default prefix lengths when an address comes without a mask: a host route
// for IPv4 (as Linux's ip(8) does) and /64 for IPv6 (ifconfig(8)'s default).
const (
	defaultPrefix4 = 32
	defaultPrefix6 = 64
)

// parseAddr reads an address operand after the word "inet" or "inet6":
//
//	inet  [alias | -alias | delete] addr[/len] [[netmask] mask] [[broadcast] addr | NONE]
//	inet6 [alias | -alias | delete] addr[/len] [[prefixlen] len]
//
// The bare mask and broadcast forms are hostname.if(5)'s positional ones;
// "NONE" stands for the default broadcast address. It returns the number of
// words consumed from rest.
func parseAddr(family string, rest []string) (AddrOp, int, error) {
	op := AddrOp{Mode: AddrSet}
	if family == "inet6" {
		op.Mode = AddrAlias // IPv6 addresses are always added
	}
	n := 0
	next := func() (string, bool) {
		if n < len(rest) {
			return rest[n], true
		}
		return "", false
	}
	if w, ok := next(); ok {
		switch w {
		case "alias":
			op.Mode, n = AddrAlias, n+1
		case "-alias", "delete":
			op.Mode, n = AddrDelete, n+1
		}
	}
	w, ok := next()
	if !ok {
		return op, 0, fmt.Errorf("%s: address expected", family)
	}
	n++
	addr, plen, err := parseAddrWord(family, w)
	if err != nil {
		return op, 0, err
	}
	if family == "inet" {
		if w, ok := next(); ok && w == "netmask" {
			n++
			m, ok := next()
			if !ok {
				return op, 0, fmt.Errorf("netmask: argument expected")
			}
			if plen, err = maskLen(m); err != nil {
				return op, 0, err
			}
			n++
		} else if ok && plen < 0 && looksLikeMask(w) {
			if plen, err = maskLen(w); err != nil {
				return op, 0, err
			}
			n++
		}
		if w, ok := next(); ok && (w == "broadcast" || w == "NONE" || (isAddr(w) && netip.MustParseAddr(w).Is4())) {
			n++
			if w == "broadcast" {
				b, ok := next()
				if !ok {
					return op, 0, fmt.Errorf("broadcast: argument expected")
				}
				w = b
				n++
			}
			if !strings.HasSuffix(w, "NONE") {
				b, err := netip.ParseAddr(w)
				if err != nil || !b.Is4() {
					return op, 0, fmt.Errorf("broadcast %s: invalid address", w)
				}
				op.Address.Broadcast = b
			}
		}
		if plen < 0 {
			plen = defaultPrefix4
		}
	} else {
		if w, ok := next(); ok && w == "prefixlen" {
			n++
			l, ok := next()
			if !ok {
				return op, 0, fmt.Errorf("prefixlen: argument expected")
			}
			if plen, err = prefixLen(l, 128); err != nil {
				return op, 0, err
			}
			n++
		} else if ok && plen < 0 {
			if l, err := prefixLen(w, 128); err == nil {
				plen, n = l, n+1
			}
		}
		if plen < 0 {
			plen = defaultPrefix6
		}
	}
	op.Address.Prefix = netip.PrefixFrom(addr, plen)
	return op, n, nil
}

// parseAddrWord parses "addr" or "addr/len"; len is -1 when absent.
func parseAddrWord(family, w string) (netip.Addr, int, error) {
	s, l, hasLen := strings.Cut(w, "/")
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || (family == "inet") != a.Is4() {
		return netip.Addr{}, 0, fmt.Errorf("%s %s: invalid address", family, w)
	}
	if !hasLen {
		return a, -1, nil
	}
	n, err := prefixLen(l, a.BitLen())
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%s %s: %v", family, w, err)
	}
	return a, n, nil
}

func prefixLen(s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("prefixlen %s: invalid", s)
	}
	if n > max {
		return 0, fmt.Errorf("prefixlen %s: too large", s)
	}
	return n, nil
}

// looksLikeMask reports whether w is written as a netmask (dotted quad or
// hexadecimal "0xffffff00") rather than as another keyword.
func looksLikeMask(w string) bool {
	if strings.HasPrefix(w, "0x") {
		return true
	}
	a, err := netip.ParseAddr(w)
	return err == nil && a.Is4()
}

// maskLen converts a contiguous IPv4 netmask to a prefix length.
func maskLen(w string) (int, error) {
	var m uint32
	if h, ok := strings.CutPrefix(w, "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return 0, fmt.Errorf("netmask %s: invalid", w)
		}
		m = uint32(v)
	} else {
		a, err := netip.ParseAddr(w)
		if err != nil || !a.Is4() {
			return 0, fmt.Errorf("netmask %s: invalid", w)
		}
		b := a.As4()
		m = binary.BigEndian.Uint32(b[:])
	}
	l := bits.LeadingZeros32(^m)
	if m<<l != 0 {
		return 0, fmt.Errorf("netmask %s: not contiguous", w)
	}
	return l, nil
}
