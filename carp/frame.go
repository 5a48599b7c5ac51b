package carp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// The worker transmits whole Ethernet frames on the carpdev's packet
// socket, with the virtual MAC as source: that is what OpenBSD puts on the
// wire when it sends through the carp interface (carp.md §1.1, §3.8), and
// switches learn the virtual MAC's port from these frames. The builders
// here are pure.

// Addresses of the CARP multicast groups (INADDR_CARP_GROUP,
// IN6ADDR_CARP_GROUP in sys/netinet/ip_carp.h) and their Ethernet mappings.
var (
	Group4    = netip.MustParseAddr("224.0.0.18")
	Group6    = netip.MustParseAddr("ff02::12")
	group4MAC = net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}
	group6MAC = net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x12}
	allNodes  = netip.MustParseAddr("ff02::1")
	allMAC    = net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}
)

// IP header values of an advertisement (carp.md §1.1).
const (
	ProtoCARP = 112  // IPPROTO_CARP
	adTTL     = 255  // CARP_DFLTTL
	adTOS     = 0x10 // IPTOS_LOWDELAY
	ipv4DF    = 0x4000
)

// AdvertFrame4 builds an IPv4 advertisement frame: payload (the 36-byte
// CARP header) from src, the carpdev's address, to dst (Group4, or a
// unicast carppeer whose MAC is dstMAC; nil dstMAC means the group's).
func AdvertFrame4(vmac, dstMAC net.HardwareAddr, src, dst netip.Addr, id uint16, payload []byte) ([]byte, error) {
	if !src.Is4() || !dst.Is4() {
		return nil, fmt.Errorf("carp: advertisement needs IPv4 addresses, got %v -> %v", src, dst)
	}
	if dstMAC == nil {
		dstMAC = group4MAC
	}
	ip := make([]byte, 20, 20+len(payload))
	ip[0] = 0x45
	ip[1] = adTOS
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[6:], ipv4DF)
	ip[8] = adTTL
	ip[9] = ProtoCARP
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], Checksum(ip))
	return ethFrame(dstMAC, vmac, ethernet.EtherTypeIPv4, append(ip, payload...))
}

// AdvertFrame6 builds an IPv6 advertisement frame from src (the carpdev's
// link-local address) to Group6; IPv6 advertisements are always multicast.
func AdvertFrame6(vmac net.HardwareAddr, src netip.Addr, payload []byte) ([]byte, error) {
	if !src.Is6() || src.Is4In6() {
		return nil, fmt.Errorf("carp: advertisement needs an IPv6 source, got %v", src)
	}
	return ethFrame(group6MAC, vmac, ethernet.EtherTypeIPv6, ipv6Packet(src, Group6, ProtoCARP, payload))
}

// GratuitousARP builds the ARP request a new MASTER broadcasts for one
// IPv4 virtual address: sender and target address both the VIP, sender
// hardware the virtual MAC, target hardware zero (carp.md §3.8).
func GratuitousARP(vmac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, vmac, vip, make(net.HardwareAddr, 6), vip)
	if err != nil {
		return nil, fmt.Errorf("carp: gratuitous arp for %v: %w", vip, err)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return ethFrame(ethernet.Broadcast, vmac, ethernet.EtherTypeARP, b)
}

// UnsolicitedNA builds the Neighbor Advertisement a new MASTER sends to
// all nodes for one IPv6 address: Override set, Router set when the host
// forwards IPv6, and the virtual MAC as target link-layer address
// (RFC 4861 §7.2.6; carp.md §3.8). src is the carpdev's link-local address.
func UnsolicitedNA(vmac net.HardwareAddr, src, target netip.Addr, router bool) ([]byte, error) {
	b, err := ndp.MarshalMessage(&ndp.NeighborAdvertisement{
		Router:        router,
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: vmac}},
	})
	if err != nil {
		return nil, fmt.Errorf("carp: neighbor advertisement for %v: %w", target, err)
	}
	// Recompute the ICMPv6 checksum over the pseudo-header: a packet
	// socket, unlike an ICMPv6 socket, leaves that to us.
	m := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: b[4:]}}
	b, err = m.Marshal(icmp.IPv6PseudoHeader(src.AsSlice(), allNodes.AsSlice()))
	if err != nil {
		return nil, err
	}
	return ethFrame(allMAC, vmac, ethernet.EtherTypeIPv6, ipv6Packet(src, allNodes, 58, b))
}

// ipv6Packet prepends a fixed IPv6 header, hop limit 255.
func ipv6Packet(src, dst netip.Addr, next uint8, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 6 << 4
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = adTTL
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

func ethFrame(dst, src net.HardwareAddr, et ethernet.EtherType, payload []byte) ([]byte, error) {
	f := ethernet.Frame{Destination: dst, Source: src, EtherType: et, Payload: payload}
	return f.MarshalBinary()
}
