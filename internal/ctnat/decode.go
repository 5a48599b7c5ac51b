package ctnat

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// DecodeEntry decodes the payload of a ctnetlink conntrack message (what
// follows struct nlmsghdr: struct nfgenmsg, then the CTA_* attributes of
// ctnetlink_conntrack_event and ctnetlink_dump_table) into an Entry, as
// FromFlow of github.com/ti-mo/conntrack's decoding would, with no
// allocation beyond the TCP protocol information and the labels it
// carries. The pfsync worker decodes every conntrack event on its hot
// path; the library's general decoder allocates a Flow and an attribute
// decoder per nested attribute, and its garbage was a fifth of the
// sending worker's CPU (docs/pfsync.md §9). The library stays the
// reference: TestDecodeEntryMatchesLibrary and FuzzDecodeEntry hold the
// two equal on every message both accept. DecodeEntry is the stricter:
// it refuses a message without CTA_TUPLE_ORIG and a truncated or
// zero-length attribute.
func DecodeEntry(b []byte) (Entry, error) {
	var e Entry
	if len(b) < 4 {
		return e, errShort
	}
	sawOrig := false
	err := walk(b[4:], func(typ uint16, v []byte) error {
		switch typ {
		case ctaTupleOrig:
			sawOrig = true
			return decodeTuple(v, &e.Orig)
		case ctaTupleReply:
			return decodeTuple(v, &e.Reply)
		case ctaStatus:
			return be32v(v, &e.Status)
		case ctaTimeout:
			return be32v(v, &e.Timeout)
		case ctaMark:
			return be32v(v, &e.Mark)
		case ctaID:
			return be32v(v, &e.ID)
		case ctaZone:
			if len(v) < 2 {
				return errShort
			}
			e.Zone = binary.BigEndian.Uint16(v)
		case ctaLabels:
			if len(v) > 0 {
				e.Labels = append([]byte(nil), v...)
			}
		case ctaProtoInfo:
			return walk(v, func(typ uint16, v []byte) error {
				if typ != ctaProtoInfoTCP {
					return nil
				}
				t := &TCP{}
				e.TCP = t
				return walk(v, func(typ uint16, v []byte) error {
					switch typ {
					case ctaProtoInfoTCPState:
						return u8v(v, &t.State)
					case ctaProtoInfoTCPWScaleO:
						return u8v(v, &t.WScaleOrig)
					case ctaProtoInfoTCPWScaleR:
						return u8v(v, &t.WScaleReply)
					case ctaProtoInfoTCPFlagsO:
						return u8v(v, &t.FlagsOrig)
					case ctaProtoInfoTCPFlagsR:
						return u8v(v, &t.FlagsReply)
					}
					return nil
				})
			})
		}
		return nil
	})
	if err == nil && !sawOrig {
		err = errNoTuple
	}
	return e, err
}

var (
	errShort   = errors.New("ctnat: truncated attribute")
	errNoTuple = errors.New("ctnat: message without CTA_TUPLE_ORIG")
)

const ctaID = 12

// walk calls fn with the type and the value of each attribute in b. The
// type is its low byte, as github.com/ti-mo/conntrack reads it (its
// attribute enums are bytes; every CTA_* number is below 256), which
// also drops NLA_F_NESTED and NLA_F_NET_BYTEORDER.
func walk(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return errShort
		}
		n := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) & 0xff
		if n < 4 || n > len(b) {
			return errShort
		}
		if err := fn(typ, b[4:n]); err != nil {
			return err
		}
		n = (n + 3) &^ 3
		if n > len(b) {
			n = len(b)
		}
		b = b[n:]
	}
	return nil
}

func decodeTuple(b []byte, t *Tuple) error {
	return walk(b, func(typ uint16, v []byte) error {
		switch typ {
		case ctaTupleIP:
			return walk(v, func(typ uint16, v []byte) error {
				// The length decides the family, as in the library.
				a, ok := netip.AddrFromSlice(v)
				switch typ {
				case ctaIPv4Src, ctaIPv4Dst, ctaIPv6Src, ctaIPv6Dst:
					if !ok {
						return errShort
					}
				}
				switch typ {
				case ctaIPv4Src, ctaIPv6Src:
					t.Src = a
				case ctaIPv4Dst, ctaIPv6Dst:
					t.Dst = a
				}
				return nil
			})
		case ctaTupleProto:
			return walk(v, func(typ uint16, v []byte) error {
				switch typ {
				case ctaProtoNum:
					return u8v(v, &t.Proto)
				case ctaProtoSrcPort:
					return be16v(v, &t.SrcPort)
				case ctaProtoDstPort:
					return be16v(v, &t.DstPort)
				case ctaProtoICMPID, ctaProtoICMPv6ID:
					return be16v(v, &t.ICMPID)
				case ctaProtoICMPType, ctaProtoICMPv6Type:
					return u8v(v, &t.ICMPType)
				case ctaProtoICMPCode, ctaProtoICMPv6Code:
					return u8v(v, &t.ICMPCode)
				}
				return nil
			})
		}
		return nil
	})
}

func u8v(v []byte, p *uint8) error {
	if len(v) < 1 {
		return errShort
	}
	*p = v[0]
	return nil
}

func be16v(v []byte, p *uint16) error {
	if len(v) < 2 {
		return errShort
	}
	*p = binary.BigEndian.Uint16(v)
	return nil
}

func be32v(v []byte, p *uint32) error {
	if len(v) < 4 {
		return errShort
	}
	*p = binary.BigEndian.Uint32(v)
	return nil
}
