package ctnat

import (
	"encoding/binary"
	"errors"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

// appendRequest appends to b the complete netlink message (nlmsghdr,
// nfgenmsg, attributes) that Marshal (create, update) or MarshalDelete
// builds for e, byte for byte, with sequence number seq and
// NLM_F_ACK only if ack. It allocates nothing beyond growing b: the
// attribute trees of github.com/ti-mo/netfilter cost more than the
// kernel's own work when a bulk update writes 100,000 states
// (bench/pfsync), so the batch writer encodes directly. Marshal stays
// the reference; TestAppendRequestMatchesMarshal holds them equal.
func appendRequest(b []byte, e Entry, kind OpKind, seq uint32, ack bool) ([]byte, error) {
	fam, err := family(e.Orig)
	if err != nil {
		return b, err
	}
	if kind == OpCreate && e.Timeout == 0 {
		return b, errors.New("ctnat: create needs a timeout")
	}
	start := len(b)
	typ := uint16(netfilter.NFSubsysCTNetlink)<<8 | ipctnlMsgCtNew
	flags := netlink.Request
	switch kind {
	case OpCreate:
		flags |= netlink.Create | netlink.Excl
	case OpDelete:
		typ = uint16(netfilter.NFSubsysCTNetlink)<<8 | ipctnlMsgCtDelete
	}
	if ack {
		flags |= netlink.Acknowledge
	}
	// struct nlmsghdr: length (patched below), type, flags, seq, pid.
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, uint16(flags))
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	// struct nfgenmsg: family, version 0, res_id 0.
	b = append(b, byte(fam), 0, 0, 0)

	b = appendTuple(b, ctaTupleOrig, e.Orig)
	switch kind {
	case OpDelete:
		if e.Zone != 0 {
			b = attrBE16(b, ctaZone, e.Zone)
		}
	case OpCreate:
		b = appendTuple(b, ctaTupleReply, e.Orig.Invert())
		b = attrBE32(b, ctaStatus, e.Status&^ipsExpectedAndInternals&^(StatusSrcNAT|StatusDstNAT)|StatusConfirmed)
		if e.Zone != 0 {
			b = attrBE16(b, ctaZone, e.Zone)
		}
		if e.SNAT != nil {
			b = appendNAT(b, ctaNATSrc, *e.SNAT)
		}
		if e.DNAT != nil {
			b = appendNAT(b, ctaNATDst, *e.DNAT)
		}
	default:
		if e.Zone != 0 {
			b = attrBE16(b, ctaZone, e.Zone)
		}
		if s := e.Status & (StatusSeenReply | StatusAssured); s != 0 {
			b = attrBE32(b, ctaStatus, s|StatusConfirmed)
		}
	}
	if kind != OpDelete {
		if e.Timeout != 0 {
			b = attrBE32(b, ctaTimeout, e.Timeout)
		}
		if e.TCP != nil {
			b = appendTCP(b, *e.TCP)
		}
		if e.Mark != 0 {
			b = attrBE32(b, ctaMark, e.Mark)
		}
		if len(e.Labels) > 0 {
			b = attr(b, ctaLabels, e.Labels...)
			n := len(b)
			b = grow4(b, ctaLabelsMask)
			for range e.Labels {
				b = append(b, 0xff)
			}
			b = end(b, n)
		}
	}
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b, nil
}

// end patches the length of the attribute at offset n and pads it to
// NLA_ALIGNTO (4).
func end(b []byte, n int) []byte {
	binary.NativeEndian.PutUint16(b[n:], uint16(len(b)-n))
	for (len(b)-n)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func attr(b []byte, typ uint16, data ...byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for i := len(data); i%4 != 0; i++ {
		b = append(b, 0)
	}
	return b
}

func attrU8(b []byte, typ uint16, v uint8) []byte { return attr(b, typ, v) }

func attrBE16(b []byte, typ uint16, v uint16) []byte { return attr(b, typ, byte(v>>8), byte(v)) }

func attrBE32(b []byte, typ uint16, v uint32) []byte {
	return attr(b, typ, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendTuple(b []byte, typ uint16, t Tuple) []byte {
	outer := len(b)
	b = grow4(b, typ|unix.NLA_F_NESTED)
	ip := len(b)
	b = grow4(b, ctaTupleIP|unix.NLA_F_NESTED)
	if t.Src.Is4() {
		s, d := t.Src.As4(), t.Dst.As4()
		b = attr(b, ctaIPv4Src, s[:]...)
		b = attr(b, ctaIPv4Dst, d[:]...)
	} else {
		s, d := t.Src.As16(), t.Dst.As16()
		b = attr(b, ctaIPv6Src, s[:]...)
		b = attr(b, ctaIPv6Dst, d[:]...)
	}
	b = end(b, ip)
	proto := len(b)
	b = grow4(b, ctaTupleProto|unix.NLA_F_NESTED)
	b = attrU8(b, ctaProtoNum, t.Proto)
	switch t.Proto {
	case unix.IPPROTO_ICMP:
		b = attrBE16(b, ctaProtoICMPID, t.ICMPID)
		b = attrU8(b, ctaProtoICMPType, t.ICMPType)
		b = attrU8(b, ctaProtoICMPCode, t.ICMPCode)
	case unix.IPPROTO_ICMPV6:
		b = attrBE16(b, ctaProtoICMPv6ID, t.ICMPID)
		b = attrU8(b, ctaProtoICMPv6Type, t.ICMPType)
		b = attrU8(b, ctaProtoICMPv6Code, t.ICMPCode)
	default:
		b = attrBE16(b, ctaProtoSrcPort, t.SrcPort)
		b = attrBE16(b, ctaProtoDstPort, t.DstPort)
	}
	b = end(b, proto)
	return end(b, outer)
}

func appendNAT(b []byte, typ uint16, n NAT) []byte {
	outer := len(b)
	b = grow4(b, typ|unix.NLA_F_NESTED)
	if n.Addr.Is4() {
		a := n.Addr.As4()
		b = attr(b, ctaNATV4MinIP, a[:]...)
		b = attr(b, ctaNATV4MaxIP, a[:]...)
	} else {
		a := n.Addr.As16()
		b = attr(b, ctaNATV6MinIP, a[:]...)
		b = attr(b, ctaNATV6MaxIP, a[:]...)
	}
	if n.Port != 0 {
		p := len(b)
		b = grow4(b, ctaNATProto|unix.NLA_F_NESTED)
		b = attrBE16(b, ctaProtoNATPortMin, n.Port)
		b = attrBE16(b, ctaProtoNATPortMax, n.Port)
		b = end(b, p)
	}
	return end(b, outer)
}

func appendTCP(b []byte, t TCP) []byte {
	info := len(b)
	b = grow4(b, ctaProtoInfo|unix.NLA_F_NESTED)
	tcp := len(b)
	b = grow4(b, ctaProtoInfoTCP|unix.NLA_F_NESTED)
	b = attrU8(b, ctaProtoInfoTCPState, t.State)
	if t.MaskOrig != 0 || t.MaskReply != 0 {
		b = attr(b, ctaProtoInfoTCPFlagsO, t.FlagsOrig, t.MaskOrig)
		b = attr(b, ctaProtoInfoTCPFlagsR, t.FlagsReply, t.MaskReply)
	}
	if t.FlagsOrig&t.MaskOrig&TCPFlagWindowScale != 0 && t.FlagsReply&t.MaskReply&TCPFlagWindowScale != 0 {
		b = attrU8(b, ctaProtoInfoTCPWScaleO, t.WScaleOrig)
		b = attrU8(b, ctaProtoInfoTCPWScaleR, t.WScaleReply)
	}
	b = end(b, tcp)
	return end(b, info)
}

// grow4 appends the header of a nested attribute (length patched by end).
func grow4(b []byte, typ uint16) []byte {
	b = binary.NativeEndian.AppendUint16(b, 0)
	return binary.NativeEndian.AppendUint16(b, typ)
}
