package ctnat

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
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
	var out [][]byte
	for _, e := range testEntries() {
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
