package carp

import (
	"net/netip"
	"slices"
)

// Defaults of a new carp interface, after carp(4) and ifconfig(8).
const (
	DefaultAdvBase = 1 // seconds
	MaxVHID        = 255
	MaxAdvBase     = 254 // 255 is reserved for the bow-out advertisement
	MaxAdvSkew     = 254 // likewise
	MaxDemote      = 128 // ifconfig -g G carpdemote N accepts 0..128
)

// Multicast group of CARP advertisements (INADDR_CARP_GROUP in
// sys/netinet/ip_carp.h); carppeer replaces it with a unicast address.
var DefaultPeer = netip.MustParseAddr("224.0.0.18")

// Config is what one carp interface is configured to be: the fields
// ifconfig(8) sets on carpN and prints back. It is a plain value: the
// worker owns the running copy and ctl tools send changes (Request).
type Config struct {
	Name        string     `json:"name"`
	VHID        int        `json:"vhid"` // 0: unconfigured, never RUNNING
	AdvBase     int        `json:"advbase"`
	AdvSkew     int        `json:"advskew"`
	Pass        string     `json:"pass,omitempty"` // first 19 bytes are the key (carp.md §2.1)
	CarpDev     string     `json:"carpdev,omitempty"`
	Peer        netip.Addr `json:"carppeer"` // DefaultPeer unless carppeer is set
	LLAddr      string     `json:"lladdr,omitempty"`
	Up          bool       `json:"up"`
	Description string     `json:"description,omitempty"`
	Groups      []string   `json:"groups"` // always holds "carp"
	Addrs       []Address  `json:"addresses"`
}

// Address is one virtual address of a carp interface.
type Address struct {
	Prefix    netip.Prefix `json:"prefix"`
	Broadcast netip.Addr   `json:"broadcast,omitzero"` // IPv4 only; zero for none
}

// NewConfig returns the configuration of a freshly created interface.
func NewConfig(name string) Config {
	return Config{
		Name:    name,
		AdvBase: DefaultAdvBase,
		Peer:    DefaultPeer,
		Groups:  []string{"carp"},
	}
}

// Clone returns a deep copy of c.
func (c Config) Clone() Config {
	c.Groups = slices.Clone(c.Groups)
	c.Addrs = slices.Clone(c.Addrs)
	return c
}
