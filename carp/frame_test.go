package carp

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

var vmac1 = net.HardwareAddr{0, 0, 0x5e, 0, 1, 1}

func TestAdvertFrame4(t *testing.T) {
	payload := bytes.Repeat([]byte{0xab}, 36)
	f, err := AdvertFrame4(vmac1, nil, netip.MustParseAddr("10.0.0.2"), Group4, 0x1234, payload)
	if err != nil {
		t.Fatal(err)
	}
	// Ethernet: group MAC, virtual MAC, IPv4.
	if got := hex.EncodeToString(f[:14]); got != "01005e000012"+"00005e000101"+"0800" {
		t.Errorf("ethernet header %s", got)
	}
	h, err := ipv4.ParseHeader(f[14:])
	if err != nil {
		t.Fatal(err)
	}
	if h.TOS != 0x10 || h.TotalLen != 56 || h.ID != 0x1234 || h.Flags != ipv4.DontFragment || h.TTL != 255 || h.Protocol != 112 ||
		!h.Src.Equal(net.ParseIP("10.0.0.2")) || !h.Dst.Equal(net.ParseIP("224.0.0.18")) {
		t.Errorf("ip header %+v", h)
	}
	if Checksum(f[14:34]) != 0 {
		t.Error("bad IPv4 header checksum")
	}
	if !bytes.Equal(f[34:70], payload) {
		t.Error("payload not carried")
	}
	// A unicast carppeer gets its own MAC.
	peerMAC := net.HardwareAddr{2, 0, 0, 0, 0, 9}
	f, _ = AdvertFrame4(vmac1, peerMAC, netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3"), 1, payload)
	if !bytes.Equal(f[:6], peerMAC) {
		t.Errorf("unicast destination MAC %x", f[:6])
	}
}

func TestAdvertFrame6(t *testing.T) {
	src := netip.MustParseAddr("fe80::1")
	f, err := AdvertFrame6(vmac1, src, make([]byte, 36))
	if err != nil {
		t.Fatal(err)
	}
	ip := f[14:]
	if hex.EncodeToString(f[:14]) != "333300000012"+"00005e000101"+"86dd" ||
		ip[0]>>4 != 6 || ip[4] != 0 || ip[5] != 36 || ip[6] != 112 || ip[7] != 255 ||
		!bytes.Equal(ip[24:40], Group6.AsSlice()) {
		t.Errorf("frame %x", f[:54])
	}
	if _, err := AdvertFrame6(vmac1, netip.MustParseAddr("10.0.0.1"), nil); err == nil {
		t.Error("bad, IPv4 source accepted for an IPv6 advertisement")
	}
}

func TestGratuitousARP(t *testing.T) {
	f, err := GratuitousARP(vmac1, netip.MustParseAddr("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	want := "ffffffffffff" + "00005e000101" + "0806" + // broadcast from the virtual MAC
		"0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4 request
		"00005e000101" + "0a000001" + // sender: virtual MAC, VIP
		"000000000000" + "0a000001" // target: zero, VIP
	if got := hex.EncodeToString(f[:42]); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestUnsolicitedNA(t *testing.T) {
	src, target := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::1")
	f, err := UnsolicitedNA(vmac1, src, target, true)
	if err != nil {
		t.Fatal(err)
	}
	ip := f[14:]
	if ip[6] != 58 || ip[7] != 255 || !bytes.Equal(ip[24:40], allNodes.AsSlice()) {
		t.Fatalf("ipv6 header %x", ip[:40])
	}
	body := ip[40:]
	m, err := icmp.ParseMessage(58, body)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type.Protocol() != 58 || body[0] != 136 {
		t.Errorf("type %v", m.Type)
	}
	if body[4]&0xe0 != 0xa0 { // Router and Override, not Solicited
		t.Errorf("flags %08b", body[4])
	}
	// The checksum verifies over the pseudo-header.
	psh := append(src.AsSlice(), allNodes.AsSlice()...)
	psh = append(psh, 0, 0, byte(len(body)>>8), byte(len(body)), 0, 0, 0, 58)
	if Checksum(append(psh, body...)) != 0 {
		t.Error("bad ICMPv6 checksum")
	}
	if !bytes.Equal(body[len(body)-6:], vmac1) {
		t.Errorf("target link-layer option %x", body[24:])
	}
}
