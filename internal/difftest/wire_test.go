package difftest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"carpfw/rules/eval"
)

// Frames on the wire: Ethernet, IPv4, and TCP, UDP or ICMP, built and
// parsed by hand so that every header field is ours to choose.

const (
	etherIPv4 = 0x0800
	etherARP  = 0x0806
)

// wirePkt is the part of an IPv4 packet the test sends or observes.
type wirePkt struct {
	TOS      uint8
	ID       uint16
	Proto    int
	Src, Dst netip.Addr
	// TCP and UDP
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	// ICMP
	Type, Code uint8
	ICMPID     uint16
	// Inner is the quoted packet of an ICMP error.
	Inner *wirePkt
}

func (w *wirePkt) String() string {
	s := fmt.Sprintf("id %d proto %d %s", w.ID, w.Proto, endpoint(w.Src, w.SrcPort, w.Proto))
	s += " > " + endpoint(w.Dst, w.DstPort, w.Proto)
	switch w.Proto {
	case eval.ProtoTCP:
		s += " flags " + eval.FlagString(w.Flags)
	case eval.ProtoICMP:
		s += fmt.Sprintf(" icmp %d/%d id %d", w.Type, w.Code, w.ICMPID)
	}
	if w.Inner != nil {
		s += " [" + w.Inner.String() + "]"
	}
	return s
}

func endpoint(a netip.Addr, port uint16, proto int) string {
	if proto == eval.ProtoTCP || proto == eval.ProtoUDP {
		return netip.AddrPortFrom(a, port).String()
	}
	return a.String()
}

func csum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ipPacket returns the IPv4 packet (header and payload) of w.
func (w *wirePkt) ipPacket() []byte {
	var l4 []byte
	switch w.Proto {
	case eval.ProtoTCP:
		l4 = make([]byte, 20)
		binary.BigEndian.PutUint16(l4[0:], w.SrcPort)
		binary.BigEndian.PutUint16(l4[2:], w.DstPort)
		binary.BigEndian.PutUint32(l4[4:], w.Seq)
		binary.BigEndian.PutUint32(l4[8:], w.Ack)
		l4[12] = 5 << 4
		l4[13] = w.Flags
		binary.BigEndian.PutUint16(l4[14:], 65535)
	case eval.ProtoUDP:
		l4 = make([]byte, 12)
		binary.BigEndian.PutUint16(l4[0:], w.SrcPort)
		binary.BigEndian.PutUint16(l4[2:], w.DstPort)
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		copy(l4[8:], "diff")
	case eval.ProtoICMP:
		l4 = make([]byte, 8)
		l4[0], l4[1] = w.Type, w.Code
		if w.Inner != nil {
			in := w.Inner.ipPacket()
			if len(in) > 28 {
				in = in[:28]
			}
			l4 = append(l4, in...)
		} else {
			binary.BigEndian.PutUint16(l4[4:], w.ICMPID)
			binary.BigEndian.PutUint16(l4[6:], 1)
			l4 = append(l4, "difftest"...)
		}
	}
	ip := make([]byte, 20, 20+len(l4))
	ip[0] = 0x45
	ip[1] = w.TOS
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(ip[4:], w.ID)
	ip[8] = 64
	ip[9] = byte(w.Proto)
	s, d := w.Src.As4(), w.Dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], csum(ip[:20], 0))
	switch w.Proto {
	case eval.ProtoTCP, eval.ProtoUDP:
		var ph uint32
		for i := 12; i < 20; i += 2 {
			ph += uint32(binary.BigEndian.Uint16(ip[i:]))
		}
		ph += uint32(w.Proto) + uint32(len(l4))
		c := csum(l4, ph)
		if w.Proto == eval.ProtoTCP {
			binary.BigEndian.PutUint16(l4[16:], c)
		} else {
			if c == 0 {
				c = 0xffff
			}
			binary.BigEndian.PutUint16(l4[6:], c)
		}
	case eval.ProtoICMP:
		binary.BigEndian.PutUint16(l4[2:], csum(l4, 0))
	}
	return append(ip, l4...)
}

// frame wraps an IPv4 packet in Ethernet.
func frame(dst, src net.HardwareAddr, etherType uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f[0:], dst)
	copy(f[6:], src)
	binary.BigEndian.PutUint16(f[12:], etherType)
	return append(f, payload...)
}

// arpRequest asks who has ip, from (mac, sender).
func arpRequest(mac net.HardwareAddr, sender, target netip.Addr) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], etherIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], 1)
	copy(b[8:], mac)
	s, t := sender.As4(), target.As4()
	copy(b[14:], s[:])
	copy(b[24:], t[:])
	return frame(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac, etherARP, b)
}

// isARPReply reports whether an Ethernet frame is an ARP reply for ip.
func isARPReply(f []byte, ip netip.Addr) bool {
	if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != etherARP || binary.BigEndian.Uint16(f[20:]) != 2 {
		return false
	}
	a := ip.As4()
	return [4]byte(f[28:32]) == a
}

// parseIP reads an IPv4 packet (possibly truncated, as quoted in an ICMP
// error).
func parseIP(b []byte) (*wirePkt, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil, false
	}
	hl := int(b[0]&0xf) * 4
	if hl < 20 || len(b) < hl {
		return nil, false
	}
	w := &wirePkt{TOS: b[1], ID: binary.BigEndian.Uint16(b[4:]), Proto: int(b[9]),
		Src: netip.AddrFrom4([4]byte(b[12:16])), Dst: netip.AddrFrom4([4]byte(b[16:20]))}
	l4 := b[hl:]
	switch w.Proto {
	case eval.ProtoTCP, eval.ProtoUDP:
		if len(l4) < 4 {
			return w, true
		}
		w.SrcPort, w.DstPort = binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
		if w.Proto == eval.ProtoTCP && len(l4) >= 14 {
			w.Seq, w.Ack = binary.BigEndian.Uint32(l4[4:]), binary.BigEndian.Uint32(l4[8:])
			w.Flags = l4[13]
		}
	case eval.ProtoICMP:
		if len(l4) < 8 {
			return w, true
		}
		w.Type, w.Code = l4[0], l4[1]
		switch w.Type {
		case 3, 4, 5, 11, 12:
			if in, ok := parseIP(l4[8:]); ok {
				w.Inner = in
			}
		default:
			w.ICMPID = binary.BigEndian.Uint16(l4[4:])
		}
	}
	return w, true
}

// parseFrame reads an Ethernet frame carrying IPv4.
func parseFrame(f []byte) (*wirePkt, bool) {
	if len(f) < 14 || binary.BigEndian.Uint16(f[12:]) != etherIPv4 {
		return nil, false
	}
	return parseIP(f[14:])
}
