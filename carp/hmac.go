package carp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// KeyLen is CARP_KEY_LEN in sys/netinet/ip_carp.h: the kernel's key field
// is 20 bytes, of which ifconfig(8) fills at most 19 with strlcpy.
const KeyLen = 20

// HMACContext selects which of OpenBSD's two precomputed HMAC contexts to
// use (ip_carp.c: HMAC_ORIG and HMAC_NOV6LL; carp.md §2.4).
type HMACContext uint8

// HMAC contexts.
const (
	// NoV6LL skips IPv6 link-local addresses. OpenBSD sends with it
	// (carp_prepare_ad), and so do we.
	NoV6LL HMACContext = iota
	// Orig includes IPv6 link-local addresses with their scope bytes 2-3
	// zeroed. Older peers send with it; it is accepted on receipt.
	Orig
)

// String returns the kernel's name, "ORIG" or "NOV6LL".
func (c HMACContext) String() string {
	if c == Orig {
		return "ORIG"
	}
	return "NOV6LL"
}

// HMACInput is what one vhost's HMAC covers besides the counter: the
// inputs of carp_hmac_prepare_ctx in ip_carp.c (carp.md §2.2, §2.3).
// Netmasks, advbase, advskew and demote are not covered.
type HMACInput struct {
	// Pass is the passphrase; its first 19 bytes (up to a NUL) are the
	// key, the rest of the 20-byte key is zero (carp.md §2.1).
	Pass string
	VHID uint8
	// Addrs are all addresses of the carp interface, both families, in
	// any order; duplicates count once. Include IPv6 link-local addresses
	// if the interface has them: the Orig context hashes them.
	Addrs []netip.Addr
	// LLAddr is the carp interface's link-layer address; nil means the
	// virtual MAC 00:00:5e:00:01:<vhid>.
	LLAddr net.HardwareAddr
	// RealMAC is the carpdev's own MAC. An LLAddr equal to it is
	// "realmac" mode and is not hashed (carp_setrun sets sc_realmac).
	RealMAC net.HardwareAddr
}

// NewHMACInput returns the HMAC input of carp interface c; realMAC is the
// carpdev's MAC (nil if unknown).
func NewHMACInput(c Config, realMAC net.HardwareAddr) (HMACInput, error) {
	in := HMACInput{Pass: c.Pass, VHID: uint8(c.VHID), RealMAC: realMAC}
	if c.LLAddr != "" {
		ll, err := net.ParseMAC(c.LLAddr)
		if err != nil || len(ll) != 6 {
			return HMACInput{}, fmt.Errorf("carp: %s: lladdr %q: not an Ethernet address", c.Name, c.LLAddr)
		}
		in.LLAddr = ll
	}
	for _, a := range c.Addrs {
		in.Addrs = append(in.Addrs, a.Prefix.Addr())
	}
	return in, nil
}

// Key returns the 20-byte key as the kernel holds it: the passphrase up
// to its first NUL and at most 19 bytes, zero-padded (strlcpy into
// carpr_key).
func (in HMACInput) Key() [KeyLen]byte {
	var k [KeyLen]byte
	p := in.Pass
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	copy(k[:KeyLen-1], p)
	return k
}

// ComputeHMAC returns the HMAC-SHA1 that OpenBSD sends: carp_hmac_generate
// with the NOV6LL context over counter, the 8 bytes as they appear in the
// packet.
func ComputeHMAC(in HMACInput, counter [8]byte) [20]byte {
	return ComputeHMACContext(in, NoV6LL, counter)
}

// ComputeHMACContext returns the HMAC-SHA1 of in and counter in context
// ctx. Because a key shorter than SHA-1's 64-byte block is zero-padded by
// HMAC itself, RFC 2104 HMAC with the 20-byte key equals the kernel's
// hand-rolled ipad/opad construction.
func ComputeHMACContext(in HMACInput, ctx HMACContext, counter [8]byte) [20]byte {
	k := in.Key()
	h := hmac.New(sha1.New, k[:])
	h.Write(hmacMessage(in, ctx, counter))
	var md [20]byte
	h.Sum(md[:0])
	return md
}

// VerifyHMAC reports whether md authenticates in and counter in either
// context, NOV6LL first, then ORIG, each compared in constant time as
// carp_hmac_verify does.
func VerifyHMAC(in HMACInput, counter [8]byte, md [20]byte) bool {
	for _, ctx := range []HMACContext{NoV6LL, Orig} {
		want := ComputeHMACContext(in, ctx, counter)
		if hmac.Equal(want[:], md[:]) {
			return true
		}
	}
	return false
}

// hmacMessage is the byte string HMAC-SHA1 runs over (carp.md §2.2):
// version 2 and type 1 as whole bytes, the folded-in lladdr if any, the
// vhid, the IPv4 addresses ascending, the IPv6 addresses ascending and the
// counter.
func hmacMessage(in HMACInput, ctx HMACContext, counter [8]byte) []byte {
	msg := []byte{HeaderVersion, HeaderType}
	if foldLLAddr(in.VHID, in.LLAddr, in.RealMAC) {
		msg = append(msg, in.LLAddr...)
	}
	msg = append(msg, in.VHID)
	v4, v6 := hmacAddrs(in.Addrs, ctx)
	for _, a := range v4 {
		msg = append(msg, a[:]...)
	}
	for _, a := range v6 {
		msg = append(msg, a[:]...)
	}
	return append(msg, counter[:]...)
}

// VirtualMAC returns the virtual MAC of vhid, 00:00:5e:00:01:<vhid>
// (carp_set_vhe_enaddr, balancing none; carp.md §1.4).
func VirtualMAC(vhid uint8) net.HardwareAddr {
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, vhid}
}

// foldLLAddr reports whether carp_hmac_prepare_ctx hashes the carp lladdr:
// only when it is not the carpdev's own MAC (realmac) and differs from
// the virtual MAC. As carp_set_enaddr does, an lladdr that is all zeros
// or whose bytes 1-4 are the virtual MAC's (00:5e:00:01) is taken to be
// the virtual MAC itself, since the kernel replaces it by that.
func foldLLAddr(vhid uint8, ll, realmac net.HardwareAddr) bool {
	if len(ll) != 6 {
		return false
	}
	vmac := VirtualMAC(vhid)
	if bytes.Equal(ll[1:5], vmac[1:5]) || bytes.Equal(ll, make([]byte, 6)) {
		return false
	}
	return !bytes.Equal(ll, realmac)
}

// hmacAddrs returns the addresses carp_hmac_prepare_ctx hashes, sorted
// and without duplicates: IPv4 as unsigned 32-bit numbers, IPv6 by memcmp.
// Link-local IPv6 (the kernel's IN6_IS_SCOPE_EMBED) is skipped in NoV6LL
// and has bytes 2-3, the KAME scope, zeroed in Orig. The kernel's
// selection loop uses 0.0.0.0, 255.255.255.255, :: and ffff:...:ffff as
// sentinels, so those are never hashed; nor are they here.
func hmacAddrs(addrs []netip.Addr, ctx HMACContext) (v4 [][4]byte, v6 [][16]byte) {
	for _, a := range addrs {
		switch {
		case a.Is4():
			b := a.As4()
			if b == [4]byte{} || b == [4]byte{0xff, 0xff, 0xff, 0xff} {
				continue
			}
			v4 = append(v4, b)
		case a.Is6():
			b := a.As16()
			if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
				if ctx == NoV6LL {
					continue
				}
				b[2], b[3] = 0, 0
			}
			if b == [16]byte{} || b == allOnes16 {
				continue
			}
			v6 = append(v6, b)
		}
	}
	cmp4 := func(x, y [4]byte) int { return bytes.Compare(x[:], y[:]) }
	cmp16 := func(x, y [16]byte) int { return bytes.Compare(x[:], y[:]) }
	slices.SortFunc(v4, cmp4)
	slices.SortFunc(v6, cmp16)
	return slices.Compact(v4), slices.Compact(v6)
}

var allOnes16 = [16]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}
