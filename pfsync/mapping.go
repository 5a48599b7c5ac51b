package pfsync

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

// This file is the pure mapping between Linux conntrack entries
// (ctnat.Entry) and pfsync states (reference §3). Nothing here touches the
// kernel: the worker feeds it what ctnetlink reports and writes back what
// it returns.

// Ref is the identity of a pfsync state on the wire: the creator's host id
// and the state id it allocated (reference §3.2).
type Ref struct {
	CreatorID uint32
	ID        uint64
}

// String prints r as pfctl -ss -vv does ("id: … creatorid: …").
func (r Ref) String() string { return fmt.Sprintf("%016x/%08x", r.ID, r.CreatorID) }

// Key identifies a conntrack entry: its zone and original tuple.
type Key struct {
	Zone uint16
	Orig ctnat.Tuple
}

// KeyOf returns e's key.
func KeyOf(e ctnat.Entry) Key { return Key{Zone: e.Zone, Orig: e.Orig} }

// Errors of the mapping; a receiver counts them as bad values.
var (
	ErrUnsupported = errors.New("pfsync: state not mapped") // a protocol or family we do not sync
	ErrBadState    = errors.New("pfsync: bad state values") // pfsyncs_badval
	ErrSynproxy    = errors.New("pfsync: state in synproxy phase")
)

// NoSyncLabel is the conntrack label bit that keeps an entry out of
// pfsync, as PFSTATE_NOSYNC does on OpenBSD: pfconf sets it for
// "keep state (no-sync)" rules ("ct label set 127" in nft). NoSyncMark is
// the same in the mark, for rulesets that cannot use labels.
const (
	NoSyncLabel = 127
	NoSyncMark  = 0x80000000
)

// HasLabel reports whether bit n is set in ctnetlink's label bitmap (an
// array of host-order longs, little-endian here).
func HasLabel(labels []byte, n int) bool {
	return n/8 < len(labels) && labels[n/8]&(1<<(n%8)) != 0
}

// Syncable reports why e must not be replicated, or nil: the no-sync
// label or mark, pfsync's own protocol, protocols without a mapping.
func Syncable(e ctnat.Entry) error {
	switch {
	case HasLabel(e.Labels, NoSyncLabel) || e.Mark&NoSyncMark != 0:
		return fmt.Errorf("%w: no-sync", ErrUnsupported)
	case e.Orig.Proto == IPProto:
		return fmt.Errorf("%w: protocol pfsync", ErrUnsupported)
	}
	switch e.Orig.Proto {
	case unix.IPPROTO_TCP, unix.IPPROTO_UDP, unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6:
	default:
		return fmt.Errorf("%w: protocol %d", ErrUnsupported, e.Orig.Proto)
	}
	if !(e.Orig.Src.Is4() && e.Orig.Dst.Is4() && e.Reply.Src.Is4() && e.Reply.Dst.Is4()) &&
		!(e.Orig.Src.Is6() && e.Orig.Dst.Is6() && e.Reply.Src.Is6() && e.Reply.Dst.Is6()) {
		return fmt.Errorf("%w: mixed address families", ErrUnsupported)
	}
	return nil
}

// PFTimeouts are pf's default timeouts per class in seconds (pfvar.h
// PFTM_*_VAL): an exported expiry is clamped to the class's value.
var PFTimeouts = [TimeoutMax]uint32{
	TimeoutTCPFirstPacket:   120,
	TimeoutTCPOpening:       30,
	TimeoutTCPEstablished:   86400,
	TimeoutTCPClosing:       900,
	TimeoutTCPFinWait:       45,
	TimeoutTCPClosed:        90,
	TimeoutUDPFirstPacket:   60,
	TimeoutUDPSingle:        30,
	TimeoutUDPMultiple:      60,
	TimeoutICMPFirstPacket:  20,
	TimeoutICMPErrorReply:   10,
	TimeoutOtherFirstPacket: 60,
	TimeoutOtherSingle:      30,
	TimeoutOtherMultiple:    60,
}

// LinuxTCPTimeouts are conntrack's default TCP timeouts per TCP_CONNTRACK_*
// state (net.netfilter.nf_conntrack_tcp_timeout_*), used when an update
// says "active now" without a remaining time (UPD_C).
var LinuxTCPTimeouts = [...]uint32{
	ctnat.TCPNone:        120,
	ctnat.TCPSynSent:     120,
	ctnat.TCPSynRecv:     60,
	ctnat.TCPEstablished: 432000,
	ctnat.TCPFinWait:     120,
	ctnat.TCPCloseWait:   60,
	ctnat.TCPLastAck:     30,
	ctnat.TCPTimeWait:    120,
	ctnat.TCPClose:       10,
	ctnat.TCPSynSent2:    120,
}

// Linux defaults of the other protocols (nf_conntrack_udp_timeout,
// _udp_timeout_stream, _icmp_timeout).
const (
	LinuxUDPTimeout       = 30
	LinuxUDPStreamTimeout = 120
	LinuxICMPTimeout      = 30
)

// Peers returns the pfsync view of e's protocol state: the initiator's
// and the responder's peer levels and window scales, and the timeout
// class (reference §3.4, §3.5). Sequence numbers and windows stay zero:
// ctnetlink does not export them.
func Peers(e ctnat.Entry) (src, dst StatePeer, class uint8) {
	switch e.Orig.Proto {
	case unix.IPPROTO_TCP:
		return tcpPeers(e.TCP)
	case unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6:
		src.State, dst.State = udpLevels(e.Status)
		class = TimeoutICMPFirstPacket
		if e.Status&ctnat.StatusSeenReply != 0 {
			class = TimeoutICMPErrorReply
		}
		return src, dst, class
	default:
		src.State, dst.State = udpLevels(e.Status)
		class = TimeoutUDPFirstPacket + dst.State // FIRST_PACKET, SINGLE, MULTIPLE
		return src, dst, class
	}
}

// udpLevels is PFUDPS_*: no reply yet SINGLE/NO_TRAFFIC; replied
// MULTIPLE/SINGLE; assured MULTIPLE/MULTIPLE.
func udpLevels(status uint32) (src, dst uint8) {
	switch {
	case status&ctnat.StatusAssured != 0:
		return PeerMultiple, PeerMultiple
	case status&ctnat.StatusSeenReply != 0:
		return PeerMultiple, PeerSingle
	}
	return PeerSingle, PeerNoTraffic
}

// tcpPeers maps a conntrack TCP state to pf's two peer levels (reference
// §3.4 table). The closer is the side whose flags carry CLOSE_INIT.
func tcpPeers(t *ctnat.TCP) (src, dst StatePeer, class uint8) {
	if t == nil {
		return StatePeer{State: TCPSSynSent}, StatePeer{}, TimeoutTCPFirstPacket
	}
	var closer, other *StatePeer = &src, &dst
	if t.FlagsReply&ctnat.TCPFlagCloseInit != 0 && t.FlagsOrig&ctnat.TCPFlagCloseInit == 0 {
		closer, other = &dst, &src
	}
	switch t.State {
	case ctnat.TCPSynSent2:
		src.State, dst.State, class = TCPSSynSent, TCPSSynSent, TimeoutTCPOpening
	case ctnat.TCPSynRecv:
		src.State, dst.State, class = TCPSEstablished, TCPSSynSent, TimeoutTCPOpening
	case ctnat.TCPEstablished:
		src.State, dst.State, class = TCPSEstablished, TCPSEstablished, TimeoutTCPEstablished
	case ctnat.TCPFinWait:
		closer.State, other.State, class = TCPSClosing, TCPSEstablished, TimeoutTCPClosing
	case ctnat.TCPCloseWait:
		closer.State, other.State, class = TCPSFinWait2, TCPSEstablished, TimeoutTCPClosing
	case ctnat.TCPLastAck:
		closer.State, other.State, class = TCPSFinWait2, TCPSClosing, TimeoutTCPFinWait
	case ctnat.TCPTimeWait:
		src.State, dst.State, class = TCPSFinWait2, TCPSFinWait2, TimeoutTCPClosed
	case ctnat.TCPClose:
		src.State, dst.State, class = TCPSTimeWait, TCPSTimeWait, TimeoutTCPClosed
	default: // SYN_SENT, NONE
		src.State, dst.State, class = TCPSSynSent, TCPSClosed, TimeoutTCPFirstPacket
	}
	src.WScale = t.WScaleOrig & WScaleMask
	if t.FlagsOrig&ctnat.TCPFlagWindowScale != 0 {
		src.WScale |= WScaleFlag
	}
	dst.WScale = t.WScaleReply & WScaleMask
	if t.FlagsReply&ctnat.TCPFlagWindowScale != 0 {
		dst.WScale |= WScaleFlag
	}
	return src, dst, class
}

// TCPFromPeers is the reverse of the peer mapping: the conntrack TCP
// state for pf's peer levels, from the most advanced condition down, and
// which side closed first.
func TCPFromPeers(src, dst StatePeer) (state uint8, closerIsReply bool, err error) {
	s, d := src.State, dst.State
	switch {
	case s > TCPSProxyDst || d > TCPSProxyDst:
		return 0, false, fmt.Errorf("%w: tcp levels %d/%d", ErrBadState, s, d)
	case s >= TCPSProxySrc || d >= TCPSProxySrc:
		return 0, false, ErrSynproxy
	case s == TCPSTimeWait || d == TCPSTimeWait:
		return ctnat.TCPClose, false, nil
	case s >= TCPSFinWait2 && d >= TCPSFinWait2:
		return ctnat.TCPTimeWait, false, nil
	case s == TCPSFinWait2:
		if d >= TCPSClosing {
			return ctnat.TCPLastAck, false, nil
		}
		return ctnat.TCPCloseWait, false, nil
	case d == TCPSFinWait2:
		if s >= TCPSClosing {
			return ctnat.TCPLastAck, true, nil
		}
		return ctnat.TCPCloseWait, true, nil
	case s >= TCPSClosing && d >= TCPSClosing:
		return ctnat.TCPLastAck, false, nil
	case s >= TCPSClosing:
		return ctnat.TCPFinWait, false, nil
	case d >= TCPSClosing:
		return ctnat.TCPFinWait, true, nil
	case s >= TCPSEstablished && d >= TCPSEstablished:
		return ctnat.TCPEstablished, false, nil
	case s >= TCPSEstablished && d >= TCPSSynSent, d >= TCPSEstablished && s >= TCPSSynSent:
		return ctnat.TCPSynRecv, false, nil
	case s >= TCPSSynSent && d >= TCPSSynSent:
		return ctnat.TCPSynSent2, false, nil
	}
	return ctnat.TCPSynSent, false, nil
}

// ImportTCP returns the CTA_PROTOINFO_TCP to write for pf's peers: the
// state, and per direction flags set with a mask equal to them (bits are
// only ever set, never cleared). With window tracking on
// (nf_conntrack_tcp_loose=0 or not), the receiving kernel needs the
// window scales: they go with IP_CT_TCP_FLAG_WINDOW_SCALE on both sides,
// the only case where ctnetlink applies them. SACK_PERM is set as
// conntrackd does.
//
// ctnetlink cannot write the sequence windows pfsync carries (td_end,
// td_maxend, td_maxwin): the kernel would re-learn them from the first
// packets it sees after a takeover, and a retransmission or a dup-ACK
// that does not fit what it learnt is INVALID, which a stateful ruleset
// drops and the connection stalls. A created copy is therefore marked
// IP_CT_TCP_FLAG_BE_LIBERAL in both directions: only out-of-window RSTs
// are judged, as for pf's `sloppy` states (which is how this side
// exports TCP states) and conntrackd's default (TCPWindowTracking off).
func ImportTCP(src, dst StatePeer, create bool) (ctnat.TCP, error) {
	st, closerReply, err := TCPFromPeers(src, dst)
	if err != nil {
		return ctnat.TCP{}, err
	}
	t := ctnat.TCP{State: st}
	if create {
		t.FlagsOrig = ctnat.TCPFlagSackPerm | ctnat.TCPFlagBeLiberal
		t.FlagsReply = t.FlagsOrig
		if src.WScale&WScaleFlag != 0 && dst.WScale&WScaleFlag != 0 {
			t.FlagsOrig |= ctnat.TCPFlagWindowScale
			t.FlagsReply |= ctnat.TCPFlagWindowScale
			t.WScaleOrig, t.WScaleReply = src.WScale&WScaleMask, dst.WScale&WScaleMask
		}
	}
	if st >= ctnat.TCPFinWait && st != ctnat.TCPSynSent2 {
		if closerReply {
			t.FlagsReply |= ctnat.TCPFlagCloseInit
		} else {
			t.FlagsOrig |= ctnat.TCPFlagCloseInit
		}
	}
	t.MaskOrig, t.MaskReply = t.FlagsOrig, t.FlagsReply
	return t, nil
}

func afOf(a netip.Addr) AF {
	if a.Is4() {
		return AFInet
	}
	return AFInet6
}

// port returns the port-like identifier of one end: the port, or the
// ICMP query id, which pf keeps in both port fields.
func ports(t ctnat.Tuple) (src, dst uint16) {
	if t.IsICMP() {
		return t.ICMPID, t.ICMPID
	}
	return t.SrcPort, t.DstPort
}

// Export maps a conntrack entry to a full pfsync state with identity ref,
// plus the LinuxExt record of what pfsync_state has no field for (nil if
// there is nothing). Keys follow reference §3.3: an entry with source NAT
// is an OUT state whose stack key is the original tuple and wire key the
// translated one; destination NAT alone makes an IN state; no NAT makes
// an IN state with equal keys. Expiry is conntrack's remaining time,
// clamped to pf's default of the class; TCP states carry PFSTATE_SLOPPY,
// because no sequence window is sent.
func Export(e ctnat.Entry, ref Ref) (State, *LinuxExt, error) {
	if err := Syncable(e); err != nil {
		return State{}, nil, err
	}
	af := afOf(e.Orig.Src)
	osp, odp := ports(e.Orig)
	rsp, rdp := ports(e.Reply)
	s := State{
		ID: ref.ID, CreatorID: ref.CreatorID, IfName: "all",
		Rule: 0xffffffff, Anchor: 0xffffffff, NATRule: 0xffffffff,
		RtableID: [2]int32{-1, -1},
		AF:       af, Proto: e.Orig.Proto,
	}
	if e.Status&ctnat.StatusSrcNAT != 0 {
		s.Direction = DirOut
		s.Key[KeyStack] = StateKey{Addr: [2]PFAddr{AddrFrom(e.Orig.Dst), AddrFrom(e.Orig.Src)}, Port: [2]uint16{odp, osp}, AF: af}
		s.Key[KeyWire] = StateKey{Addr: [2]PFAddr{AddrFrom(e.Reply.Src), AddrFrom(e.Reply.Dst)}, Port: [2]uint16{rsp, rdp}, AF: af}
	} else {
		s.Direction = DirIn
		s.Key[KeyWire] = StateKey{Addr: [2]PFAddr{AddrFrom(e.Orig.Src), AddrFrom(e.Orig.Dst)}, Port: [2]uint16{osp, odp}, AF: af}
		s.Key[KeyStack] = StateKey{Addr: [2]PFAddr{AddrFrom(e.Reply.Dst), AddrFrom(e.Reply.Src)}, Port: [2]uint16{rdp, rsp}, AF: af}
	}
	s.Src, s.Dst, s.Timeout = Peers(e)
	s.Expire = min(e.Timeout, PFTimeouts[s.Timeout])
	if e.Orig.Proto == unix.IPPROTO_TCP {
		s.Flags |= StateSloppy
	}
	return s, exportExt(e, ref), nil
}

func exportExt(e ctnat.Entry, ref Ref) *LinuxExt {
	x := extOf(e, ref)
	if x.Has == 0 {
		return nil
	}
	// Allocated here only: an entry without Linux-only data (the
	// common case) costs no allocation.
	p := new(LinuxExt)
	*p = x
	return p
}

// extOf is e's LinuxExt record, with Has 0 when e carries nothing
// OpenBSD has no field for.
func extOf(e ctnat.Entry, ref Ref) LinuxExt {
	x := LinuxExt{ID: ref.ID, CreatorID: ref.CreatorID}
	if e.Mark != 0 {
		x.Has, x.Mark = x.Has|ExtMark, e.Mark
	}
	if e.Zone != 0 {
		x.Has, x.Zone = x.Has|ExtZone, e.Zone
	}
	if len(e.Labels) > 0 && e.Labels != nil {
		var l [16]byte
		copy(l[:], e.Labels)
		if l != ([16]byte{}) {
			x.Has, x.Labels = x.Has|ExtLabels, l
		}
	}
	return x
}

// ExportUpdC is the compressed update of e: its peers and timeout class.
func ExportUpdC(e ctnat.Entry, ref Ref) UpdC {
	src, dst, class := Peers(e)
	return UpdC{ID: ref.ID, CreatorID: ref.CreatorID, Src: src, Dst: dst, Timeout: class}
}

// Import maps a pfsync state (with its LinuxExt record, or nil) to the
// conntrack entry to create: tuples from the keys (the reverse of
// Export), NAT bindings where the wire and stack keys differ, the TCP
// state and flags, status bits SEEN_REPLY and ASSURED from the peers
// (reference §3.8), and the remaining time. States of another family in
// a key (af-to), of an unknown family or direction, of protocol pfsync,
// with out-of-range levels or timeout are ErrBadState; synproxy states
// ErrSynproxy; protocols we do not map ErrUnsupported.
func Import(s *State, x *LinuxExt) (ctnat.Entry, error) {
	if s.AF != AFInet && s.AF != AFInet6 {
		return ctnat.Entry{}, fmt.Errorf("%w: af %d", ErrBadState, s.AF)
	}
	for _, k := range s.Key {
		if k.AF != AFUnspec && k.AF != s.AF {
			return ctnat.Entry{}, fmt.Errorf("%w: key af %d in an af %d state", ErrBadState, k.AF, s.AF)
		}
	}
	if s.Timeout >= TimeoutMax {
		return ctnat.Entry{}, fmt.Errorf("%w: timeout %d", ErrBadState, s.Timeout)
	}
	switch s.Proto {
	case IPProto:
		return ctnat.Entry{}, fmt.Errorf("%w: protocol pfsync", ErrBadState)
	case unix.IPPROTO_TCP, unix.IPPROTO_UDP, unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6:
	default:
		return ctnat.Entry{}, fmt.Errorf("%w: protocol %d", ErrUnsupported, s.Proto)
	}
	type end struct {
		a netip.Addr
		p uint16
	}
	at := func(k StateKey, i int) end { return end{k.Addr[i].As(s.AF), k.Port[i]} }
	var osrc, odst, rsrc, rdst end
	switch s.Direction {
	case DirOut:
		osrc, odst = at(s.Key[KeyStack], 1), at(s.Key[KeyStack], 0)
		rsrc, rdst = at(s.Key[KeyWire], 0), at(s.Key[KeyWire], 1)
	case DirIn:
		osrc, odst = at(s.Key[KeyWire], 0), at(s.Key[KeyWire], 1)
		rsrc, rdst = at(s.Key[KeyStack], 1), at(s.Key[KeyStack], 0)
	default:
		return ctnat.Entry{}, fmt.Errorf("%w: direction %d", ErrBadState, s.Direction)
	}
	tuple := func(src, dst end) ctnat.Tuple {
		t := ctnat.Tuple{Src: src.a, Dst: dst.a, Proto: s.Proto, SrcPort: src.p, DstPort: dst.p}
		if t.IsICMP() {
			t.SrcPort, t.DstPort, t.ICMPID = 0, 0, src.p
			t.ICMPType = 8
			if s.Proto == unix.IPPROTO_ICMPV6 {
				t.ICMPType = 128
			}
		}
		return t
	}
	e := ctnat.Entry{Orig: tuple(osrc, odst)}
	e.Reply = replyOf(e.Orig, rsrc.a, rdst.a, rsrc.p, rdst.p)
	if rdst != osrc {
		e.SNAT = &ctnat.NAT{Addr: rdst.a, Port: rdst.p}
		e.Status |= ctnat.StatusSrcNAT
	}
	if rsrc != odst {
		e.DNAT = &ctnat.NAT{Addr: rsrc.a, Port: rsrc.p}
		e.Status |= ctnat.StatusDstNAT
	}
	switch s.Proto {
	case unix.IPPROTO_TCP:
		t, err := ImportTCP(s.Src, s.Dst, true)
		if err != nil {
			return ctnat.Entry{}, err
		}
		e.TCP = &t
		if s.Dst.State > TCPSClosed {
			e.Status |= ctnat.StatusSeenReply
		}
		if s.Src.State >= TCPSEstablished && s.Dst.State >= TCPSEstablished {
			e.Status |= ctnat.StatusAssured
		}
	default:
		if s.Src.State > PeerMultiple || s.Dst.State > PeerMultiple {
			return ctnat.Entry{}, fmt.Errorf("%w: levels %d/%d", ErrBadState, s.Src.State, s.Dst.State)
		}
		if s.Dst.State > PeerNoTraffic {
			e.Status |= ctnat.StatusSeenReply
		}
		if s.Src.State == PeerMultiple && s.Dst.State == PeerMultiple {
			e.Status |= ctnat.StatusAssured
		}
	}
	e.Timeout = s.Expire
	if e.Timeout == 0 {
		e.Timeout = LocalTimeout(e)
	}
	applyExt(&e, x)
	return e, nil
}

// replyOf builds the reply tuple: the inverse of orig with the translated
// addresses and ports.
func replyOf(orig ctnat.Tuple, src, dst netip.Addr, sp, dp uint16) ctnat.Tuple {
	r := orig.Invert()
	r.Src, r.Dst = src, dst
	if orig.IsICMP() {
		r.ICMPID = sp
	} else {
		r.SrcPort, r.DstPort = sp, dp
	}
	return r
}

func applyExt(e *ctnat.Entry, x *LinuxExt) {
	if x == nil {
		return
	}
	if x.Has&ExtMark != 0 {
		e.Mark = x.Mark
	}
	if x.Has&ExtZone != 0 {
		e.Zone = x.Zone
		// The zone is part of the identity: the tuples stay, the key
		// changes.
	}
	if x.Has&ExtLabels != 0 {
		e.Labels = append([]byte(nil), x.Labels[:]...)
	}
}

// LocalTimeout is the time the local kernel would give e's state after a
// packet, with the kernel's default timeouts: what an update meaning
// "active just now" (UPD_C) sets.
func LocalTimeout(e ctnat.Entry) uint32 { return DefaultTimeouts.For(e) }

// Timeouts are a network namespace's conntrack timeouts in seconds
// (net.netfilter.nf_conntrack_*timeout*).
type Timeouts struct {
	TCP       [len(LinuxTCPTimeouts)]uint32 // per TCP_CONNTRACK_* state
	UDP       uint32                        // nf_conntrack_udp_timeout
	UDPStream uint32                        // nf_conntrack_udp_timeout_stream
	ICMP      uint32                        // nf_conntrack_icmp_timeout
}

// DefaultTimeouts are the kernel's defaults.
var DefaultTimeouts = Timeouts{TCP: LinuxTCPTimeouts, UDP: LinuxUDPTimeout, UDPStream: LinuxUDPStreamTimeout, ICMP: LinuxICMPTimeout}

// For returns the timeout a packet would give e.
func (t *Timeouts) For(e ctnat.Entry) uint32 {
	switch e.Orig.Proto {
	case unix.IPPROTO_TCP:
		if e.TCP != nil && int(e.TCP.State) < len(t.TCP) {
			return t.TCP[e.TCP.State]
		}
		return t.TCP[ctnat.TCPSynSent]
	case unix.IPPROTO_UDP:
		if e.Status&ctnat.StatusAssured != 0 {
			return t.UDPStream
		}
		return t.UDP
	}
	return t.ICMP
}

// KeepAlive is how often quiet entries must be refreshed on peers whose
// timeouts are t: a third of the shortest timeout of a live state (UDP,
// UDP stream, ICMP; closing TCP states need none), between 1 and 10 s.
func (t *Timeouts) KeepAlive() time.Duration {
	d := time.Duration(min(t.UDP, t.UDPStream, t.ICMP)) * time.Second / 3
	return min(max(d, time.Second), 10*time.Second)
}

// Merge applies an update's peers to the known entry e as pfsync's
// receiver does (pfsync_upd_tcp, reference §2.2): for each side the
// received peer is stale if its level is below ours or, for TCP, equal
// with our seqlo ahead (never, here: we carry no sequence numbers). It
// returns the entry to write (timeout "active now", TCP state) and how
// many of the two peers were stale. With two stale peers nothing is
// written and the caller answers with its own fresher update.
func Merge(e ctnat.Entry, src, dst StatePeer) (ctnat.Entry, int, error) {
	lsrc, ldst, _ := Peers(e)
	stale := 0
	if lsrc.State > src.State && !(e.Orig.Proto == unix.IPPROTO_TCP && lsrc.State >= TCPSProxySrc) {
		stale++
		src = lsrc
	}
	if ldst.State > dst.State {
		stale++
		dst = ldst
	}
	if stale == 2 {
		return e, stale, nil
	}
	n := e
	switch e.Orig.Proto {
	case unix.IPPROTO_TCP:
		t, err := ImportTCP(src, dst, false)
		if err != nil {
			return e, 0, err
		}
		if e.TCP != nil { // keep what the kernel knows; write only CLOSE_INIT
			t.WScaleOrig, t.WScaleReply = e.TCP.WScaleOrig, e.TCP.WScaleReply
			t.FlagsOrig |= e.TCP.FlagsOrig
			t.FlagsReply |= e.TCP.FlagsReply
		}
		n.TCP = &t
		// The entry may have been created from a SYN_SENT insert: the
		// reply seen since must reach the kernel too, or every packet
		// of the original direction stays IP_CT_NEW there
		// (resolve_normal_ct) and a stateful ruleset drops it after a
		// takeover.
		if dst.State > TCPSClosed {
			n.Status |= ctnat.StatusSeenReply
		}
		if src.State >= TCPSEstablished && dst.State >= TCPSEstablished {
			n.Status |= ctnat.StatusAssured
		}
	default:
		if src.State > PeerMultiple || dst.State > PeerMultiple {
			return e, 0, fmt.Errorf("%w: levels %d/%d", ErrBadState, src.State, dst.State)
		}
		if dst.State > PeerNoTraffic {
			n.Status |= ctnat.StatusSeenReply
		}
		if src.State == PeerMultiple && dst.State == PeerMultiple {
			n.Status |= ctnat.StatusAssured
		}
	}
	n.Timeout = LocalTimeout(n)
	return n, stale, nil
}
