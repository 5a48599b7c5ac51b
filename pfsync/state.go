package pfsync

import (
	"encoding/binary"
	"net/netip"
)

// Record sizes of the state structs (sys/net/pfvar.h, all __packed or
// naturally packed; reference §1.6).
const (
	ScrubLen = 8   // struct pfsync_state_scrub
	PeerLen  = 32  // struct pfsync_state_peer
	KeyLen   = 40  // struct pfsync_state_key
	StateLen = 264 // struct pfsync_state
	ifNamSiz = 16  // IFNAMSIZ, NUL included
)

// AF is an address family in OpenBSD's numbering, as it appears in
// pfsync_state.af and pfsync_state_key.af (reference §1.7). Linux numbers
// AF_INET6 10: translate at the conntrack boundary.
type AF uint8

// Address families on the wire.
const (
	AFUnspec AF = 0  // in a key: same as the state's af
	AFInet   AF = 2  // AF_INET
	AFInet6  AF = 24 // AF_INET6 on OpenBSD
)

// Direction is pfsync_state.direction (PF_IN, PF_OUT in pfvar.h).
type Direction uint8

// State directions; PF_INOUT (0) never appears in a state.
const (
	DirIn  Direction = 1 // PF_IN: key[*] index 0 is the initiator
	DirOut Direction = 2 // PF_OUT: key[*] index 1 is the initiator
)

// Indexes into State.Key (PF_SK_WIRE, PF_SK_STACK).
const (
	KeyWire  = 0 // addresses as on the wire at the creating interface
	KeyStack = 1 // addresses as the local stack sees them
)

// Timeout classes, pfsync_state.timeout and pfsync_upd_c.timeout
// (PFTM_* in pfvar.h, reference §1.7). Receivers reject values ≥
// TimeoutMax.
const (
	TimeoutTCPFirstPacket   = 0
	TimeoutTCPOpening       = 1
	TimeoutTCPEstablished   = 2
	TimeoutTCPClosing       = 3
	TimeoutTCPFinWait       = 4
	TimeoutTCPClosed        = 5
	TimeoutUDPFirstPacket   = 6
	TimeoutUDPSingle        = 7
	TimeoutUDPMultiple      = 8
	TimeoutICMPFirstPacket  = 9
	TimeoutICMPErrorReply   = 10
	TimeoutOtherFirstPacket = 11
	TimeoutOtherSingle      = 12
	TimeoutOtherMultiple    = 13
	TimeoutFrag             = 14
	TimeoutInterval         = 15
	TimeoutAdaptiveStart    = 16
	TimeoutAdaptiveEnd      = 17
	TimeoutSrcNode          = 18
	TimeoutTSDiff           = 19
	TimeoutMax              = 20 // PFTM_MAX
)

// Peer state levels, pfsync_state_peer.state (reference §1.7). TCP uses
// OpenBSD's TCPS_* values plus pf's synproxy levels; UDP and the other
// protocols use the three PFUDPS_*/PFOTHERS_* levels.
const (
	TCPSClosed      = 0
	TCPSListen      = 1
	TCPSSynSent     = 2
	TCPSSynReceived = 3
	TCPSEstablished = 4
	TCPSCloseWait   = 5
	TCPSFinWait1    = 6
	TCPSClosing     = 7
	TCPSLastAck     = 8
	TCPSFinWait2    = 9
	TCPSTimeWait    = 10
	TCPSProxySrc    = 11 // PF_TCPS_PROXY_SRC
	TCPSProxyDst    = 12 // PF_TCPS_PROXY_DST; receivers reject higher

	PeerNoTraffic = 0 // PFUDPS_NO_TRAFFIC, PFOTHERS_NO_TRAFFIC
	PeerSingle    = 1
	PeerMultiple  = 2
)

// Bits of pfsync_state.state_flags (PFSTATE_* in pfvar.h).
const (
	StateAllowOpts   = 0x0001
	StateSloppy      = 0x0002
	StatePflow       = 0x0004
	StateNoSync      = 0x0008
	StateAck         = 0x0010 // sender defers a packet: answer INS_ACK
	StateNoDF        = 0x0020
	StateSetTOS      = 0x0040
	StateRandomID    = 0x0080
	StateScrubTCP    = 0x0100
	StateSetPrio     = 0x0200
	StateInpUnlinked = 0x0400
)

// Other flag values carried in a state.
const (
	ScrubFlagValid = 0x01   // pfsync_state_scrub.scrub_flag: PFSYNC_SCRUB_FLAG_VALID
	ScrubTimestamp = 0x0001 // pfsync_state_scrub.pfss_flags: PFSS_TIMESTAMP
	WScaleMask     = 0x0f   // pfsync_state_peer.wscale: PF_WSCALE_MASK
	WScaleFlag     = 0x80   // pfsync_state_peer.wscale: PF_WSCALE_FLAG
	SyncSrcNode    = 0x04   // pfsync_state.sync_flags: PFSYNC_FLAG_SRCNODE
	SyncNATSrcNode = 0x08   // pfsync_state.sync_flags: PFSYNC_FLAG_NATSRCNODE
)

// Route types, pfsync_state.rt.
const (
	RtNone    = 0
	RtRouteTo = 1
	RtDupTo   = 2
	RtReplyTo = 3
)

// PFAddr is a struct pf_addr: an IPv4 address in the first 4 bytes with
// the rest zero, or an IPv6 address in all 16. The family is not in the
// address; it comes from the key or the state.
type PFAddr [16]byte

// AddrFrom returns ip as a pf_addr; the zero netip.Addr gives zeros.
func AddrFrom(ip netip.Addr) PFAddr {
	var a PFAddr
	if ip.Is4() {
		v4 := ip.As4()
		copy(a[:], v4[:])
	} else if ip.IsValid() {
		a = ip.As16()
	}
	return a
}

// As reads a as an address of family af; other families give the zero
// netip.Addr.
func (a PFAddr) As(af AF) netip.Addr {
	switch af {
	case AFInet:
		return netip.AddrFrom4([4]byte(a[:4]))
	case AFInet6:
		return netip.AddrFrom16(a)
	}
	return netip.Addr{}
}

// StateScrub is struct pfsync_state_scrub (8 bytes), embedded in a peer:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-------------------------------+---------------+---------------+
//	|          pfss_flags           |   pfss_ttl    |  scrub_flag   |
//	+-------------------------------+---------------+---------------+
//	|                          pfss_ts_mod                          |
//	+---------------------------------------------------------------+
//
// All zero when the state is not scrubbed.
type StateScrub struct {
	Flags uint16 // pfss_flags: only ScrubTimestamp is exported
	TTL   uint8  // pfss_ttl: stashed TTL
	Valid uint8  // scrub_flag: ScrubFlagValid when scrub data is present
	TSMod uint32 // pfss_ts_mod: TCP timestamp modulation offset
}

// StatePeer is struct pfsync_state_peer (32 bytes), one side of a connection:
//
//	+---------------------------------------------------------------+
//	|                     scrub (8, see StateScrub)                 |
//	+---------------------------------------------------------------+
//	|                             seqlo                             |
//	|                             seqhi                             |
//	|                            seqdiff                            |
//	+-------------------------------+-------------------------------+
//	|            max_win            |              mss              |
//	+---------------+---------------+-------------------------------+
//	|     state     |    wscale     |            pad (6)            |
//	+---------------+---------------+                               |
//	|                                                               |
//	+---------------------------------------------------------------+
type StatePeer struct {
	Scrub   StateScrub
	SeqLo   uint32 // highest sequence number this side sent
	SeqHi   uint32 // highest sequence number this side may send
	SeqDiff uint32 // ISN modulator; 0 unless "modulate state"
	MaxWin  uint16 // largest window seen, before scaling
	MSS     uint16 // MSS option seen
	State   uint8  // level: TCPS* for TCP, Peer* otherwise
	WScale  uint8  // shift in WScaleMask, WScaleFlag when negotiated
}

// StateKey is struct pfsync_state_key (40 bytes), one address/port view of
// the connection (reference §1.6):
//
//	+---------------------------------------------------------------+
//	|                        addr[0] (16)                           |
//	+---------------------------------------------------------------+
//	|                        addr[1] (16)                           |
//	+-------------------------------+-------------------------------+
//	|            port[0]            |            port[1]            |
//	+-------------------------------+---------------+---------------+
//	|            rdomain            |      af       |      pad      |
//	+-------------------------------+---------------+---------------+
//
// Index 0 is the far end and index 1 the stack end as seen at the
// creating interface; which one initiated depends on State.Direction.
type StateKey struct {
	Addr    [2]PFAddr
	Port    [2]uint16 // host values; network order on the wire
	RDomain uint16
	AF      AF // AFUnspec: the state's af
}

// State is struct pfsync_state (264 bytes, sys/net/pfvar.h), the full
// state carried by INS, UPD and DEL (reference §1.6):
//
//	  0  id (8)             8  ifname (16)
//	 24  key[WIRE] (40)    64  key[STACK] (40)
//	104  src peer (32)    136  dst peer (32)
//	168  rt_addr (16)
//	184  rule (4)         188  anchor (4)        192  nat_rule (4)
//	196  creation (4)     200  expire (4)
//	204  packets[2][2] (16)                      220  bytes[2][2] (16)
//	236  creatorid (4)    240  rtableid[2] (8)
//	248  max_mss (2)      250  af  251  proto  252  direction  253  log
//	254  rt  255  timeout  256  sync_flags  257  updates
//	258  min_ttl  259  set_tos  260  state_flags (2)  262  set_prio[2]
//
// Every multi-byte field is big-endian on the wire; id and creatorid are
// copied as-is by OpenBSD and read big-endian, as pfctl prints them.
// Pad bytes are written as zero and ignored on read.
type State struct {
	ID        uint64
	IfName    string      // bound interface; "all" for floating states
	Key       [2]StateKey // [KeyWire], [KeyStack]
	Src       StatePeer   // the initiator
	Dst       StatePeer   // the responder
	RtAddr    PFAddr      // route-to/reply-to/dup-to next hop
	Rule      uint32      // main ruleset rule number; 0xffffffff none
	Anchor    uint32      // anchor rule number; 0xffffffff none
	NATRule   uint32      // always 0xffffffff from OpenBSD
	Creation  uint32      // age in seconds, not a timestamp
	Expire    uint32      // seconds until expiry
	Packets   [2]uint64
	Bytes     [2]uint64 // [0] initiator→responder, [1] reverse
	CreatorID uint32
	RtableID  [2]int32 // [KeyWire], [KeyStack]; -1 not set
	MaxMSS    uint16
	AF        AF
	Proto     uint8
	Direction Direction
	Log       uint8
	Rt        uint8 // Rt*
	Timeout   uint8 // Timeout* class
	SyncFlags uint8 // SyncSrcNode, SyncNATSrcNode
	Updates   uint8 // unused
	MinTTL    uint8
	SetTOS    uint8
	Flags     uint16 // state_flags: State* bits
	SetPrio   [2]uint8
}

var beOrder = binary.BigEndian

func (s StateScrub) appendTo(b []byte) []byte {
	b = beOrder.AppendUint16(b, s.Flags)
	b = append(b, s.TTL, s.Valid)
	return beOrder.AppendUint32(b, s.TSMod)
}

func getScrub(b []byte) StateScrub {
	return StateScrub{
		Flags: beOrder.Uint16(b[0:2]),
		TTL:   b[2],
		Valid: b[3],
		TSMod: beOrder.Uint32(b[4:8]),
	}
}

func (p StatePeer) appendTo(b []byte) []byte {
	b = p.Scrub.appendTo(b)
	b = beOrder.AppendUint32(b, p.SeqLo)
	b = beOrder.AppendUint32(b, p.SeqHi)
	b = beOrder.AppendUint32(b, p.SeqDiff)
	b = beOrder.AppendUint16(b, p.MaxWin)
	b = beOrder.AppendUint16(b, p.MSS)
	b = append(b, p.State, p.WScale)
	return append(b, 0, 0, 0, 0, 0, 0)
}

func getPeer(b []byte) StatePeer {
	return StatePeer{
		Scrub:   getScrub(b[0:8]),
		SeqLo:   beOrder.Uint32(b[8:12]),
		SeqHi:   beOrder.Uint32(b[12:16]),
		SeqDiff: beOrder.Uint32(b[16:20]),
		MaxWin:  beOrder.Uint16(b[20:22]),
		MSS:     beOrder.Uint16(b[22:24]),
		State:   b[24],
		WScale:  b[25],
	}
}

func (k StateKey) appendTo(b []byte) []byte {
	b = append(b, k.Addr[0][:]...)
	b = append(b, k.Addr[1][:]...)
	b = beOrder.AppendUint16(b, k.Port[0])
	b = beOrder.AppendUint16(b, k.Port[1])
	b = beOrder.AppendUint16(b, k.RDomain)
	return append(b, byte(k.AF), 0)
}

func getKey(b []byte) StateKey {
	return StateKey{
		Addr:    [2]PFAddr{PFAddr(b[0:16]), PFAddr(b[16:32])},
		Port:    [2]uint16{beOrder.Uint16(b[32:34]), beOrder.Uint16(b[34:36])},
		RDomain: beOrder.Uint16(b[36:38]),
		AF:      AF(b[38]),
	}
}

// MarshalBinary encodes s as a 264-byte pfsync_state. It fails with
// ErrBadIfname if IfName does not fit IFNAMSIZ with its NUL.
func (s *State) MarshalBinary() ([]byte, error) {
	return s.appendTo(make([]byte, 0, StateLen))
}

func (s *State) size() int { return StateLen }

func (s *State) appendTo(b []byte) ([]byte, error) {
	if err := checkIfname(s.IfName); err != nil {
		return nil, err
	}
	b = beOrder.AppendUint64(b, s.ID)
	b = appendIfname(b, s.IfName)
	b = s.Key[0].appendTo(b)
	b = s.Key[1].appendTo(b)
	b = s.Src.appendTo(b)
	b = s.Dst.appendTo(b)
	b = append(b, s.RtAddr[:]...)
	for _, v := range []uint32{s.Rule, s.Anchor, s.NATRule, s.Creation, s.Expire} {
		b = beOrder.AppendUint32(b, v)
	}
	for _, v := range []uint64{s.Packets[0], s.Packets[1], s.Bytes[0], s.Bytes[1]} {
		b = beOrder.AppendUint64(b, v) // (hi32, lo32) pairs: the same bytes
	}
	b = beOrder.AppendUint32(b, s.CreatorID)
	b = beOrder.AppendUint32(b, uint32(s.RtableID[0]))
	b = beOrder.AppendUint32(b, uint32(s.RtableID[1]))
	b = beOrder.AppendUint16(b, s.MaxMSS)
	b = append(b, byte(s.AF), s.Proto, byte(s.Direction), s.Log, s.Rt,
		s.Timeout, s.SyncFlags, s.Updates, s.MinTTL, s.SetTOS)
	b = beOrder.AppendUint16(b, s.Flags)
	return append(b, s.SetPrio[0], s.SetPrio[1]), nil
}

// UnmarshalBinary decodes a pfsync_state from the first 264 bytes of b;
// bytes after them are ignored, as OpenBSD ignores the tail of a record
// longer than its struct.
func (s *State) UnmarshalBinary(b []byte) error {
	if len(b) < StateLen {
		return ErrShortRecord
	}
	*s = State{
		ID:        beOrder.Uint64(b[0:8]),
		IfName:    getIfname(b[8:24]),
		Key:       [2]StateKey{getKey(b[24:64]), getKey(b[64:104])},
		Src:       getPeer(b[104:136]),
		Dst:       getPeer(b[136:168]),
		RtAddr:    PFAddr(b[168:184]),
		Rule:      beOrder.Uint32(b[184:188]),
		Anchor:    beOrder.Uint32(b[188:192]),
		NATRule:   beOrder.Uint32(b[192:196]),
		Creation:  beOrder.Uint32(b[196:200]),
		Expire:    beOrder.Uint32(b[200:204]),
		Packets:   [2]uint64{beOrder.Uint64(b[204:212]), beOrder.Uint64(b[212:220])},
		Bytes:     [2]uint64{beOrder.Uint64(b[220:228]), beOrder.Uint64(b[228:236])},
		CreatorID: beOrder.Uint32(b[236:240]),
		RtableID:  [2]int32{int32(beOrder.Uint32(b[240:244])), int32(beOrder.Uint32(b[244:248]))},
		MaxMSS:    beOrder.Uint16(b[248:250]),
		AF:        AF(b[250]),
		Proto:     b[251],
		Direction: Direction(b[252]),
		Log:       b[253],
		Rt:        b[254],
		Timeout:   b[255],
		SyncFlags: b[256],
		Updates:   b[257],
		MinTTL:    b[258],
		SetTOS:    b[259],
		Flags:     beOrder.Uint16(b[260:262]),
		SetPrio:   [2]uint8{b[262], b[263]},
	}
	return nil
}
