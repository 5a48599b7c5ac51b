package ctnat

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

// libraryDecode is the reference DecodeEntry must match: the event
// decoder of github.com/ti-mo/conntrack, then FromFlow.
func libraryDecode(data []byte) (Entry, bool) {
	m := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(uint16(netfilter.NFSubsysCTNetlink)<<8 | ipctnlMsgCtNew), Flags: netlink.Create | netlink.Excl},
		Data:   data,
	}
	var ev conntrack.Event
	if ev.Unmarshal(m) != nil || ev.Flow == nil {
		return Entry{}, false
	}
	return FromFlow(ev.Flow), true
}

// decodeCorpus returns message payloads (nfgenmsg and attributes) of
// every shape the encoder writes, with the attributes only the kernel
// adds (CTA_ID) appended.
func decodeCorpus(t testing.TB) [][]byte {
	c4, s4, n4 := netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.1")
	c6, s6 := netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("2001:db8:1::20")
	tcp := Entry{
		Orig:    Tuple{Src: c4, Dst: s4, Proto: unix.IPPROTO_TCP, SrcPort: 40000, DstPort: 80},
		Status:  StatusSeenReply | StatusAssured,
		Timeout: 300,
		Mark:    7,
		TCP:     &TCP{State: TCPEstablished, WScaleOrig: 7, WScaleReply: 6, FlagsOrig: 0x0b, FlagsReply: 0x0b, MaskOrig: 0x0b, MaskReply: 0x0b},
	}
	nat := tcp
	nat.SNAT, nat.DNAT = &NAT{Addr: n4, Port: 1024}, &NAT{Addr: s4}
	marked := tcp
	marked.Zone, marked.Labels = 3, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	udp6 := Entry{Orig: Tuple{Src: c6, Dst: s6, Proto: unix.IPPROTO_UDP, SrcPort: 5353, DstPort: 53}, Timeout: 30}
	icmp := Entry{Orig: Tuple{Src: c4, Dst: s4, Proto: unix.IPPROTO_ICMP, ICMPID: 77, ICMPType: 8}, Timeout: 30}
	icmp6 := Entry{Orig: Tuple{Src: c6, Dst: s6, Proto: unix.IPPROTO_ICMPV6, ICMPID: 9, ICMPType: 128}, Timeout: 30, Status: StatusSeenReply}
	var out [][]byte
	for _, e := range []Entry{tcp, nat, marked, udp6, icmp, icmp6} {
		for _, kind := range []OpKind{OpCreate, OpUpdate, OpDelete} {
			b, err := appendRequest(nil, e, kind, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			b = attrBE32(b, ctaID, 0xdeadbeef)
			out = append(out, b[nlmsgHeaderLen:])
		}
	}
	return out
}

// TestDecodeEntryMatchesLibrary: the worker's event decoder reads every
// attribute the pfsync mapping uses exactly as the library does.
func TestDecodeEntryMatchesLibrary(t *testing.T) {
	for i, data := range decodeCorpus(t) {
		want, ok := libraryDecode(data)
		if !ok {
			t.Fatalf("message %d: the library refuses it", i)
		}
		got, err := DecodeEntry(data)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
			t.Errorf("message %d (-library +DecodeEntry):\n%s", i, d)
		}
	}
}

// TestDecodeEntryAllocations: one allocation at most (the TCP information).
func TestDecodeEntryAllocations(t *testing.T) {
	data := decodeCorpus(t)[0]
	if n := testing.AllocsPerRun(100, func() { DecodeEntry(data) }); n > 1 {
		t.Errorf("DecodeEntry allocates %v times per message, want at most 1", n)
	}
}

// FuzzDecodeEntry: no panic on any input, and what both decoders accept
// decodes to the same entry.
func FuzzDecodeEntry(f *testing.F) {
	for _, d := range decodeCorpus(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeEntry(data)
		want, ok := libraryDecode(data)
		if !ok {
			return
		}
		if err != nil {
			// Stricter than the library, which accepts an entry with no
			// tuple (useless to the worker) and attributes of length 0
			// (that the kernel never writes).
			return
		}
		if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
			t.Errorf("(-library +DecodeEntry):\n%s", d)
		}
	})
}

func BenchmarkDecodeEntry(b *testing.B) {
	data := decodeCorpus(b)[0]
	b.Run("DecodeEntry", func(b *testing.B) {
		for b.Loop() {
			DecodeEntry(data)
		}
	})
	b.Run("library", func(b *testing.B) {
		for b.Loop() {
			libraryDecode(data)
		}
	})
}
