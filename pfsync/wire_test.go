package pfsync

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readHex reads a golden packet from testdata: hex digits, with
// whitespace and "#" comments ignored.
func readHex(tb testing.TB, name string) []byte {
	tb.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return mustHex(tb, string(text))
}

var hexNoise = regexp.MustCompile(`(?m)#.*$|\s+`)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(hexNoise.ReplaceAllString(s, ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func v4(s string) PFAddr { return AddrFrom(netip.MustParseAddr(s)) }

const (
	creator  = 0x11223344
	creator2 = 0xa1b2c3d4
	idBase   = 0x5f3e1a2b_00000000
)

var established = StatePeer{MaxWin: 64240, MSS: 1460, State: TCPSEstablished, WScale: WScaleFlag | 7}

// insState is the state of testdata/ins.hex, written from reference §1.6.
var insState = State{
	ID:     idBase + 1,
	IfName: "all",
	Key: [2]StateKey{
		{Addr: [2]PFAddr{v4("198.51.100.7"), v4("203.0.113.1")}, Port: [2]uint16{443, 50123}, AF: AFInet},
		{Addr: [2]PFAddr{v4("198.51.100.7"), v4("10.0.0.5")}, Port: [2]uint16{443, 34567}, AF: AFInet},
	},
	Src: StatePeer{
		Scrub: StateScrub{Flags: ScrubTimestamp, TTL: 64, Valid: ScrubFlagValid, TSMod: 0x01020304},
		SeqLo: 0x1000a000, SeqHi: 0x1001b000, SeqDiff: 0xabc,
		MaxWin: 64240, MSS: 1460, State: TCPSEstablished, WScale: WScaleFlag | 7,
	},
	Dst: StatePeer{
		SeqLo: 0x2000c000, SeqHi: 0x2001d000,
		MaxWin: 65535, MSS: 1440, State: TCPSEstablished, WScale: WScaleFlag | 8,
	},
	Rule: 3, Anchor: 0xffffffff, NATRule: 0xffffffff,
	Creation: 60, Expire: 86340,
	Packets:   [2]uint64{1<<32 | 2, 5},
	Bytes:     [2]uint64{0x1234, 2<<32 | 0x5678},
	CreatorID: creator,
	RtableID:  [2]int32{0, -1},
	MaxMSS:    1440,
	AF:        AFInet, Proto: 6, Direction: DirOut, Log: 1,
	Rt: RtNone, Timeout: TimeoutTCPEstablished, SyncFlags: SyncSrcNode,
	MinTTL: 32, SetTOS: 0x10, Flags: StateSloppy | StateSetTOS, SetPrio: [2]uint8{3, 4},
}

// updState is the state of testdata/upd.hex.
var updState = func() State {
	c, s := AddrFrom(netip.MustParseAddr("2001:db8::10")), AddrFrom(netip.MustParseAddr("2001:db8:1::53"))
	return State{
		ID:     idBase + 2,
		IfName: "em0",
		Key: [2]StateKey{
			{Addr: [2]PFAddr{c, s}, Port: [2]uint16{53000, 53}, RDomain: 7, AF: AFInet6},
			{Addr: [2]PFAddr{c, s}, Port: [2]uint16{53000, 53}, RDomain: 7},
		},
		Src:    StatePeer{State: PeerMultiple},
		Dst:    StatePeer{State: PeerSingle},
		RtAddr: AddrFrom(netip.MustParseAddr("2001:db8::1")),
		Rule:   0xffffffff, Anchor: 0xffffffff, NATRule: 0xffffffff,
		Creation: 5, Expire: 55,
		Packets:   [2]uint64{3, 2},
		Bytes:     [2]uint64{180, 240},
		CreatorID: creator2,
		RtableID:  [2]int32{7, 7},
		AF:        AFInet6, Proto: 17, Direction: DirIn,
		Rt: RtRouteTo, Timeout: TimeoutUDPMultiple,
	}
}()

func sec(a Action, rs ...Record) Section { return Section{Action: a, Records: rs} }

// golden are packets that marshal to exactly their testdata file and
// parse back to the same value.
var golden = []struct {
	name, file string
	p          Packet
}{
	{"ok, CLR all interfaces and em0", "clr.hex", Packet{Sections: []Section{
		sec(ActionClr, &Clr{CreatorID: creator}, &Clr{IfName: "em0", CreatorID: creator}),
	}}},
	{"ok, INS_ACK", "ins_ack.hex", Packet{Sections: []Section{
		sec(ActionInsAck, &InsAck{ID: idBase + 1, CreatorID: creator}),
	}}},
	{"ok, UPD_C established TCP", "upd_c.hex", Packet{Sections: []Section{
		sec(ActionUpdC, &UpdC{
			ID:  idBase + 7,
			Src: func() StatePeer { p := established; p.SeqLo, p.SeqHi = 0x1000a000, 0x1001b000; return p }(),
			Dst: func() StatePeer {
				p := established
				p.SeqLo, p.SeqHi, p.MaxWin = 0x2000c000, 0x2001d000, 65535
				return p
			}(),
			CreatorID: creator, Timeout: TimeoutTCPEstablished,
		}),
	}}},
	{"ok, UPD_REQ bulk and one state", "upd_req.hex", Packet{Sections: []Section{
		sec(ActionUpdReq, &UpdReq{}, &UpdReq{ID: idBase + 9, CreatorID: creator2}),
	}}},
	{"ok, DEL full state with only id and creatorid", "del.hex", Packet{Sections: []Section{
		sec(ActionDel, &State{ID: idBase + 4, CreatorID: creator, AF: AFInet}),
	}}},
	{"ok, DEL_C", "del_c.hex", Packet{Sections: []Section{
		sec(ActionDelC, &DelC{ID: idBase + 3, CreatorID: creator}),
	}}},
	{"ok, BUS start", "bus.hex", Packet{Sections: []Section{
		sec(ActionBus, &Bus{CreatorID: creator, Status: BusStart}),
	}}},
	{"ok, INS IPv4 TCP with nat-to and scrub", "ins.hex", Packet{Sections: []Section{
		sec(ActionIns, &insState),
	}}},
	{"ok, UPD IPv6 UDP with route-to", "upd.hex", Packet{Sections: []Section{
		sec(ActionUpd, &updState),
	}}},
	{"ok, TDB", "tdb.hex", Packet{Sections: []Section{
		sec(ActionTDB, &TDB{
			SPI: 0x1234,
			Dst: [28]byte{16, 2, 0, 0, 192, 0, 2, 1},
			Rpl: 1<<32 | 0x4010, CurBytes: 1000000, SProto: 50, Updates: 1,
		}),
	}}},
	{"ok, EOF after DEL_C", "eof.hex", Packet{Sections: []Section{
		sec(ActionDelC, &DelC{ID: idBase + 3, CreatorID: creator}),
		{Action: ActionEOF, Raw: &Raw{Data: []byte{}}},
	}}},
	{"ok, LINUX_EXT", "linux_ext.hex", Packet{Sections: []Section{
		sec(ActionLinuxExt, &LinuxExt{
			ID: idBase + 1, CreatorID: creator,
			Has: ExtMark | ExtZone | ExtLabels, Zone: 2, Mark: 0xdeadbeef,
			Labels: [16]byte{0: 0x01, 15: 0x80},
		}),
	}}},
	{"ok, several sections in OpenBSD's order and a checksum", "multi.hex", Packet{
		Checksum: [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
		Sections: []Section{
			sec(ActionInsAck, &InsAck{ID: idBase + 10, CreatorID: creator}),
			sec(ActionUpdC, &UpdC{
				ID:  idBase + 11,
				Src: StatePeer{State: PeerSingle}, CreatorID: creator, Timeout: TimeoutOtherSingle,
			}),
			sec(ActionDelC, &DelC{ID: idBase + 12, CreatorID: creator}, &DelC{ID: idBase + 13, CreatorID: creator2}),
			sec(ActionBus, &Bus{CreatorID: creator2, Status: BusEnd}),
			sec(ActionLinuxExt, &LinuxExt{ID: idBase + 10, CreatorID: creator, Has: ExtMark, Mark: 42}),
		},
	}},
	{"ok, unknown and deprecated actions kept undecoded", "unknown.hex", Packet{Sections: []Section{
		{Action: 0x20, Raw: &Raw{Len: 2, Count: 2, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}},
		sec(ActionDelC, &DelC{ID: idBase + 3, CreatorID: creator}),
		{Action: ActionOIns, Raw: &Raw{Len: 1, Count: 1, Data: []byte{0xde, 0xad, 0xbe, 0xef}}},
	}}},
	{"ok, CLR records shorter than pfsync_clr kept undecoded", "short_records.hex", Packet{Sections: []Section{
		{Action: ActionClr, Raw: &Raw{Len: 4, Count: 1, Data: append([]byte("em0"), make([]byte, 13)...)}},
		sec(ActionBus, &Bus{CreatorID: creator, Status: BusEnd}),
	}}},
}

func TestGolden(t *testing.T) {
	for _, tc := range golden {
		t.Run(tc.name, func(t *testing.T) {
			want := readHex(t, tc.file)
			got, err := tc.p.MarshalBinary()
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if diff := cmp.Diff(hexLines(want), hexLines(got)); diff != "" {
				t.Errorf("marshal bytes (-want +got):\n%s", diff)
			}
			p, err := ParsePacket(want)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(&tc.p, p); diff != "" {
				t.Errorf("parse (-want +got):\n%s", diff)
			}
		})
	}
}

// hexLines shows b 4 bytes a line with offsets, so a diff points at the
// field that differs.
func hexLines(b []byte) []string {
	var out []string
	for i := 0; i < len(b); i += 4 {
		out = append(out, fmt.Sprintf("%3d: % x", i, b[i:min(i+4, len(b))]))
	}
	return out
}

func TestParseLenient(t *testing.T) {
	// Longer records, a short tail and bytes past len: parse only; the
	// packet marshals to its canonical form, which parses the same.
	b := readHex(t, "long_records.hex")
	want := &Packet{Sections: []Section{
		sec(ActionDelC, &DelC{ID: idBase + 3, CreatorID: creator}, &DelC{ID: idBase + 4, CreatorID: creator}),
	}}
	p, err := ParsePacket(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Fatalf("parse (-want +got):\n%s", diff)
	}
	out, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	canon := mustHex(t, `06 00 00 30 00000000000000000000000000000000
		07 03 00 02 5f3e1a2b00000003 11223344 5f3e1a2b00000004 11223344`)
	if diff := cmp.Diff(hexLines(canon), hexLines(out)); diff != "" {
		t.Errorf("canonical bytes (-want +got):\n%s", diff)
	}
}

const hdr0 = "00000000000000000000000000000000" // zero pfcksum

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hex      string
		want     error
		sections int // sections returned with the error
	}{
		{"bad, empty", "", ErrShortPacket, 0},
		{"bad, 19 bytes", "06000013" + hdr0[:30], ErrShortPacket, 0},
		{"bad, version 5 (FreeBSD)", "05000014" + hdr0, ErrBadVersion, 0},
		{"bad, version 0", "00000014" + hdr0, ErrBadVersion, 0},
		{"bad, len past the end", "06000015" + hdr0, ErrBadLength, 0},
		{"bad, len below the header", "06000013" + hdr0 + "00", ErrBadLength, 0},
		{"bad, section past the end", "06000024" + hdr0 + "07030002" + "5f3e1a2b0000000311223344", ErrBadLength, 0},
		{"bad, second section past the end", "06000034" + hdr0 +
			"07030001 5f3e1a2b0000000311223344" + "0d420001 0000000000000000 0000000000000000", ErrBadLength, 1},
		{"bad, largest count × len", "06000018" + hdr0 + "0dffffff", ErrBadLength, 0},
		{"bad, unknown action with count 0", "06000018" + hdr0 + "20020000", ErrBadAction, 0},
		{"bad, unknown action with len 0", "06000018" + hdr0 + "20000005", ErrBadAction, 0},
		{"bad, LINUX_EXT with count 0", "06000018" + hdr0 + "f0090000", ErrBadAction, 0},
		{"bad, INS with len 0 after DEL_C", "06000028" + hdr0 +
			"07030001 5f3e1a2b0000000311223344" + "0d000001", ErrBadAction, 1},
		{"bad, short CLR with count 0", "06000018" + hdr0 + "00040000", ErrBadAction, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePacket(mustHex(t, tc.hex))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			t.Logf("OK error: %v", err)
			n := 0
			if p != nil {
				n = len(p.Sections)
			}
			if n != tc.sections {
				t.Errorf("%d sections before the error, want %d", n, tc.sections)
			}
			var q Packet
			if err := q.UnmarshalBinary(mustHex(t, tc.hex)); err == nil || q.Sections != nil {
				t.Errorf("UnmarshalBinary: %v, %d sections; want error, none", err, len(q.Sections))
			}
		})
	}
}

func TestParseOK(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want *Packet
	}{
		{"ok, header only", "06000014" + hdr0, &Packet{}},
		{"ok, INS with count 0 and a longer len", "06000018" + hdr0 + "0d460000", &Packet{Sections: []Section{{Action: ActionIns}}}},
		{"ok, deprecated OUPD with len 0 and count 3 is skipped", "06000018" + hdr0 + "03000003",
			&Packet{Sections: []Section{{Action: ActionOUpd, Raw: &Raw{Count: 3, Data: []byte{}}}}}},
		{"ok, LINUX_EXT shorter than ours kept undecoded", "06000020" + hdr0 + "f0010002 01020304 05060708",
			&Packet{Sections: []Section{{Action: ActionLinuxExt, Raw: &Raw{Len: 1, Count: 2, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}}}},
		{"ok, ifname without NUL cut to 15 bytes", "0600002c" + hdr0 + "00050001" +
			"6162636465666768696a6b6c6d6e6f70 00000001",
			&Packet{Sections: []Section{sec(ActionClr, &Clr{IfName: "abcdefghijklmno", CreatorID: 1})}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePacket(mustHex(t, tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, p); diff != "" {
				t.Errorf("parse (-want +got):\n%s", diff)
			}
			roundTrip(t, p)
		})
	}
}

// roundTrip checks that p marshals, and that the bytes parse back to p.
func roundTrip(t testing.TB, p *Packet) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal of a parsed packet: %v", err)
	}
	q, err := ParsePacket(b)
	if err != nil {
		t.Fatalf("parse of a marshalled packet: %v", err)
	}
	if diff := cmp.Diff(p, q); diff != "" {
		t.Fatalf("parse → marshal → parse (-first +second):\n%s", diff)
	}
	return b
}

func TestMarshalErrors(t *testing.T) {
	many := make([]Record, 249) // 249 × 264 bytes is past 65535
	for i := range many {
		many[i] = &State{}
	}
	for _, tc := range []struct {
		name string
		s    Section
		want error
	}{
		{"bad, ifname of 16 bytes", sec(ActionClr, &Clr{IfName: "abcdefghijklmnop"}), ErrBadIfname},
		{"bad, ifname with NUL", sec(ActionIns, &State{IfName: "em\x000"}), ErrBadIfname},
		{"bad, State in a DEL_C section", sec(ActionDelC, &State{}), ErrBadRecord},
		{"bad, nil record", sec(ActionDelC, nil), ErrBadRecord},
		{"bad, records for EOF", sec(ActionEOF, &DelC{}), ErrBadRecord},
		{"bad, unknown action with no records", Section{Action: 0x20}, ErrBadAction},
		{"bad, LINUX_EXT with no records", Section{Action: ActionLinuxExt}, ErrBadAction},
		{"bad, raw LINUX_EXT with count 0", Section{Action: ActionLinuxExt, Raw: &Raw{Len: 1}}, ErrBadAction},
		{"bad, raw data that would decode", Section{Action: ActionDelC, Raw: &Raw{Len: 3, Count: 1, Data: make([]byte, 12)}}, ErrBadRecord},
		{"bad, raw data of the wrong size", Section{Action: 0x20, Raw: &Raw{Len: 1, Count: 2, Data: make([]byte, 4)}}, ErrBadRecord},
		{"bad, raw and records", Section{Action: 0x20, Records: []Record{&DelC{}}, Raw: &Raw{Len: 1, Count: 1, Data: make([]byte, 4)}}, ErrBadRecord},
		{"bad, packet past 65535 bytes", sec(ActionUpd, many...), ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Packet{Sections: []Section{sec(ActionInsAck, &InsAck{}), tc.s}}
			_, err := p.MarshalBinary()
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			t.Logf("OK error: %v", err)
		})
	}
}
