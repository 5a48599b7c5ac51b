// Package ctnat writes the ctnetlink messages that create and update
// conntrack entries with what github.com/ti-mo/conntrack does not marshal:
// the NAT bindings CTA_NAT_SRC and CTA_NAT_DST (the only way to create a
// translated entry), the TCP flags with their masks, the zone and the
// labels with their mask. Reading (events, dumps) stays with ti-mo; FromFlow
// turns its Flow into an Entry.
//
// Attribute numbers are those of include/uapi/linux/netfilter/
// nfnetlink_conntrack.h. The layout of a create request:
//
//	IPCTNL_MSG_CT_NEW, NLM_F_CREATE|NLM_F_EXCL
//	├─ CTA_TUPLE_ORIG  (nested) ─ CTA_TUPLE_IP { CTA_IP_V4_SRC, _DST } / CTA_TUPLE_PROTO { NUM, SRC_PORT, DST_PORT | ICMP_* }
//	├─ CTA_TUPLE_REPLY (nested) ─ the inverse of the original tuple: the kernel applies the NAT
//	├─ CTA_STATUS, CTA_TIMEOUT, CTA_MARK, CTA_ZONE
//	├─ CTA_PROTOINFO ─ CTA_PROTOINFO_TCP { STATE, WSCALE_ORIGINAL, WSCALE_REPLY, FLAGS_ORIGINAL, FLAGS_REPLY }
//	├─ CTA_NAT_SRC / CTA_NAT_DST ─ { CTA_NAT_V4_MINIP, _MAXIP | V6_*, CTA_NAT_PROTO { PORT_MIN, PORT_MAX } }
//	└─ CTA_LABELS, CTA_LABELS_MASK
package ctnat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

// Attribute numbers (nfnetlink_conntrack.h).
const (
	ctaTupleOrig  = 1
	ctaTupleReply = 2
	ctaStatus     = 3
	ctaProtoInfo  = 4
	ctaNATSrc     = 6
	ctaTimeout    = 7
	ctaMark       = 8
	ctaNATDst     = 13
	ctaZone       = 18
	ctaLabels     = 22
	ctaLabelsMask = 23

	ctaTupleIP    = 1
	ctaTupleProto = 2

	ctaIPv4Src = 1
	ctaIPv4Dst = 2
	ctaIPv6Src = 3
	ctaIPv6Dst = 4

	ctaProtoNum        = 1
	ctaProtoSrcPort    = 2
	ctaProtoDstPort    = 3
	ctaProtoICMPID     = 4
	ctaProtoICMPType   = 5
	ctaProtoICMPCode   = 6
	ctaProtoICMPv6ID   = 7
	ctaProtoICMPv6Type = 8
	ctaProtoICMPv6Code = 9

	ctaProtoInfoTCP         = 1
	ctaProtoInfoTCPState    = 1
	ctaProtoInfoTCPWScaleO  = 2
	ctaProtoInfoTCPWScaleR  = 3
	ctaProtoInfoTCPFlagsO   = 4
	ctaProtoInfoTCPFlagsR   = 5
	ctaNATV4MinIP           = 1
	ctaNATV4MaxIP           = 2
	ctaNATProto             = 3
	ctaNATV6MinIP           = 4
	ctaNATV6MaxIP           = 5
	ctaProtoNATPortMin      = 1
	ctaProtoNATPortMax      = 2
	ipctnlMsgCtNew          = 0
	ipctnlMsgCtDelete       = 2
	ipsExpectedAndInternals = 0x1 | 0x8 | 0x200 | 0x800 | 0x1000
)

// Status bits of a conntrack entry (IPS_* in nf_conntrack_common.h).
const (
	StatusExpected  = 0x0001
	StatusSeenReply = 0x0002
	StatusAssured   = 0x0004
	StatusConfirmed = 0x0008
	StatusSrcNAT    = 0x0010
	StatusDstNAT    = 0x0020
)

// TCP states of conntrack (TCP_CONNTRACK_* in nf_conntrack_tcp.h).
const (
	TCPNone = iota
	TCPSynSent
	TCPSynRecv
	TCPEstablished
	TCPFinWait
	TCPCloseWait
	TCPLastAck
	TCPTimeWait
	TCPClose
	TCPSynSent2
)

// Per-direction TCP flags (IP_CT_TCP_FLAG_* in nf_conntrack_tcp.h).
const (
	TCPFlagWindowScale = 0x01
	TCPFlagSackPerm    = 0x02
	TCPFlagCloseInit   = 0x04
	TCPFlagBeLiberal   = 0x08
)

// Tuple is one direction of a connection (CTA_TUPLE_*): addresses, the
// layer-4 protocol and its identifiers. For ICMP and ICMPv6 the ports are
// unused and ICMPID, ICMPType and ICMPCode hold the query.
type Tuple struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	ICMPID           uint16
	ICMPType         uint8
	ICMPCode         uint8
}

// IsICMP reports whether t is an ICMP or ICMPv6 tuple.
func (t Tuple) IsICMP() bool {
	return t.Proto == unix.IPPROTO_ICMP || t.Proto == unix.IPPROTO_ICMPV6
}

// Invert returns the tuple of the other direction, as the kernel's
// nf_ct_invert_tuple does (an echo request's reply is an echo reply).
func (t Tuple) Invert() Tuple {
	r := Tuple{Src: t.Dst, Dst: t.Src, Proto: t.Proto, SrcPort: t.DstPort, DstPort: t.SrcPort, ICMPID: t.ICMPID, ICMPCode: t.ICMPCode, ICMPType: t.ICMPType}
	if t.IsICMP() {
		r.ICMPType = invertICMP(t.Proto, t.ICMPType)
	}
	return r
}

func invertICMP(proto, typ uint8) uint8 {
	if proto == unix.IPPROTO_ICMP {
		switch typ {
		case 8:
			return 0
		case 0:
			return 8
		case 13:
			return 14
		case 14:
			return 13
		case 15:
			return 16
		case 16:
			return 15
		case 17:
			return 18
		case 18:
			return 17
		}
		return typ
	}
	switch typ {
	case 128:
		return 129
	case 129:
		return 128
	}
	return typ
}

// String prints t as conntrack(8) does, roughly.
func (t Tuple) String() string {
	if t.IsICMP() {
		return fmt.Sprintf("proto=%d src=%s dst=%s type=%d code=%d id=%d", t.Proto, t.Src, t.Dst, t.ICMPType, t.ICMPCode, t.ICMPID)
	}
	return fmt.Sprintf("proto=%d src=%s dst=%s sport=%d dport=%d", t.Proto, t.Src, t.Dst, t.SrcPort, t.DstPort)
}

// TCP is CTA_PROTOINFO_TCP: the state and, per direction, the window
// scale and the IP_CT_TCP_FLAG_* flags. On write each flag byte goes
// with a mask byte that says which bits to set; the kernel exports flags
// with mask 0.
type TCP struct {
	State                   uint8
	WScaleOrig, WScaleReply uint8
	FlagsOrig, FlagsReply   uint8
	MaskOrig, MaskReply     uint8
}

// NAT is a single-address, single-port NAT binding (CTA_NAT_SRC or
// CTA_NAT_DST); a zero Port keeps the port.
type NAT struct {
	Addr netip.Addr
	Port uint16
}

// Entry is a conntrack entry as this project reads and writes it.
type Entry struct {
	Orig, Reply Tuple
	Zone        uint16
	Status      uint32 // Status* bits
	Timeout     uint32 // seconds left; required on create
	Mark        uint32
	Labels      []byte // 16 bytes when the entry has labels
	TCP         *TCP   // nil for other protocols, or when an event lacks it
	ID          uint32 // the kernel's CTA_ID, read only

	// Only for Create: the translations the kernel sets up, so that it
	// computes the reply tuple and the NAT status bits itself.
	SNAT, DNAT *NAT
}

// FromFlow converts a ti-mo Flow to an Entry.
func FromFlow(f *conntrack.Flow) Entry {
	e := Entry{
		Orig:    fromTuple(f.TupleOrig),
		Reply:   fromTuple(f.TupleReply),
		Zone:    f.Zone,
		Status:  uint32(f.Status),
		Timeout: f.Timeout,
		Mark:    f.Mark,
		ID:      f.ID,
	}
	if len(f.Labels) > 0 {
		e.Labels = append([]byte(nil), f.Labels...)
	}
	if t := f.ProtoInfo.TCP; t != nil {
		e.TCP = &TCP{
			State:      t.State,
			WScaleOrig: t.OriginalWindowScale, WScaleReply: t.ReplyWindowScale,
			FlagsOrig: uint8(t.OriginalFlags >> 8), FlagsReply: uint8(t.ReplyFlags >> 8),
		}
	}
	return e
}

func fromTuple(t conntrack.Tuple) Tuple {
	return Tuple{
		Src: t.IP.SourceAddress, Dst: t.IP.DestinationAddress,
		Proto:   t.Proto.Protocol,
		SrcPort: t.Proto.SourcePort, DstPort: t.Proto.DestinationPort,
		ICMPID: t.Proto.ICMPID, ICMPType: t.Proto.ICMPType, ICMPCode: t.Proto.ICMPCode,
	}
}

var errFamily = errors.New("ctnat: tuple addresses of mixed or unknown family")

func family(t Tuple) (netfilter.ProtoFamily, error) {
	switch {
	case t.Src.Is4() && t.Dst.Is4():
		return netfilter.ProtoIPv4, nil
	case t.Src.Is6() && t.Dst.Is6():
		return netfilter.ProtoIPv6, nil
	}
	return 0, errFamily
}

func u8(typ uint16, v uint8) netfilter.Attribute {
	return netfilter.Attribute{Type: typ, Data: []byte{v}}
}

func be16(typ uint16, v uint16) netfilter.Attribute {
	return netfilter.Attribute{Type: typ, Data: netfilter.Uint16Bytes(v)}
}

func be32(typ uint16, v uint32) netfilter.Attribute {
	return netfilter.Attribute{Type: typ, Data: netfilter.Uint32Bytes(v)}
}

func nested(typ uint16, children ...netfilter.Attribute) netfilter.Attribute {
	return netfilter.Attribute{Type: typ, Nested: true, Children: children}
}

func tupleAttr(typ uint16, t Tuple) netfilter.Attribute {
	var ip netfilter.Attribute
	if t.Src.Is4() {
		ip = nested(ctaTupleIP,
			netfilter.Attribute{Type: ctaIPv4Src, Data: t.Src.AsSlice()},
			netfilter.Attribute{Type: ctaIPv4Dst, Data: t.Dst.AsSlice()})
	} else {
		ip = nested(ctaTupleIP,
			netfilter.Attribute{Type: ctaIPv6Src, Data: t.Src.AsSlice()},
			netfilter.Attribute{Type: ctaIPv6Dst, Data: t.Dst.AsSlice()})
	}
	proto := []netfilter.Attribute{u8(ctaProtoNum, t.Proto)}
	switch t.Proto {
	case unix.IPPROTO_ICMP:
		proto = append(proto, be16(ctaProtoICMPID, t.ICMPID), u8(ctaProtoICMPType, t.ICMPType), u8(ctaProtoICMPCode, t.ICMPCode))
	case unix.IPPROTO_ICMPV6:
		proto = append(proto, be16(ctaProtoICMPv6ID, t.ICMPID), u8(ctaProtoICMPv6Type, t.ICMPType), u8(ctaProtoICMPv6Code, t.ICMPCode))
	default:
		proto = append(proto, be16(ctaProtoSrcPort, t.SrcPort), be16(ctaProtoDstPort, t.DstPort))
	}
	return nested(typ, ip, nested(ctaTupleProto, proto...))
}

func natAttr(typ uint16, n NAT) netfilter.Attribute {
	var c []netfilter.Attribute
	if n.Addr.Is4() {
		c = append(c, netfilter.Attribute{Type: ctaNATV4MinIP, Data: n.Addr.AsSlice()},
			netfilter.Attribute{Type: ctaNATV4MaxIP, Data: n.Addr.AsSlice()})
	} else {
		c = append(c, netfilter.Attribute{Type: ctaNATV6MinIP, Data: n.Addr.AsSlice()},
			netfilter.Attribute{Type: ctaNATV6MaxIP, Data: n.Addr.AsSlice()})
	}
	if n.Port != 0 {
		c = append(c, nested(ctaNATProto, be16(ctaProtoNATPortMin, n.Port), be16(ctaProtoNATPortMax, n.Port)))
	}
	return nested(typ, c...)
}

func tcpAttr(t TCP) netfilter.Attribute {
	c := []netfilter.Attribute{u8(ctaProtoInfoTCPState, t.State)}
	if t.MaskOrig != 0 || t.MaskReply != 0 {
		c = append(c,
			netfilter.Attribute{Type: ctaProtoInfoTCPFlagsO, Data: []byte{t.FlagsOrig, t.MaskOrig}},
			netfilter.Attribute{Type: ctaProtoInfoTCPFlagsR, Data: []byte{t.FlagsReply, t.MaskReply}})
	}
	// The kernel applies the scales only when both are present and both
	// directions have IP_CT_TCP_FLAG_WINDOW_SCALE after the flags above.
	if t.FlagsOrig&t.MaskOrig&TCPFlagWindowScale != 0 && t.FlagsReply&t.MaskReply&TCPFlagWindowScale != 0 {
		c = append(c, u8(ctaProtoInfoTCPWScaleO, t.WScaleOrig), u8(ctaProtoInfoTCPWScaleR, t.WScaleReply))
	}
	return nested(ctaProtoInfo, nested(ctaProtoInfoTCP, c...))
}

// Marshal builds the ctnetlink request for e: a create (the reply tuple
// is sent as the inverse of the original and the kernel translates it
// through SNAT and DNAT) or an update (tuples identify the entry; NAT
// is not changeable and not sent; of the status only SEEN_REPLY and
// ASSURED, which can only be set).
func Marshal(e Entry, create bool) (netlink.Message, error) {
	fam, err := family(e.Orig)
	if err != nil {
		return netlink.Message{}, err
	}
	attrs := []netfilter.Attribute{tupleAttr(ctaTupleOrig, e.Orig)}
	flags := netlink.Request | netlink.Acknowledge
	if create {
		flags |= netlink.Create | netlink.Excl
		if e.Timeout == 0 {
			return netlink.Message{}, errors.New("ctnat: create needs a timeout")
		}
		attrs = append(attrs, tupleAttr(ctaTupleReply, e.Orig.Invert()))
		// The kernel marks the new entry CONFIRMED before it applies
		// CTA_STATUS, and refuses (EBUSY) a status that would clear it.
		s := e.Status&^ipsExpectedAndInternals&^(StatusSrcNAT|StatusDstNAT) | StatusConfirmed
		attrs = append(attrs, be32(ctaStatus, s))
		if e.Zone != 0 {
			attrs = append(attrs, be16(ctaZone, e.Zone))
		}
		if e.SNAT != nil {
			attrs = append(attrs, natAttr(ctaNATSrc, *e.SNAT))
		}
		if e.DNAT != nil {
			attrs = append(attrs, natAttr(ctaNATDst, *e.DNAT))
		}
	} else {
		if e.Zone != 0 {
			attrs = append(attrs, be16(ctaZone, e.Zone))
		}
		// SEEN_REPLY and ASSURED can only be set; the unchangeable bits
		// must be as they are (CONFIRMED, no EXPECTED or DYING), the NAT
		// bits are ignored. Without them the entry's status is left alone.
		if s := e.Status & (StatusSeenReply | StatusAssured); s != 0 {
			attrs = append(attrs, be32(ctaStatus, s|StatusConfirmed))
		}
	}
	if e.Timeout != 0 {
		attrs = append(attrs, be32(ctaTimeout, e.Timeout))
	}
	if e.TCP != nil {
		attrs = append(attrs, tcpAttr(*e.TCP))
	}
	if e.Mark != 0 {
		attrs = append(attrs, be32(ctaMark, e.Mark))
	}
	if len(e.Labels) > 0 {
		mask := make([]byte, len(e.Labels))
		for i := range mask {
			mask[i] = 0xff
		}
		attrs = append(attrs, netfilter.Attribute{Type: ctaLabels, Data: e.Labels},
			netfilter.Attribute{Type: ctaLabelsMask, Data: mask})
	}
	return netfilter.MarshalNetlink(netfilter.Header{
		SubsystemID: netfilter.NFSubsysCTNetlink,
		MessageType: netfilter.MessageType(ipctnlMsgCtNew),
		Family:      fam,
		Flags:       flags,
	}, attrs)
}

// MarshalDelete builds the request that deletes the entry with e's
// original tuple (and zone).
func MarshalDelete(e Entry) (netlink.Message, error) {
	fam, err := family(e.Orig)
	if err != nil {
		return netlink.Message{}, err
	}
	attrs := []netfilter.Attribute{tupleAttr(ctaTupleOrig, e.Orig)}
	if e.Zone != 0 {
		attrs = append(attrs, be16(ctaZone, e.Zone))
	}
	return netfilter.MarshalNetlink(netfilter.Header{
		SubsystemID: netfilter.NFSubsysCTNetlink,
		MessageType: netfilter.MessageType(ipctnlMsgCtDelete),
		Family:      fam,
		Flags:       netlink.Request | netlink.Acknowledge,
	}, attrs)
}

// Conn writes entries through its own netlink socket. Writes can be
// batched: many requests go out in one sendmsg(2) and their
// acknowledgements come back in a few reads, each with its own errno.
type Conn struct {
	fd     int
	seq    uint32
	out    []byte // the batch being built
	lastAt int    // offset of its last request
	buf    []byte
}

// Dial opens a ctnetlink socket in the caller's network namespace.
func Dial() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("ctnat: socket: %w", err)
	}
	setup := func() error {
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return err
		}
		// Acknowledgements without the request echoed back.
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20); err != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
		}
		// A kernel that never answers must not hang the worker.
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
	}
	if err := setup(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ctnat: socket: %w", err)
	}
	return &Conn{fd: fd, buf: make([]byte, 1<<16)}, nil
}

// Op is one write of a batch.
type Op struct {
	Kind  OpKind
	Entry Entry
}

// OpKind says what an Op does.
type OpKind uint8

// Write kinds.
const (
	OpCreate OpKind = iota
	OpUpdate
	OpDelete
)

// Create creates e; the error wraps the kernel's errno (unix.EEXIST …).
func (c *Conn) Create(e Entry) error { return c.Do([]Op{{OpCreate, e}})[0] }

// Update changes the timeout, TCP state and flags, mark and labels of the
// entry with e's original tuple.
func (c *Conn) Update(e Entry) error { return c.Do([]Op{{OpUpdate, e}})[0] }

// Delete removes the entry with e's original tuple.
func (c *Conn) Delete(e Entry) error { return c.Do([]Op{{OpDelete, e}})[0] }

// maxBatch is the most bytes of requests sent in one sendmsg.
const maxBatch = 1 << 16

const nlmsgHeaderLen = 16

// Do performs ops in order and returns one error (nil on success) per op.
// Only the last request of each sendmsg asks for an acknowledgement:
// the kernel answers a failed request with its errno whether or not it
// was asked to (netlink_rcv_skb), and processes a buffer's requests in
// order, so the last acknowledgement closes the batch and one read
// usually collects every answer.
func (c *Conn) Do(ops []Op) []error {
	errs := make([]error, len(ops))
	var idx []int // ops in c.out, in order
	flush := func() {
		if len(idx) == 0 {
			return
		}
		// Ask for the acknowledgement of the last request only.
		last := c.out[c.lastAt:]
		flags := binary.NativeEndian.Uint16(last[6:])
		binary.NativeEndian.PutUint16(last[6:], flags|uint16(netlink.Acknowledge))
		base := c.seq
		c.seq += uint32(len(idx))
		c.exchange(c.out, base, idx, errs)
		c.out, idx = c.out[:0], idx[:0]
	}
	for i, op := range ops {
		at := len(c.out)
		out, err := appendRequest(c.out, op.Entry, op.Kind, c.seq+uint32(len(idx))+1, false)
		if err != nil {
			errs[i] = err
			c.out = out[:at]
			continue
		}
		if len(out) > maxBatch && at > 0 {
			// Over the batch size: send what came before, then
			// encode this one again as the first of the next batch.
			c.out = out[:at]
			flush()
			at = 0
			out, _ = appendRequest(c.out, op.Entry, op.Kind, c.seq+1, false)
		}
		c.out, c.lastAt = out, at
		idx = append(idx, i)
	}
	flush()
	return errs
}

// exchange sends the requests in out, whose sequence numbers are base+1
// … base+len(idx) and whose results go to errs[idx[j]], and reads the
// answers up to the acknowledgement of the last one.
func (c *Conn) exchange(out []byte, base uint32, idx []int, errs []error) {
	fail := func(err error) {
		for _, i := range idx {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	kernel := unix.RawSockaddrNetlink{Family: unix.AF_NETLINK}
	err := SendtoNow(c.fd, out, unsafe.Pointer(&kernel), unsafe.Sizeof(kernel))
	if err == unix.EAGAIN {
		err = unix.Sendto(c.fd, out, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}
	if err != nil {
		fail(fmt.Errorf("ctnat: send: %w", err))
		return
	}
	last := base + uint32(len(idx))
	for {
		// The kernel answers within the sendto: the answers are
		// usually there already.
		n, err := RecvfromNow(c.fd, c.buf)
		if err == unix.EAGAIN {
			n, _, err = unix.Recvfrom(c.fd, c.buf, 0)
		}
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			fail(fmt.Errorf("ctnat: receive: %w", err))
			return
		}
		for m, rest, ok := NextMessage(c.buf[:n]); ok; m, rest, ok = NextMessage(rest) {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			j := int(m.Header.Seq - base - 1)
			if j < 0 || j >= len(idx) {
				continue
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
				errs[idx[j]] = syscall.Errno(-code)
			}
			if m.Header.Seq == last {
				return
			}
		}
	}
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// PortID returns the socket's netlink port ID: the nlmsg_pid that the
// kernel puts in the conntrack events this socket's writes cause
// (ctnetlink_conntrack_event), so that a listener can tell them apart.
func (c *Conn) PortID() (uint32, error) {
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		return 0, fmt.Errorf("ctnat: getsockname: %w", err)
	}
	nl, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return 0, errors.New("ctnat: not a netlink socket")
	}
	return nl.Pid, nil
}
