package carp

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// State is a CARP virtual host state (sys/netinet/ip_carp.h: INIT, BACKUP,
// MASTER).
type State string

// States.
const (
	Init   State = "INIT"
	Backup State = "BACKUP"
	Master State = "MASTER"
)

// Status is what the worker reports for "carpctl carpN": the configuration
// and what the protocol and the kernel make of it.
type Status struct {
	Config  Config `json:"config"`
	State   State  `json:"state"`
	Demote  int    `json:"demote"`  // effective demotion, the header's demote byte
	Running bool   `json:"running"` // UP, a carpdev, a vhid and an address
	Index   int    `json:"index,omitempty"`
	MTU     int    `json:"mtu"`
}

// VirtualMAC is the carp interface's link-layer address,
// 00:00:5e:00:01:<vhid>, unless lladdr overrides it (carp.md §1.4).
func (c Config) VirtualMAC() string {
	if c.LLAddr != "" {
		return c.LLAddr
	}
	return fmt.Sprintf("00:00:5e:00:01:%02x", c.VHID)
}

// interface flag bits as sys/net/if.h numbers them, for the flags= line.
const (
	iffUp        = 0x1
	iffBroadcast = 0x2
	iffRunning   = 0x40
	iffSimplex   = 0x800
	iffMulticast = 0x8000
)

// WriteIfconfig prints st as OpenBSD's ifconfig(8) prints a carp interface
// (sbin/ifconfig/ifconfig.c: status, carp_status).
func WriteIfconfig(w io.Writer, st Status) {
	c := st.Config
	flags := iffBroadcast | iffSimplex | iffMulticast
	names := []string{}
	if c.Up {
		flags |= iffUp
		names = append(names, "UP")
	}
	names = append(names, "BROADCAST")
	if st.Running {
		flags |= iffRunning
		names = append(names, "RUNNING")
	}
	names = append(names, "SIMPLEX", "MULTICAST")
	mtu := st.MTU
	if mtu == 0 {
		mtu = 1500
	}
	fmt.Fprintf(w, "%s: flags=%x<%s> mtu %d\n", c.Name, flags, strings.Join(names, ","), mtu)
	fmt.Fprintf(w, "\tlladdr %s\n", c.VirtualMAC())
	if c.Description != "" {
		fmt.Fprintf(w, "\tdescription: %s\n", c.Description)
	}
	if st.Index != 0 {
		fmt.Fprintf(w, "\tindex %d priority 15 llprio 3\n", st.Index)
	}
	if c.VHID != 0 {
		dev := c.CarpDev
		if dev == "" {
			dev = "none"
		}
		state := st.State
		if state == "" {
			state = Init
		}
		fmt.Fprintf(w, "\tcarp: %s carpdev %s vhid %d advbase %d advskew %d", state, dev, c.VHID, c.AdvBase, c.AdvSkew)
		if c.Peer.IsValid() && c.Peer != DefaultPeer {
			fmt.Fprintf(w, " carppeer %s", c.Peer)
		}
		fmt.Fprintln(w)
	}
	if len(c.Groups) > 0 {
		fmt.Fprintf(w, "\tgroups: %s\n", strings.Join(c.Groups, " "))
	}
	fmt.Fprintf(w, "\tstatus: %s\n", linkStatus(st.State))
	for _, a := range c.Addrs {
		if a.Prefix.Addr().Is6() {
			fmt.Fprintf(w, "\tinet6 %s prefixlen %d\n", a.Prefix.Addr(), a.Prefix.Bits())
		}
	}
	for _, a := range c.Addrs {
		if a.Prefix.Addr().Is4() {
			fmt.Fprintf(w, "\tinet %s netmask %s", a.Prefix.Addr(), hexMask(a.Prefix.Bits()))
			if b := a.BroadcastAddr(); b.IsValid() {
				fmt.Fprintf(w, " broadcast %s", b)
			}
			fmt.Fprintln(w)
		}
	}
}

// linkStatus is the carp link state ifconfig prints as "status:".
func linkStatus(s State) string {
	switch s {
	case Master:
		return "master"
	case Backup:
		return "backup"
	}
	return "invalid"
}

func hexMask(bits int) string {
	m := uint32(0)
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return fmt.Sprintf("0x%08x", m)
}

// BroadcastAddr is the explicit broadcast address, else the prefix's
// all-ones address; none for /31 and /32 (RFC 3021) or IPv6.
func (a Address) BroadcastAddr() netip.Addr {
	if a.Broadcast.IsValid() {
		return a.Broadcast
	}
	p := a.Prefix
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return netip.Addr{}
	}
	b := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	for i := 0; i < 4; i++ {
		b[i] |= byte(host >> (24 - 8*i))
	}
	return netip.AddrFrom4(b)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
