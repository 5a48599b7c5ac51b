package pfsync

import "net/netip"

// Defaults of pfsync0, after pfsync(4) and ifconfig(8).
const (
	DefaultMaxUpd = 128 // TCP updates of one state collapsed before a send
	MaxMaxUpd     = 255
)

// DefaultPeer is the pfsync multicast group (PFSYNC_GROUP_ADDR in
// sys/net/if_pfsync.h); syncpeer replaces it with a unicast address.
var DefaultPeer = netip.MustParseAddr("224.0.0.240")

// Config is what pfsync0 is configured to be: the fields ifconfig(8) sets
// and prints back ("pfsync: syncdev: em2 maxupd: 128 defer: off").
type Config struct {
	Name    string     `json:"name"`
	SyncDev string     `json:"syncdev,omitempty"`
	Peer    netip.Addr `json:"syncpeer"`
	MaxUpd  int        `json:"maxupd"`
	Defer   bool       `json:"defer"`
	Up      bool       `json:"up"`
	Groups  []string   `json:"groups"` // "carp" and "pfsync", as on OpenBSD
}

// NewConfig returns the configuration of a freshly created pfsync interface.
func NewConfig(name string) Config {
	return Config{
		Name:   name,
		Peer:   DefaultPeer,
		MaxUpd: DefaultMaxUpd,
		Groups: []string{"carp", "pfsync"},
	}
}
