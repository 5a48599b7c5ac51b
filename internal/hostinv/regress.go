package hostinv

import "net/netip"

// regress is the host that OpenBSD's regress/sbin/pfctl Makefile prepares:
// lo0 with its usual addresses, the clone interfaces lo1000000, tun1000000
// and tun1000001 without addresses, the interface groups lo and tun, the
// stock user and group databases and localhost in /etc/hosts.
type regress struct{}

// OpenBSDRegress returns the inventory that the pfctl regression corpus
// assumes (see the corpus README).
func OpenBSDRegress() Inventory { return regress{} }

var regressIfs = []Interface{
	{Name: "lo0", Index: 3, Flags: FlagLoopback, Addrs: []IfAddr{
		{Addr: netip.MustParseAddr("::1"), PrefixLen: 128},
		{Addr: netip.MustParseAddr("fe80::1"), PrefixLen: 64, ScopeID: 3},
		{Addr: netip.MustParseAddr("127.0.0.1"), PrefixLen: 8},
	}},
	{Name: "enc0", Index: 4},
	{Name: "lo1000000", Index: 5, Flags: FlagLoopback},
	{Name: "tun1000000", Index: 6, Flags: FlagPointToPoint},
	{Name: "tun1000001", Index: 7, Flags: FlagPointToPoint},
}

func (regress) Interfaces() []Interface { return regressIfs }

func (regress) Group(name string) ([]string, bool) {
	switch name {
	case "lo":
		return []string{"lo0", "lo1000000"}, true
	case "tun":
		return []string{"tun1000000", "tun1000001"}, true
	case "enc":
		return []string{"enc0"}, true
	}
	return nil, false
}

var regressUsers = map[string]uint32{
	"root": 0, "daemon": 1, "operator": 2, "bin": 3, "build": 21, "sshd": 27,
	"_portmap": 28, "_identd": 29, "_rstatd": 30, "_rusersd": 32,
	"_fingerd": 33, "_x11": 35, "_unwind": 48, "_switchd": 49,
	"_traceroute": 50, "_pflogd": 74, "www": 67, "nobody": 32767,
}

var regressGroups = map[string]uint32{
	"wheel": 0, "daemon": 1, "kmem": 2, "sys": 3, "tty": 4, "operator": 5,
	"bin": 7, "wsrc": 9, "users": 10, "auth": 11, "games": 13, "staff": 20,
	"sshd": 27, "_pflogd": 74, "www": 67, "dialer": 117, "nogroup": 32766,
	"nobody": 32767,
}

func (regress) User(name string) (uint32, bool) {
	id, ok := regressUsers[name]
	return id, ok
}

func (regress) GroupID(name string) (uint32, bool) {
	id, ok := regressGroups[name]
	return id, ok
}

func (regress) Service(name, proto string) (int, bool) { return builtinService(name, proto) }

func (regress) Protocol(name string) (int, bool) { return builtinProtocol(name) }

func (regress) ProtocolName(num int) (string, bool) { return builtinProtocolName(num) }

func (regress) Host(name string) []netip.Addr {
	if name == "localhost" {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	}
	return nil
}

func builtinService(name, proto string) (int, bool) {
	for _, s := range services {
		if (proto == "tcp" && !s.tcp) || (proto == "udp" && !s.udp) {
			continue
		}
		if s.name == name {
			return s.port, true
		}
		for _, a := range s.aliases {
			if a == name {
				return s.port, true
			}
		}
	}
	return 0, false
}

func builtinProtocol(name string) (int, bool) {
	for _, p := range protocols {
		if p.name == name {
			return p.num, true
		}
		for _, a := range p.aliases {
			if a == name {
				return p.num, true
			}
		}
	}
	return 0, false
}

func builtinProtocolName(num int) (string, bool) {
	for _, p := range protocols {
		if p.num == num {
			return p.name, true
		}
	}
	return "", false
}

// ProtocolName is the OpenBSD /etc/protocols name of a protocol number; the
// printer uses it on every host so that output matches OpenBSD's pfctl.
func ProtocolName(num int) (string, bool) { return builtinProtocolName(num) }
