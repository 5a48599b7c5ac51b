package carp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Header constants of sys/netinet/ip_carp.h.
const (
	HeaderLen     = 36  // sizeof(struct carp_header)
	HeaderVersion = 2   // CARP_VERSION
	HeaderType    = 1   // CARP_ADVERTISEMENT
	HeaderAuthLen = 7   // carp_authlen: (8-byte counter + 20-byte HMAC) / 4
	DefaultTTL    = 255 // CARP_DFLTTL: IPv4 TTL and IPv6 hop limit, sent and required
	IPProto       = 112 // IPPROTO_CARP
	BowOut        = 255 // advbase and advskew of a bow-out advertisement (carp.md §3.6)

	offsetChecksum = 6
	offsetCounter  = 8
	offsetHMAC     = 16
)

// Decoding errors of UnmarshalBinary. Each one is what OpenBSD's
// carp_proto_input_if and carp_proto_input_c count in struct carpstats, so
// the worker can keep the same statistics (carp.md §1.6).
var (
	// ErrTooShort: fewer than HeaderLen bytes (carps_badlen). It matches
	// io.ErrUnexpectedEOF with errors.Is.
	ErrTooShort = fmt.Errorf("carp: packet too short: %w", io.ErrUnexpectedEOF)
	// ErrBadChecksum: the Internet checksum of the 36 bytes is not zero
	// (carps_badsum).
	ErrBadChecksum = errors.New("carp: checksum failed")
	// ErrBadVersion: the version nibble is not 2 (carps_badver).
	ErrBadVersion = errors.New("carp: invalid version")
)

// Advertisement is the CARP header, struct carp_header in
// sys/netinet/ip_carp.h (carp.md §1.2). It is 36 bytes in network byte
// order and follows the IPv4 or IPv6 header directly:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-------+-------+---------------+---------------+---------------+
//	|Version| Type  |     VHID      |    AdvSkew    |   AuthLen=7   |
//	+-------+-------+---------------+---------------+---------------+
//	|    Demote     |    AdvBase    |           Checksum            |
//	+---------------+---------------+-------------------------------+
//	|                    Counter (8 bytes, 8..15)                   |
//	|                                                               |
//	+---------------------------------------------------------------+
//	|              HMAC-SHA1 (20 bytes, 16..35), see hmac.go        |
//	+---------------------------------------------------------------+
//
// The checksum is RFC 1071 over these 36 bytes only, with no
// pseudo-header for IPv4 and IPv6 alike (carp.md §1.3). OpenBSD's
// receiver checks only the checksum, the version and the HMAC of these
// fields; type, authlen and the ranges of advbase and advskew are not
// validated, and neither does UnmarshalBinary validate them.
type Advertisement struct {
	Version  uint8 // high nibble of byte 0: 2
	Type     uint8 // low nibble of byte 0: 1, advertisement
	VHID     uint8
	AdvSkew  uint8 // 0..254; 255 only when bowing out
	AuthLen  uint8 // 7
	Demote   uint8 // OpenBSD's effective demotion counter; pad1 (0) elsewhere
	AdvBase  uint8 // seconds; 255 only when bowing out
	Checksum uint16
	Counter  [8]byte  // replay cookie (carp.md §1.5), also hashed by the HMAC
	HMAC     [20]byte // carp_md
}

// NewAdvertisement returns an advertisement with the constant fields set:
// version 2, type 1 and authlen 7, as carp_send_ad fills them.
func NewAdvertisement(vhid, advbase, advskew, demote uint8, counter [8]byte) Advertisement {
	return Advertisement{
		Version: HeaderVersion,
		Type:    HeaderType,
		VHID:    vhid,
		AdvSkew: advskew,
		AuthLen: HeaderAuthLen,
		Demote:  demote,
		AdvBase: advbase,
		Counter: counter,
	}
}

// MarshalBinary encodes a as the 36 wire bytes. The checksum field of the
// output is computed (carp_send_ad computes it after the counter and the
// HMAC are in place); a.Checksum is not used. When the other fields sum
// to 0xffff, both 0x0000 and 0xffff are valid checksums; like in_cksum,
// MarshalBinary writes 0x0000.
func (a Advertisement) MarshalBinary() ([]byte, error) {
	return a.AppendBinary(make([]byte, 0, HeaderLen))
}

// AppendBinary appends the 36 wire bytes of a to b, like MarshalBinary.
func (a Advertisement) AppendBinary(b []byte) ([]byte, error) {
	if a.Version > 0xf || a.Type > 0xf {
		return b, fmt.Errorf("carp: version %d and type %d must fit in 4 bits each", a.Version, a.Type)
	}
	n := len(b)
	b = append(b, a.Version<<4|a.Type, a.VHID, a.AdvSkew, a.AuthLen, a.Demote, a.AdvBase, 0, 0)
	b = append(b, a.Counter[:]...)
	b = append(b, a.HMAC[:]...)
	binary.BigEndian.PutUint16(b[n+offsetChecksum:], Checksum(b[n:]))
	return b, nil
}

// UnmarshalBinary decodes the first 36 bytes of b; bytes past them are
// ignored, as OpenBSD ignores them. It checks, in the order of
// carp_proto_input_if, the length (ErrTooShort) and the checksum
// (ErrBadChecksum), and leaves a unchanged when either fails. Then it
// assigns all fields at once and reports ErrBadVersion if the version is
// not 2: OpenBSD looks up the vhid (carps_badvhid) before it checks the
// version, so a is filled for the caller to do the same. Nothing in a
// aliases b.
func (a *Advertisement) UnmarshalBinary(b []byte) error {
	if len(b) < HeaderLen {
		return ErrTooShort
	}
	b = b[:HeaderLen]
	if Checksum(b) != 0 {
		return ErrBadChecksum
	}
	v := Advertisement{
		Version:  b[0] >> 4,
		Type:     b[0] & 0xf,
		VHID:     b[1],
		AdvSkew:  b[2],
		AuthLen:  b[3],
		Demote:   b[4],
		AdvBase:  b[5],
		Checksum: binary.BigEndian.Uint16(b[offsetChecksum:]),
	}
	copy(v.Counter[:], b[offsetCounter:offsetHMAC])
	copy(v.HMAC[:], b[offsetHMAC:HeaderLen])
	*a = v
	if v.Version != HeaderVersion {
		return ErrBadVersion
	}
	return nil
}

// Checksum returns the Internet checksum of b (RFC 1071): the one's
// complement of the one's complement sum of b's big-endian 16-bit words,
// an odd last byte padded with zero. Over a header whose checksum field is
// zero it is the value to store; over a received header it is zero when
// the header is intact (OpenBSD's carp_cksum, which is in_cksum).
func Checksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
