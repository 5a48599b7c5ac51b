package ctnat

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestAppendRequestMatchesMarshal: the batch writer's encoder produces
// exactly the bytes of the library-built reference (Marshal and
// MarshalDelete through github.com/ti-mo/netfilter) for every kind of
// entry and operation.
func TestAppendRequestMatchesMarshal(t *testing.T) {
	for _, e := range testEntries() {
		for _, kind := range []OpKind{OpCreate, OpUpdate, OpDelete} {
			for _, ack := range []bool{false, true} {
				var m netlink.Message
				var err error
				if kind == OpDelete {
					m, err = MarshalDelete(e)
				} else {
					m, err = Marshal(e, kind == OpCreate)
				}
				if err != nil {
					t.Fatal(err)
				}
				m.Header.Sequence = 1234
				m.Header.Length = uint32(nlmsgHeaderLen + len(m.Data))
				if !ack {
					m.Header.Flags &^= netlink.Acknowledge
				}
				want, _ := m.MarshalBinary()
				got, err := appendRequest([]byte{0xee}, e, kind, 1234, ack)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[1:], want) || got[0] != 0xee {
					t.Errorf("%v kind %d ack %v:\n got % x\nwant % x", e.Orig, kind, ack, got[1:], want)
				}
			}
		}
	}
	mixed := Tuple{Src: netip.MustParseAddr("10.1.0.10"), Dst: netip.MustParseAddr("2001:db8:1::20")}
	if _, err := appendRequest(nil, Entry{Orig: mixed}, OpCreate, 1, true); err == nil {
		t.Error("mixed families accepted")
	}
	if _, err := appendRequest(nil, Entry{Orig: testEntries()[0].Orig}, OpCreate, 1, true); err == nil {
		t.Error("create without a timeout accepted")
	}
}

// testEntries are entries of every shape the encoder writes: TCP with
// window scaling, NAT bindings, mark, zone and labels, TCP without
// status, UDP over IPv6, ICMP and ICMPv6 queries.
func testEntries() []Entry {
	c4, s4, n4 := netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.1")
	c6, s6 := netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("2001:db8:1::20")
	tcp := Entry{
		Orig:    Tuple{Src: c4, Dst: s4, Proto: unix.IPPROTO_TCP, SrcPort: 40000, DstPort: 80},
		Status:  StatusSeenReply | StatusAssured,
		Timeout: 300,
		TCP:     &TCP{State: TCPEstablished, WScaleOrig: 7, WScaleReply: 6, FlagsOrig: 0x0b, FlagsReply: 0x0b, MaskOrig: 0x0b, MaskReply: 0x0b},
	}
	nat := tcp
	nat.SNAT, nat.DNAT = &NAT{Addr: n4, Port: 1024}, &NAT{Addr: s4}
	marked := tcp
	marked.Mark, marked.Zone, marked.Labels = 0x42, 3, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	plainTCP := tcp
	plainTCP.TCP = &TCP{State: TCPSynSent}
	plainTCP.Status = 0
	udp6 := Entry{Orig: Tuple{Src: c6, Dst: s6, Proto: unix.IPPROTO_UDP, SrcPort: 5353, DstPort: 53}, Timeout: 30}
	icmp := Entry{Orig: Tuple{Src: c4, Dst: s4, Proto: unix.IPPROTO_ICMP, ICMPID: 77, ICMPType: 8}, Timeout: 30}
	icmp6 := Entry{Orig: Tuple{Src: c6, Dst: s6, Proto: unix.IPPROTO_ICMPV6, ICMPID: 9, ICMPType: 128}, Timeout: 30, Status: StatusSeenReply}
	return []Entry{tcp, nat, marked, plainTCP, udp6, icmp, icmp6}
}
