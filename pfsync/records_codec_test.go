package pfsync

import (
	"encoding"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Each record alone: MarshalBinary gives its struct's size and
// UnmarshalBinary reads it back; one byte less is ErrShortRecord and
// leaves the value untouched.
func TestRecordCodecs(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Record
		size int
	}{
		{"ok, State", &insState, StateLen},
		{"ok, Clr", &Clr{IfName: "em0", CreatorID: creator}, ClrLen},
		{"ok, InsAck", &InsAck{ID: 1, CreatorID: 2}, RefLen},
		{"ok, UpdReq", &UpdReq{ID: 1, CreatorID: 2}, RefLen},
		{"ok, DelC", &DelC{ID: 1, CreatorID: 2}, RefLen},
		{"ok, UpdC", &UpdC{ID: 1, Src: established, Dst: established, CreatorID: 2, Expire: 3, Timeout: 4, Flags: 5}, UpdCLen},
		{"ok, Bus", &Bus{CreatorID: 1, EndTime: 2, Status: BusEnd}, BusLen},
		{"ok, TDB", &TDB{SPI: 1, Dst: [28]byte{28, 24}, Rpl: 2, CurBytes: 3, SProto: 50, Updates: 4, RDomain: 5}, TDBLen},
		{"ok, LinuxExt", &LinuxExt{ID: 1, CreatorID: 2, Has: ExtZone, Zone: 3, Mark: 4, Labels: [16]byte{5}}, LinuxExtLen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.r.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.size || tc.r.size() != tc.size {
				t.Fatalf("%d bytes, size() %d, want %d", len(b), tc.r.size(), tc.size)
			}
			got := newLike(tc.r)
			if err := got.UnmarshalBinary(append(b, 0xee, 0xee)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.r, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if err := got.UnmarshalBinary(b[:len(b)-1]); !errors.Is(err, ErrShortRecord) {
				t.Fatalf("bad, one byte short: error %v, want %v", err, ErrShortRecord)
			}
			if diff := cmp.Diff(tc.r, got); diff != "" {
				t.Errorf("a failed decode changed the value (-want +got):\n%s", diff)
			}
		})
	}
}

func newLike(r Record) Record {
	switch r.(type) {
	case *State:
		return new(State)
	case *Clr:
		return new(Clr)
	case *InsAck:
		return new(InsAck)
	case *UpdReq:
		return new(UpdReq)
	case *DelC:
		return new(DelC)
	case *UpdC:
		return new(UpdC)
	case *Bus:
		return new(Bus)
	case *TDB:
		return new(TDB)
	case *LinuxExt:
		return new(LinuxExt)
	}
	panic(r)
}

func TestHeaderCodecs(t *testing.T) {
	h := Header{Version: 5, Len: 0x1234, Checksum: [16]byte{1, 15: 2}}
	b, _ := h.MarshalBinary()
	want := mustHex(t, "05 00 1234 01000000000000000000000000000002")
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("header bytes (-want +got):\n%s", diff)
	}
	var g Header
	if err := g.UnmarshalBinary(b); err != nil || g != h {
		t.Errorf("header: %+v, %v", g, err)
	}
	if err := g.UnmarshalBinary(b[:19]); !errors.Is(err, ErrShortPacket) {
		t.Errorf("bad, short header: %v", err)
	}
	s := Subheader{Action: ActionIns, Len: 66, Count: 0x0102}
	b, _ = s.MarshalBinary()
	if diff := cmp.Diff([]byte{13, 66, 1, 2}, b); diff != "" {
		t.Errorf("subheader bytes (-want +got):\n%s", diff)
	}
	var gs Subheader
	if err := gs.UnmarshalBinary(b); err != nil || gs != s {
		t.Errorf("subheader: %+v, %v", gs, err)
	}
	if err := gs.UnmarshalBinary(b[:3]); !errors.Is(err, ErrShortRecord) {
		t.Errorf("bad, short subheader: %v", err)
	}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		a    Action
		name string
		size int
	}{
		{ActionClr, "CLR", 20}, {ActionOIns, "OINS", 0}, {ActionInsAck, "INS_ACK", 12},
		{ActionOUpd, "OUPD", 0}, {ActionUpdC, "UPD_C", 84}, {ActionUpdReq, "UPD_REQ", 12},
		{ActionDel, "DEL", 264}, {ActionDelC, "DEL_C", 12}, {ActionInsF, "INS_F", 0},
		{ActionDelF, "DEL_F", 0}, {ActionBus, "BUS", 12}, {ActionOTDB, "OTDB", 0},
		{ActionEOF, "EOF", 0}, {ActionIns, "INS", 264}, {ActionUpd, "UPD", 264},
		{ActionTDB, "TDB", 52}, {ActionMax, "ACTION(16)", 0}, {ActionLinuxExt, "LINUX_EXT", 36},
		{255, "ACTION(255)", 0},
	} {
		if got := tc.a.String(); got != tc.name {
			t.Errorf("Action(%d).String() = %q, want %q", uint8(tc.a), got, tc.name)
		}
		if got := tc.a.RecordLen(); got != tc.size {
			t.Errorf("%v.RecordLen() = %d, want %d", tc.a, got, tc.size)
		}
		if r := newRecord(tc.a); (r != nil) != (tc.size > 0) || r != nil && (r.size() != tc.size || !fits(tc.a, r)) {
			t.Errorf("newRecord(%v) = %T", tc.a, r)
		}
	}
}

func TestAddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		ip   string
		af   AF
	}{
		{"ok, IPv4 in the first 4 bytes", "192.0.2.1", AFInet},
		{"ok, IPv6", "2001:db8::1", AFInet6},
		{"ok, IPv4-mapped stays 16 bytes", "::ffff:192.0.2.1", AFInet6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			if got := AddrFrom(ip).As(tc.af); got != ip {
				t.Errorf("AddrFrom(%v).As(%d) = %v", ip, tc.af, got)
			}
		})
	}
	if a := AddrFrom(netip.MustParseAddr("192.0.2.1")); a != (PFAddr{192, 0, 2, 1}) {
		t.Errorf("IPv4 layout: % x", a[:])
	}
	if got := (PFAddr{1}).As(AFUnspec); got.IsValid() {
		t.Errorf("bad, family 0: %v", got)
	}
	if got := AddrFrom(netip.Addr{}); got != (PFAddr{}) {
		t.Errorf("zero netip.Addr: % x", got[:])
	}
}

func TestTDBDstAddr(t *testing.T) {
	v4 := TDB{Dst: [28]byte{16, 2, 0, 0, 192, 0, 2, 1}}
	v6 := TDB{Dst: [28]byte{28, 24, 0, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 23: 1}}
	for _, tc := range []struct {
		name string
		t    TDB
		want netip.Addr
	}{
		{"ok, sockaddr_in", v4, netip.MustParseAddr("192.0.2.1")},
		{"ok, sockaddr_in6", v6, netip.MustParseAddr("2001:db8::1")},
		{"bad, family 0", TDB{}, netip.Addr{}},
	} {
		if got := tc.t.DstAddr(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUpdReqIsBulk(t *testing.T) {
	if !(&UpdReq{}).IsBulk() || (&UpdReq{CreatorID: 1}).IsBulk() || (&UpdReq{ID: 1}).IsBulk() {
		t.Error("IsBulk: only id 0 with creatorid 0 is the bulk request")
	}
}

// Compile-time checks that every record type is a Record.
var (
	_ Record                     = (*State)(nil)
	_ Record                     = (*Clr)(nil)
	_ Record                     = (*InsAck)(nil)
	_ Record                     = (*UpdReq)(nil)
	_ Record                     = (*DelC)(nil)
	_ Record                     = (*UpdC)(nil)
	_ Record                     = (*Bus)(nil)
	_ Record                     = (*TDB)(nil)
	_ Record                     = (*LinuxExt)(nil)
	_ encoding.BinaryMarshaler   = (*Packet)(nil)
	_ encoding.BinaryUnmarshaler = (*Packet)(nil)
	_ encoding.BinaryAppender    = (*Packet)(nil)
)

func TestAppendBinary(t *testing.T) {
	p := golden[0].p
	want, _ := p.MarshalBinary()
	got, err := p.AppendBinary([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append([]byte("prefix"), want...), got); diff != "" {
		t.Errorf("AppendBinary (-want +got):\n%s", diff)
	}
}
