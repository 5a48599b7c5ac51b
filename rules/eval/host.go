package eval

import (
	"net/netip"
	"strings"

	"carpfw/internal/hostinv"
)

// Host answers the interface questions evaluation needs: the interfaces
// with their addresses (for dynamic addresses such as "(em0)" and
// "(self)") and interface groups (for "on egress" and "set skip on lo").
// Any hostinv.Inventory is a Host, so the parser and the evaluator can
// share one view of the machine.
type Host interface {
	Interfaces() []hostinv.Interface
	Group(name string) ([]string, bool)
}

// FakeHost is a Host, and a hostinv.Inventory for the parser, built from
// literal interfaces and groups. Look-ups it does not answer itself
// (users, services, protocols, host names) go to the embedded Inventory,
// OpenBSD's regression profile when nil. Besides the groups listed, every
// interface belongs to the group named by its driver (em0 to "em"), as on
// OpenBSD.
type FakeHost struct {
	hostinv.Inventory
	Ifs    []hostinv.Interface
	Groups map[string][]string
}

// NewFakeHost returns a FakeHost with the interfaces given as
// "name addr/len addr/len …" strings, e.g. "em0 192.0.2.1/24 2001:db8::1/64".
func NewFakeHost(ifs ...string) *FakeHost {
	h := &FakeHost{Groups: map[string][]string{}}
	for i, spec := range ifs {
		f := strings.Fields(spec)
		ifc := hostinv.Interface{Name: f[0], Index: i + 1}
		for _, a := range f[1:] {
			p := netip.MustParsePrefix(a)
			ia := hostinv.IfAddr{Addr: p.Addr(), PrefixLen: p.Bits()}
			if p.Addr().Is4() && p.Bits() < 31 {
				ia.Broadcast = lastAddr(p.Masked())
				ifc.Flags |= hostinv.FlagBroadcast
			}
			ifc.Addrs = append(ifc.Addrs, ia)
		}
		h.Ifs = append(h.Ifs, ifc)
	}
	return h
}

func (h *FakeHost) inv() hostinv.Inventory {
	if h.Inventory == nil {
		return hostinv.OpenBSDRegress()
	}
	return h.Inventory
}

// Interfaces lists the literal interfaces.
func (h *FakeHost) Interfaces() []hostinv.Interface { return h.Ifs }

// Group returns the listed members of a group, or the interfaces whose
// driver name is the group's name.
func (h *FakeHost) Group(name string) ([]string, bool) {
	if m, ok := h.Groups[name]; ok {
		return m, true
	}
	var m []string
	for _, ifc := range h.Ifs {
		if driverName(ifc.Name) == name {
			m = append(m, ifc.Name)
		}
	}
	return m, len(m) > 0
}

// User and the other look-ups go to the embedded inventory.
func (h *FakeHost) User(n string) (uint32, bool)    { return h.inv().User(n) }
func (h *FakeHost) GroupID(n string) (uint32, bool) { return h.inv().GroupID(n) }
func (h *FakeHost) Service(n, p string) (int, bool) { return h.inv().Service(n, p) }
func (h *FakeHost) Protocol(n string) (int, bool)   { return h.inv().Protocol(n) }
func (h *FakeHost) ProtocolName(n int) (string, bool) {
	return h.inv().ProtocolName(n)
}
func (h *FakeHost) Host(n string) []netip.Addr { return h.inv().Host(n) }

// driverName strips an interface's unit number: "em0" is in group "em".
func driverName(ifname string) string {
	return strings.TrimRight(ifname, "0123456789")
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ifMatch is pfi_kif_match: a rule's interface matches the packet's
// interface when the names are equal or the rule names a group the
// packet's interface belongs to. "any" and "" match every interface.
func ifMatch(h Host, rule, pkt string) bool {
	if rule == "" || rule == "any" {
		return true
	}
	if pkt == "" {
		return false
	}
	if rule == pkt {
		return true
	}
	if h == nil {
		return false
	}
	if members, ok := h.Group(rule); ok {
		for _, m := range members {
			if m == pkt {
				return true
			}
		}
	}
	return false
}

// ifAddrs returns the addresses a dynamic interface address stands for,
// as pfi_dynaddr_update would load them: all addresses of the interface
// or of the group's members ("self": of every interface), or their
// networks, broadcast or peer addresses; with :0 only the first address
// of each family.
func ifAddrs(h Host, name string, flags int, bits int) []netip.Prefix {
	if h == nil {
		return nil
	}
	var out []netip.Prefix
	for _, ifc := range h.Interfaces() {
		if name != "self" && !ifMatch(h, name, ifc.Name) {
			continue
		}
		seen4, seen6 := false, false
		for _, a := range ifc.Addrs {
			if flags&0x08 != 0 { // PFI_AFLAG_NOALIAS
				if a.Addr.Is4() && seen4 || !a.Addr.Is4() && seen6 {
					continue
				}
				if a.Addr.Is4() {
					seen4 = true
				} else {
					seen6 = true
				}
			}
			switch {
			case flags&0x01 != 0: // network
				out = append(out, netip.PrefixFrom(a.Addr, a.PrefixLen).Masked())
			case flags&0x02 != 0: // broadcast
				if a.Broadcast.IsValid() {
					out = append(out, netip.PrefixFrom(a.Broadcast, a.Broadcast.BitLen()))
				}
			case flags&0x04 != 0: // peer
				if a.Peer.IsValid() {
					out = append(out, netip.PrefixFrom(a.Peer, a.Peer.BitLen()))
				}
			default:
				b := a.Addr.BitLen()
				if bits > 0 && bits < b {
					b = bits
				}
				out = append(out, netip.PrefixFrom(a.Addr, b).Masked())
			}
		}
	}
	return out
}

// GroupsOf returns h's group look-up in the form rules.CompileOptions
// takes, so that a compiled ruleset and the evaluator see the same
// groups.
func GroupsOf(h Host) func(name string) ([]string, bool) {
	return func(name string) ([]string, bool) {
		if h == nil {
			return nil, false
		}
		return h.Group(name)
	}
}

// IfAddrsOf returns h's interface addresses (with their prefix lengths)
// in the form rules.CompileOptions takes.
func IfAddrsOf(h Host) func(name string) []netip.Prefix {
	return func(name string) []netip.Prefix {
		if h == nil {
			return nil
		}
		var out []netip.Prefix
		for _, ifc := range h.Interfaces() {
			if ifc.Name == name {
				for _, a := range ifc.Addrs {
					out = append(out, netip.PrefixFrom(a.Addr, a.PrefixLen))
				}
			}
		}
		return out
	}
}
