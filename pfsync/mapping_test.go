package pfsync

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

var (
	client = netip.MustParseAddr("10.1.0.10")
	server = netip.MustParseAddr("192.0.2.10")
	natIP  = netip.MustParseAddr("198.51.100.1")
	c6     = netip.MustParseAddr("2001:db8::10")
	s6     = netip.MustParseAddr("2001:db8:1::10")

	addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
)

func tcpTuple(src, dst netip.Addr, sp, dp uint16) ctnat.Tuple {
	return ctnat.Tuple{Src: src, Dst: dst, Proto: unix.IPPROTO_TCP, SrcPort: sp, DstPort: dp}
}

func pfKey(a0 netip.Addr, p0 uint16, a1 netip.Addr, p1 uint16) StateKey {
	return StateKey{Addr: [2]PFAddr{AddrFrom(a0), AddrFrom(a1)}, Port: [2]uint16{p0, p1}, AF: afOf(a0)}
}

func estTCP() *ctnat.TCP {
	return &ctnat.TCP{State: ctnat.TCPEstablished, WScaleOrig: 7, WScaleReply: 9,
		FlagsOrig: ctnat.TCPFlagWindowScale | ctnat.TCPFlagSackPerm, FlagsReply: ctnat.TCPFlagWindowScale | ctnat.TCPFlagSackPerm}
}

func TestExportImport(t *testing.T) {
	ref := Ref{CreatorID: 0x11223344, ID: 0x6000000000000001}
	for _, tc := range []struct {
		name      string
		e         ctnat.Entry
		dir       Direction
		wire      StateKey
		stack     StateKey
		src, dst  uint8
		class     uint8
		expire    uint32
		snat      *ctnat.NAT
		dnat      *ctnat.NAT
		wantFlags uint16
	}{
		{
			name: "ok, tcp established without NAT",
			e: ctnat.Entry{Orig: tcpTuple(client, server, 40000, 80), Reply: tcpTuple(server, client, 80, 40000),
				Status: ctnat.StatusSeenReply | ctnat.StatusAssured | ctnat.StatusConfirmed, Timeout: 431999, TCP: estTCP()},
			dir:  DirIn,
			wire: pfKey(client, 40000, server, 80), stack: pfKey(client, 40000, server, 80),
			src: TCPSEstablished, dst: TCPSEstablished, class: TimeoutTCPEstablished, expire: 86400,
			wantFlags: StateSloppy,
		},
		{
			name: "ok, tcp with source NAT is an OUT state",
			e: ctnat.Entry{Orig: tcpTuple(client, server, 40000, 80), Reply: tcpTuple(server, natIP, 80, 1024),
				Status: ctnat.StatusSeenReply | ctnat.StatusAssured | ctnat.StatusSrcNAT, Timeout: 300, TCP: estTCP()},
			dir:  DirOut,
			wire: pfKey(server, 80, natIP, 1024), stack: pfKey(server, 80, client, 40000),
			src: TCPSEstablished, dst: TCPSEstablished, class: TimeoutTCPEstablished, expire: 300,
			snat: &ctnat.NAT{Addr: natIP, Port: 1024}, wantFlags: StateSloppy,
		},
		{
			name: "ok, tcp with destination NAT is an IN state",
			e: ctnat.Entry{Orig: tcpTuple(client, natIP, 40000, 80), Reply: tcpTuple(server, client, 8080, 40000),
				Status: ctnat.StatusSeenReply | ctnat.StatusDstNAT, Timeout: 50,
				TCP: &ctnat.TCP{State: ctnat.TCPSynRecv}},
			dir:  DirIn,
			wire: pfKey(client, 40000, natIP, 80), stack: pfKey(client, 40000, server, 8080),
			src: TCPSEstablished, dst: TCPSSynSent, class: TimeoutTCPOpening, expire: 30,
			dnat: &ctnat.NAT{Addr: server, Port: 8080}, wantFlags: StateSloppy,
		},
		{
			name: "ok, udp without reply",
			e: ctnat.Entry{Orig: ctnat.Tuple{Src: client, Dst: server, Proto: unix.IPPROTO_UDP, SrcPort: 5000, DstPort: 53},
				Reply: ctnat.Tuple{Src: server, Dst: client, Proto: unix.IPPROTO_UDP, SrcPort: 53, DstPort: 5000}, Timeout: 29},
			dir:  DirIn,
			wire: pfKey(client, 5000, server, 53), stack: pfKey(client, 5000, server, 53),
			src: PeerSingle, dst: PeerNoTraffic, class: TimeoutUDPFirstPacket, expire: 29,
		},
		{
			name: "ok, udp stream, IPv6",
			e: ctnat.Entry{Orig: ctnat.Tuple{Src: c6, Dst: s6, Proto: unix.IPPROTO_UDP, SrcPort: 5000, DstPort: 53},
				Reply:  ctnat.Tuple{Src: s6, Dst: c6, Proto: unix.IPPROTO_UDP, SrcPort: 53, DstPort: 5000},
				Status: ctnat.StatusSeenReply | ctnat.StatusAssured, Timeout: 119},
			dir:  DirIn,
			wire: pfKey(c6, 5000, s6, 53), stack: pfKey(c6, 5000, s6, 53),
			src: PeerMultiple, dst: PeerMultiple, class: TimeoutUDPMultiple, expire: 60,
		},
		{
			name: "ok, icmp echo with a reply",
			e: ctnat.Entry{Orig: ctnat.Tuple{Src: client, Dst: server, Proto: unix.IPPROTO_ICMP, ICMPType: 8, ICMPID: 77},
				Reply:  ctnat.Tuple{Src: server, Dst: client, Proto: unix.IPPROTO_ICMP, ICMPType: 0, ICMPID: 77},
				Status: ctnat.StatusSeenReply, Timeout: 25},
			dir:  DirIn,
			wire: pfKey(client, 77, server, 77), stack: pfKey(client, 77, server, 77),
			src: PeerMultiple, dst: PeerSingle, class: TimeoutICMPErrorReply, expire: 10,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, x, err := Export(tc.e, ref)
			if err != nil {
				t.Fatal(err)
			}
			if x != nil {
				t.Errorf("ext %+v, want none", x)
			}
			if s.Direction != tc.dir || s.Src.State != tc.src || s.Dst.State != tc.dst || s.Timeout != tc.class || s.Expire != tc.expire || s.Flags != tc.wantFlags {
				t.Errorf("dir %d levels %d/%d class %d expire %d flags %#x, want %d %d/%d %d %d %#x",
					s.Direction, s.Src.State, s.Dst.State, s.Timeout, s.Expire, s.Flags, tc.dir, tc.src, tc.dst, tc.class, tc.expire, tc.wantFlags)
			}
			if diff := cmp.Diff(tc.wire, s.Key[KeyWire]); diff != "" {
				t.Errorf("wire key (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stack, s.Key[KeyStack]); diff != "" {
				t.Errorf("stack key (-want +got):\n%s", diff)
			}
			if s.ID != ref.ID || s.CreatorID != ref.CreatorID || s.IfName != "all" || s.AF != afOf(tc.e.Orig.Src) {
				t.Errorf("identity %v/%v %q af %d", s.ID, s.CreatorID, s.IfName, s.AF)
			}
			// Through the wire and back into conntrack.
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got State
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			e, err := Import(&got, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.e.Orig, e.Orig, addrCmp); diff != "" {
				t.Errorf("imported orig (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.e.Reply, e.Reply, addrCmp); diff != "" {
				t.Errorf("imported reply (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.snat, e.SNAT, addrCmp); diff != "" {
				t.Errorf("SNAT (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.dnat, e.DNAT, addrCmp); diff != "" {
				t.Errorf("DNAT (-want +got):\n%s", diff)
			}
			keep := uint32(ctnat.StatusSeenReply | ctnat.StatusAssured | ctnat.StatusSrcNAT | ctnat.StatusDstNAT)
			if e.Status != tc.e.Status&keep {
				t.Errorf("status %#x, want %#x", e.Status, tc.e.Status&keep)
			}
			if e.Timeout != tc.expire {
				t.Errorf("timeout %d, want the exported %d", e.Timeout, tc.expire)
			}
			if tc.e.TCP != nil && e.TCP.State != tc.e.TCP.State {
				t.Errorf("tcp state %d, want %d", e.TCP.State, tc.e.TCP.State)
			}
		})
	}
}

func TestImportTCPWindowScale(t *testing.T) {
	e := ctnat.Entry{Orig: tcpTuple(client, server, 1, 2), Reply: tcpTuple(server, client, 2, 1), Timeout: 10, TCP: estTCP(),
		Status: ctnat.StatusSeenReply | ctnat.StatusAssured}
	s, _, _ := Export(e, Ref{1, 1})
	if s.Src.WScale != 7|WScaleFlag || s.Dst.WScale != 9|WScaleFlag {
		t.Fatalf("wscale %#x/%#x", s.Src.WScale, s.Dst.WScale)
	}
	got, err := Import(&s, nil)
	if err != nil {
		t.Fatal(err)
	}
	// WINDOW_SCALE|SACK_PERM|BE_LIBERAL: the windows cannot be written,
	// so the copy judges only RSTs against them (ImportTCP).
	want := &ctnat.TCP{State: ctnat.TCPEstablished, WScaleOrig: 7, WScaleReply: 9,
		FlagsOrig: 0x0b, FlagsReply: 0x0b, MaskOrig: 0x0b, MaskReply: 0x0b}
	if diff := cmp.Diff(want, got.TCP); diff != "" {
		t.Errorf("tcp (-want +got):\n%s", diff)
	}
	// No scaling negotiated on one side: scales are not written.
	s.Dst.WScale = 0
	got, _ = Import(&s, nil)
	if got.TCP.FlagsOrig&ctnat.TCPFlagWindowScale != 0 || got.TCP.WScaleOrig != 0 {
		t.Errorf("tcp %+v, want no window scaling", got.TCP)
	}
}

func TestTCPStatesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name       string
		state      uint8
		replyClose bool
		src, dst   uint8
		class      uint8
	}{
		{"ok, syn_sent", ctnat.TCPSynSent, false, TCPSSynSent, TCPSClosed, TimeoutTCPFirstPacket},
		{"ok, syn_sent2", ctnat.TCPSynSent2, false, TCPSSynSent, TCPSSynSent, TimeoutTCPOpening},
		{"ok, syn_recv", ctnat.TCPSynRecv, false, TCPSEstablished, TCPSSynSent, TimeoutTCPOpening},
		{"ok, established", ctnat.TCPEstablished, false, TCPSEstablished, TCPSEstablished, TimeoutTCPEstablished},
		{"ok, fin_wait by the initiator", ctnat.TCPFinWait, false, TCPSClosing, TCPSEstablished, TimeoutTCPClosing},
		{"ok, fin_wait by the responder", ctnat.TCPFinWait, true, TCPSEstablished, TCPSClosing, TimeoutTCPClosing},
		{"ok, close_wait", ctnat.TCPCloseWait, false, TCPSFinWait2, TCPSEstablished, TimeoutTCPClosing},
		{"ok, close_wait by the responder", ctnat.TCPCloseWait, true, TCPSEstablished, TCPSFinWait2, TimeoutTCPClosing},
		{"ok, last_ack", ctnat.TCPLastAck, false, TCPSFinWait2, TCPSClosing, TimeoutTCPFinWait},
		{"ok, last_ack by the responder", ctnat.TCPLastAck, true, TCPSClosing, TCPSFinWait2, TimeoutTCPFinWait},
		{"ok, time_wait", ctnat.TCPTimeWait, false, TCPSFinWait2, TCPSFinWait2, TimeoutTCPClosed},
		{"ok, close", ctnat.TCPClose, false, TCPSTimeWait, TCPSTimeWait, TimeoutTCPClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ti := &ctnat.TCP{State: tc.state}
			if tc.replyClose {
				ti.FlagsReply = ctnat.TCPFlagCloseInit
			}
			src, dst, class := tcpPeers(ti)
			if src.State != tc.src || dst.State != tc.dst || class != tc.class {
				t.Fatalf("peers %d/%d class %d, want %d/%d %d", src.State, dst.State, class, tc.src, tc.dst, tc.class)
			}
			st, replyClose, err := TCPFromPeers(src, dst)
			if err != nil {
				t.Fatal(err)
			}
			if st != tc.state {
				t.Errorf("back to state %d, want %d", st, tc.state)
			}
			if tc.state >= ctnat.TCPFinWait && tc.state <= ctnat.TCPLastAck && replyClose != tc.replyClose {
				t.Errorf("closer is reply: %v, want %v", replyClose, tc.replyClose)
			}
		})
	}
}

func TestSyncable(t *testing.T) {
	base := ctnat.Entry{Orig: tcpTuple(client, server, 1, 2), Reply: tcpTuple(server, client, 2, 1)}
	labels := make([]byte, 16)
	labels[15] = 0x80
	for _, tc := range []struct {
		name string
		mod  func(*ctnat.Entry)
		ok   bool
	}{
		{"ok, tcp", func(*ctnat.Entry) {}, true},
		{"ok, other labels", func(e *ctnat.Entry) { e.Labels = []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} }, true},
		{"bad, no-sync label bit 127", func(e *ctnat.Entry) { e.Labels = labels }, false},
		{"bad, no-sync mark", func(e *ctnat.Entry) { e.Mark = NoSyncMark | 5 }, false},
		{"bad, pfsync protocol", func(e *ctnat.Entry) { e.Orig.Proto, e.Reply.Proto = IPProto, IPProto }, false},
		{"bad, gre", func(e *ctnat.Entry) { e.Orig.Proto, e.Reply.Proto = 47, 47 }, false},
		{"bad, nat64", func(e *ctnat.Entry) { e.Reply.Src = s6 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.mod(&e)
			err := Syncable(e)
			if (err == nil) != tc.ok {
				t.Errorf("Syncable: %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("%v is not ErrUnsupported", err)
				}
				if _, _, err := Export(e, Ref{}); err == nil {
					t.Error("Export accepted it")
				}
				t.Logf("OK error: %v", err)
			}
		})
	}
}

func TestImportRejects(t *testing.T) {
	good := func() State {
		e := ctnat.Entry{Orig: tcpTuple(client, server, 1, 2), Reply: tcpTuple(server, client, 2, 1), TCP: estTCP(), Timeout: 5}
		s, _, _ := Export(e, Ref{1, 2})
		return s
	}
	for _, tc := range []struct {
		name string
		mod  func(*State)
		want error
	}{
		{"bad, af 0", func(s *State) { s.AF = 0 }, ErrBadState},
		{"bad, af-to (key af differs)", func(s *State) { s.Key[KeyStack].AF = AFInet6 }, ErrBadState},
		{"bad, protocol pfsync", func(s *State) { s.Proto = IPProto }, ErrBadState},
		{"bad, sctp", func(s *State) { s.Proto = 132 }, ErrUnsupported},
		{"bad, timeout class 20", func(s *State) { s.Timeout = TimeoutMax }, ErrBadState},
		{"bad, direction 0", func(s *State) { s.Direction = 0 }, ErrBadState},
		{"bad, tcp level 13", func(s *State) { s.Src.State = 13 }, ErrBadState},
		{"bad, synproxy", func(s *State) { s.Src.State = TCPSProxySrc }, ErrSynproxy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.mod(&s)
			_, err := Import(&s, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Import: %v, want %v", err, tc.want)
			}
			t.Logf("OK error: %v", err)
		})
	}
}

func TestExtCarriesMarkZoneLabels(t *testing.T) {
	labels := []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	e := ctnat.Entry{Orig: tcpTuple(client, server, 1, 2), Reply: tcpTuple(server, client, 2, 1), TCP: estTCP(),
		Timeout: 5, Mark: 0x42, Zone: 3, Labels: labels}
	s, x, err := Export(e, Ref{7, 8})
	if err != nil {
		t.Fatal(err)
	}
	want := &LinuxExt{ID: 8, CreatorID: 7, Has: ExtMark | ExtZone | ExtLabels, Zone: 3, Mark: 0x42, Labels: [16]byte(labels)}
	if diff := cmp.Diff(want, x); diff != "" {
		t.Fatalf("ext (-want +got):\n%s", diff)
	}
	got, err := Import(&s, x)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mark != 0x42 || got.Zone != 3 || !cmp.Equal(got.Labels, labels) {
		t.Errorf("imported mark %#x zone %d labels %x", got.Mark, got.Zone, got.Labels)
	}
}

func TestMerge(t *testing.T) {
	e := ctnat.Entry{Orig: tcpTuple(client, server, 1, 2), Reply: tcpTuple(server, client, 2, 1), TCP: estTCP(), Timeout: 5}
	// The peer saw the initiator's FIN: newer on one side.
	n, stale, err := Merge(e, StatePeer{State: TCPSClosing}, StatePeer{State: TCPSEstablished})
	if err != nil || stale != 0 {
		t.Fatalf("stale %d err %v", stale, err)
	}
	if n.TCP.State != ctnat.TCPFinWait || n.TCP.FlagsOrig&n.TCP.MaskOrig != ctnat.TCPFlagCloseInit || n.Timeout != LinuxTCPTimeouts[ctnat.TCPFinWait] {
		t.Errorf("merged %+v timeout %d", n.TCP, n.Timeout)
	}
	// An update older on both sides is stale and changes nothing.
	if _, stale, _ := Merge(e, StatePeer{State: TCPSSynSent}, StatePeer{State: TCPSClosed}); stale != 2 {
		t.Errorf("stale %d, want 2", stale)
	}
	u := ctnat.Entry{Orig: ctnat.Tuple{Src: client, Dst: server, Proto: unix.IPPROTO_UDP}, Reply: ctnat.Tuple{Src: server, Dst: client, Proto: unix.IPPROTO_UDP}}
	n, stale, _ = Merge(u, StatePeer{State: PeerMultiple}, StatePeer{State: PeerMultiple})
	if stale != 0 || n.Status&ctnat.StatusAssured == 0 || n.Timeout != LinuxUDPStreamTimeout {
		t.Errorf("udp merge: stale %d status %#x timeout %d", stale, n.Status, n.Timeout)
	}
}

// TestMergeSetsSeenReply: a TCP state first inserted while SYN_SENT (no
// reply yet) and then updated to ESTABLISHED must gain SEEN_REPLY and
// ASSURED in the kernel, or the receiver classifies every later packet
// of the original direction as NEW (resolve_normal_ct) and a stateful
// ruleset drops the stream after a takeover.
func TestMergeSetsSeenReply(t *testing.T) {
	s := State{Proto: unix.IPPROTO_TCP, Direction: DirOut, Src: StatePeer{State: TCPSSynSent}, Dst: StatePeer{State: TCPSClosed}}
	e := ctnat.Entry{Orig: tcpTuple(client, server, 1, 2), Reply: tcpTuple(server, client, 2, 1), Timeout: 30}
	first, err := ImportTCP(s.Src, s.Dst, true)
	if err != nil {
		t.Fatal(err)
	}
	e.TCP = &first
	if e.Status&ctnat.StatusSeenReply != 0 {
		t.Fatalf("SYN_SENT entry has SEEN_REPLY")
	}
	n, stale, err := Merge(e, StatePeer{State: TCPSEstablished}, StatePeer{State: TCPSEstablished})
	if err != nil || stale != 0 {
		t.Fatalf("stale %d err %v", stale, err)
	}
	if want := uint32(ctnat.StatusSeenReply | ctnat.StatusAssured); n.Status&want != want {
		t.Errorf("merged status %#x, want SEEN_REPLY|ASSURED set", n.Status)
	}
	// A reply seen but the handshake not complete: SEEN_REPLY only.
	n, _, _ = Merge(e, StatePeer{State: TCPSSynSent}, StatePeer{State: TCPSSynSent})
	if n.Status&ctnat.StatusSeenReply == 0 || n.Status&ctnat.StatusAssured != 0 {
		t.Errorf("SYN/SYN-ACK merge: status %#x, want SEEN_REPLY without ASSURED", n.Status)
	}
}
