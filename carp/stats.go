package carp

import (
	"fmt"
	"io"
)

// Stats are a carp interface's counters, struct carpstats in
// sys/netinet/ip_carp.h, as netstat -s -p carp shows them.
type Stats struct {
	IPackets  uint64 `json:"ipackets"`  // IPv4 advertisements received
	IPackets6 uint64 `json:"ipackets6"` // IPv6 advertisements received
	BadTTL    uint64 `json:"badttl"`    // TTL or hop limit not 255
	HDrops    uint64 `json:"hdrops"`    // shorter than the CARP header
	BadSum    uint64 `json:"badsum"`    // bad checksum
	BadVer    uint64 `json:"badver"`    // version not 2
	BadAuth   uint64 `json:"badauth"`   // HMAC mismatch
	BadVHID   uint64 `json:"badvhid"`   // another vhid, or multicast/unicast mismatch
	Loops     uint64 `json:"loops"`     // our own advertisement came back
	OPackets  uint64 `json:"opackets"`  // IPv4 advertisements sent
	OPackets6 uint64 `json:"opackets6"` // IPv6 advertisements sent
	OErrors   uint64 `json:"oerrors"`   // sends that failed
	Preempt   uint64 `json:"preempt"`   // transitions to MASTER
}

// Add returns the sum of s and o.
func (s Stats) Add(o Stats) Stats {
	s.IPackets += o.IPackets
	s.IPackets6 += o.IPackets6
	s.BadTTL += o.BadTTL
	s.HDrops += o.HDrops
	s.BadSum += o.BadSum
	s.BadVer += o.BadVer
	s.BadAuth += o.BadAuth
	s.BadVHID += o.BadVHID
	s.Loops += o.Loops
	s.OPackets += o.OPackets
	s.OPackets6 += o.OPackets6
	s.OErrors += o.OErrors
	s.Preempt += o.Preempt
	return s
}

// WriteNetstat prints s in the layout of OpenBSD's netstat -s -p carp
// (usr.bin/netstat/inet.c, carp_stats).
func WriteNetstat(w io.Writer, s Stats) {
	fmt.Fprintf(w, "carp:\n")
	fmt.Fprintf(w, "\t%d packet%s received (IPv4)\n", s.IPackets, plural(s.IPackets))
	fmt.Fprintf(w, "\t%d packet%s received (IPv6)\n", s.IPackets6, plural(s.IPackets6))
	fmt.Fprintf(w, "\t\t%d packet%s discarded for bad ttl\n", s.BadTTL, plural(s.BadTTL))
	fmt.Fprintf(w, "\t\t%d packet%s shorter than header\n", s.HDrops, plural(s.HDrops))
	fmt.Fprintf(w, "\t\t%d discarded for bad checksum%s\n", s.BadSum, plural(s.BadSum))
	fmt.Fprintf(w, "\t\t%d discarded packet%s with a bad version\n", s.BadVer, plural(s.BadVer))
	fmt.Fprintf(w, "\t\t%d discarded for bad authentication\n", s.BadAuth)
	fmt.Fprintf(w, "\t\t%d discarded for unknown vhid\n", s.BadVHID)
	fmt.Fprintf(w, "\t\t%d discarded as our own (loop)\n", s.Loops)
	fmt.Fprintf(w, "\t%d packet%s sent (IPv4)\n", s.OPackets, plural(s.OPackets))
	fmt.Fprintf(w, "\t%d packet%s sent (IPv6)\n", s.OPackets6, plural(s.OPackets6))
	fmt.Fprintf(w, "\t\t%d send failed\n", s.OErrors)
	fmt.Fprintf(w, "\t%d transition%s to master\n", s.Preempt, plural(s.Preempt))
}

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
