package pfsync

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTshark is an independent check of the encoder: every golden packet
// is marshalled from its Go value, wrapped in an IPv4 header as pfsync
// sends it, and decoded by tshark with testdata/pfsync.lua, a dissector
// written from the reference alone. The fields tshark prints must be the
// Go values. Skipped without tshark, or with -short.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil || testing.Short() {
		t.Skip("tshark not installed, or -short")
	}
	lua, err := filepath.Abs(filepath.Join("testdata", "pfsync.lua"))
	if err != nil {
		t.Fatal(err)
	}
	// One capture with all packets, one tshark run: it starts slowly.
	// The fields asked for are the union; absent ones print empty.
	var frames [][]byte
	var want [][]tsharkField
	for _, tc := range golden {
		b, err := tc.p.MarshalBinary()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		frames = append(frames, b)
		want = append(want, tsharkFields(&tc.p))
	}
	pcap := filepath.Join(t.TempDir(), "pfsync.pcap")
	if err := os.WriteFile(pcap, pcapIPv4(frames...), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-X", "lua_script:" + lua, "-r", pcap, "-T", "fields",
		"-E", "separator=|", "-E", "aggregator=,",
		"-e", "ip.proto", "-e", "ip.ttl", "-e", "pfsync6.version", "-e", "pfsync6.len"}
	for _, f := range want[0] {
		args = append(args, "-e", "pfsync6."+f.name)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(golden) {
		t.Fatalf("tshark printed %d packets, want %d:\n%s", len(lines), len(golden), out)
	}
	for i, tc := range golden {
		exp := []string{"240", "255", "6", fmt.Sprint(len(frames[i]))}
		for _, f := range want[i] {
			exp = append(exp, strings.Join(f.values, ","))
		}
		if diff := cmp.Diff(exp, strings.Split(lines[i], "|")); diff != "" {
			t.Errorf("%s: tshark fields (-want +got):\n%s", tc.name, diff)
		}
	}
}

type tsharkField struct {
	name   string
	values []string
}

// tsharkFields lists what pfsync.lua should print for p, field by field
// in packet order, formatted as tshark prints them.
func tsharkFields(p *Packet) []tsharkField {
	fs := []tsharkField{{name: "action"}, {name: "count"}, {name: "id"}, {name: "creatorid"},
		{name: "port"}, {name: "expire"}, {name: "packets"}, {name: "bytes"}, {name: "rtableid"},
		{name: "proto"}, {name: "spi"}, {name: "rpl"}, {name: "zone"}, {name: "mark"}}
	add := func(name string, format string, v ...any) {
		for i := range fs {
			if fs[i].name == name {
				for _, x := range v {
					fs[i].values = append(fs[i].values, fmt.Sprintf(format, x))
				}
			}
		}
	}
	for _, s := range p.Sections {
		add("action", "%d", uint8(s.Action))
		if s.Raw != nil {
			add("count", "%d", s.Raw.Count)
			continue
		}
		add("count", "%d", len(s.Records))
		for _, r := range s.Records {
			switch r := r.(type) {
			case *State:
				add("id", "0x%016x", r.ID)
				add("port", "%d", r.Key[0].Port[0], r.Key[0].Port[1], r.Key[1].Port[0], r.Key[1].Port[1])
				add("expire", "%d", r.Expire)
				add("packets", "%d", r.Packets[0], r.Packets[1])
				add("bytes", "%d", r.Bytes[0], r.Bytes[1])
				add("creatorid", "0x%08x", r.CreatorID)
				add("rtableid", "%d", r.RtableID[0], r.RtableID[1])
				add("proto", "%d", r.Proto)
			case *UpdC:
				add("id", "0x%016x", r.ID)
				add("creatorid", "0x%08x", r.CreatorID)
				add("expire", "%d", r.Expire)
			case *InsAck:
				add("id", "0x%016x", r.ID)
				add("creatorid", "0x%08x", r.CreatorID)
			case *UpdReq:
				add("id", "0x%016x", r.ID)
				add("creatorid", "0x%08x", r.CreatorID)
			case *DelC:
				add("id", "0x%016x", r.ID)
				add("creatorid", "0x%08x", r.CreatorID)
			case *Clr:
				add("creatorid", "0x%08x", r.CreatorID)
			case *Bus:
				add("creatorid", "0x%08x", r.CreatorID)
			case *TDB:
				add("spi", "0x%08x", r.SPI)
				add("rpl", "%d", r.Rpl)
			case *LinuxExt:
				add("id", "0x%016x", r.ID)
				add("creatorid", "0x%08x", r.CreatorID)
				add("zone", "%d", r.Zone)
				add("mark", "0x%08x", r.Mark)
			}
		}
	}
	return fs
}

// pcapIPv4 wraps a pfsync frame in an IPv4 header as OpenBSD sends it
// (protocol 240, TTL 255, TOS 0x10, DF, to 224.0.0.240; reference §1.1)
// and returns a pcap file (LINKTYPE_IPV4) holding them.
func pcapIPv4(payloads ...[]byte) []byte {
	le := binary.LittleEndian
	f := le.AppendUint32(nil, 0xa1b2c3d4) // pcap magic, microseconds
	f = le.AppendUint16(f, 2)
	f = le.AppendUint16(f, 4)
	f = le.AppendUint32(f, 0)     // thiszone
	f = le.AppendUint32(f, 0)     // sigfigs
	f = le.AppendUint32(f, 65535) // snaplen
	f = le.AppendUint32(f, 228)   // LINKTYPE_IPV4
	for _, p := range payloads {
		ip := ipv4(p)
		f = le.AppendUint64(f, 0) // ts_sec, ts_usec
		f = le.AppendUint32(f, uint32(len(ip)))
		f = le.AppendUint32(f, uint32(len(ip)))
		f = append(f, ip...)
	}
	return f
}

func ipv4(payload []byte) []byte {
	ip := make([]byte, 20, 20+len(payload))
	ip[0], ip[1] = 0x45, 0x10
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8], ip[9] = TTL, IPProto
	copy(ip[12:], []byte{10, 0, 0, 1, 224, 0, 0, 240})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	return append(ip, payload...)
}
