package lab

import (
	"fmt"
	"sync/atomic"
)

// bridgeName is the name of the bridge inside every switch namespace.
const bridgeName = "br0"

// Switch is an Ethernet switch: a bridge named br0 in a namespace of its
// own, with STP off, forward delay 0 (ports forward at once) and multicast
// snooping off (every port receives CARP's 224.0.0.18 and pfsync's
// 224.0.0.240). IPv6 is disabled on the switch itself, so that it sends no
// frames of its own.
type Switch struct {
	host  *Host
	ports atomic.Int64
}

// Switch creates the switch name, as namespace "<prefix>-sw-<name>". It
// fails the test on error.
func (l *Lab) Switch(name string) *Switch {
	l.t.Helper()
	h := l.addNS(name, true)
	if err := runIP("-n", h.ns, "link", "add", bridgeName, "type", "bridge",
		"stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"); err != nil {
		h.fatalf("create bridge: %v", err)
	}
	if err := h.setLink(bridgeName, true); err != nil {
		h.fatalf("%v", err)
	}
	return &Switch{host: h}
}

// Name returns the switch's short name, as given to Lab.Switch.
func (s *Switch) Name() string { return s.host.name }

// NS returns the switch's namespace name.
func (s *Switch) NS() string { return s.host.ns }

// Host returns the switch's namespace as a host, for inspection, such as
// running "tcpdump -i br0" or setting a port down with SetLinkDown.
func (s *Switch) Host() *Host { return s.host }

// Attach plugs host h into the switch: a veth pair whose end ifname lives
// in h and whose other end is a bridge port in the switch namespace, both
// up. It returns the port's name in the switch namespace ("p1", "p2", ...).
// It fails the test on error.
func (s *Switch) Attach(h *Host, ifname string) string {
	l := s.host.lab
	l.t.Helper()
	if h.lab != l {
		h.fatalf("attach %s to switch %s: host of another lab", ifname, s.host.name)
	}
	port := fmt.Sprintf("p%d", s.ports.Add(1))
	if err := createVeth(h, ifname, s.host, port); err != nil {
		h.fatalf("attach to switch %s: %v", s.host.name, err)
	}
	if err := s.connect(port); err != nil {
		s.host.fatalf("attach %s %s: %v", h.name, ifname, err)
	}
	if err := h.setLink(ifname, true); err != nil {
		h.fatalf("attach to switch %s: %v", s.host.name, err)
	}
	return port
}

// connect enslaves port to the bridge and sets it up.
func (s *Switch) connect(port string) error {
	br, err := s.host.link(bridgeName)
	if err != nil {
		return err
	}
	p, err := s.host.link(port)
	if err != nil {
		return err
	}
	if err := s.host.nl.LinkSetMaster(p, br); err != nil {
		return fmt.Errorf("add port %s to %s: %w", port, bridgeName, err)
	}
	return s.host.setLink(port, true)
}
