// Package hostinv is the host inventory that pf.conf parsing consults:
// interfaces with their addresses and groups, users and groups, services,
// protocols and host names. pfctl asks the running OpenBSD kernel and the
// /etc files for these (getifaddrs, SIOCGIFGMEMB, getpwnam, getservbyname,
// getprotobyname, getaddrinfo); carpfw asks an Inventory instead so that
// parsing is deterministic in tests.
package hostinv

import (
	"net/netip"
	"os"
)

// Interface flags, as in OpenBSD's <net/if.h>.
const (
	FlagBroadcast    = 0x2
	FlagLoopback     = 0x8
	FlagPointToPoint = 0x10
)

// IfAddr is one address of an interface, in the order getifaddrs(3) lists
// them on the host.
type IfAddr struct {
	Addr      netip.Addr // without zone
	PrefixLen int
	Broadcast netip.Addr // IPv4 broadcast address, if any
	Peer      netip.Addr // point-to-point peer, if any
	ScopeID   int        // IPv6 link-local scope (the interface index)
}

// Interface is a network interface as pfctl's ifa_load sees it.
type Interface struct {
	Name  string
	Index int
	Flags int
	Addrs []IfAddr
}

// Inventory answers the host look-ups that pf.conf parsing needs.
type Inventory interface {
	// Interfaces lists the interfaces in the host's order.
	Interfaces() []Interface
	// Group returns the member interfaces of an interface group.
	Group(name string) ([]string, bool)
	// User and GroupID resolve a user or group name to its numeric id.
	User(name string) (uint32, bool)
	GroupID(name string) (uint32, bool)
	// Service resolves a service name for a protocol ("tcp" or "udp").
	Service(name, proto string) (int, bool)
	// Protocol resolves a protocol name; ProtocolName gives the printed
	// name of a number.
	Protocol(name string) (int, bool)
	ProtocolName(num int) (string, bool)
	// Host resolves a host name to its addresses, in resolver order.
	Host(name string) []netip.Addr
}

// EnvVar selects the inventory: "openbsd-regress" for the profile that
// OpenBSD's pfctl regression suite assumes, anything else for the real host.
const EnvVar = "PFCONF_HOST"

// FromEnv returns the inventory that PFCONF_HOST selects.
func FromEnv() Inventory {
	if os.Getenv(EnvVar) == "openbsd-regress" {
		return OpenBSDRegress()
	}
	return Real()
}
