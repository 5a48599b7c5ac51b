package lab

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// link returns the interface ifname of the host.
func (h *Host) link(ifname string) (netlink.Link, error) {
	ln, err := h.nl.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	return ln, nil
}

// setLink sets the interface ifname up or down.
func (h *Host) setLink(ifname string, up bool) error {
	ln, err := h.link(ifname)
	if err != nil {
		return err
	}
	if up {
		err = h.nl.LinkSetUp(ln)
	} else {
		err = h.nl.LinkSetDown(ln)
	}
	if err != nil {
		state := map[bool]string{true: "up", false: "down"}[up]
		return fmt.Errorf("set %s %s: %w", ifname, state, err)
	}
	return nil
}

// parseAddr parses an address with prefix length for netlink; IPv6
// addresses skip duplicate address detection.
func parseAddr(cidr string) (*netlink.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, err
	}
	a := &netlink.Addr{IPNet: &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a, nil
}

// AddAddr adds the address cidr ("10.0.0.1/24", "fd00::1/64") to the
// interface ifname. IPv6 addresses are added without duplicate address
// detection, so they are usable at once. It fails the test on error.
func (h *Host) AddAddr(ifname, cidr string) {
	h.lab.t.Helper()
	if err := h.addrOp(true, ifname, cidr); err != nil {
		h.fatalf("add address %s on %s: %v", cidr, ifname, err)
	}
}

// DelAddr removes the address cidr from the interface ifname. It fails the
// test on error.
func (h *Host) DelAddr(ifname, cidr string) {
	h.lab.t.Helper()
	if err := h.addrOp(false, ifname, cidr); err != nil {
		h.fatalf("delete address %s on %s: %v", cidr, ifname, err)
	}
}

func (h *Host) addrOp(add bool, ifname, cidr string) error {
	a, err := parseAddr(cidr)
	if err != nil {
		return err
	}
	ln, err := h.link(ifname)
	if err != nil {
		return err
	}
	if add {
		return h.nl.AddrAdd(ln, a)
	}
	return h.nl.AddrDel(ln, a)
}

// AddRoute adds a route to dst ("default" or a prefix such as
// "10.1.0.0/16" or "fd01::/64") via the gateway gw. A "default" route has
// the family of gw. It fails the test on error.
func (h *Host) AddRoute(dst, gw string) {
	h.lab.t.Helper()
	if err := h.addRoute(dst, gw); err != nil {
		h.fatalf("add route %s via %s: %v", dst, gw, err)
	}
}

func (h *Host) addRoute(dst, gw string) error {
	g, err := netip.ParseAddr(gw)
	if err != nil {
		return err
	}
	r := &netlink.Route{Gw: net.IP(g.AsSlice())}
	if dst != "default" {
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			return err
		}
		if p.Addr().Is4() != g.Is4() {
			return fmt.Errorf("destination and gateway of different families")
		}
		p = p.Masked()
		r.Dst = &net.IPNet{
			IP:   net.IP(p.Addr().AsSlice()),
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}
	}
	return h.nl.RouteAdd(r)
}

// SetLinkUp sets the interface ifname up. It fails the test on error.
func (h *Host) SetLinkUp(ifname string) {
	h.lab.t.Helper()
	if err := h.setLink(ifname, true); err != nil {
		h.fatalf("%v", err)
	}
}

// SetLinkDown sets the interface ifname down, simulating a failure of that
// one link: the peer loses carrier. It fails the test on error.
func (h *Host) SetLinkDown(ifname string) {
	h.lab.t.Helper()
	if err := h.setLink(ifname, false); err != nil {
		h.fatalf("%v", err)
	}
}

// LinkMAC returns the hardware address of the interface ifname. It fails
// the test on error.
func (h *Host) LinkMAC(ifname string) net.HardwareAddr {
	h.lab.t.Helper()
	ln, err := h.link(ifname)
	if err != nil {
		h.fatalf("%v", err)
	}
	return slices.Clone(ln.Attrs().HardwareAddr)
}

// Addrs returns the IPv4 and IPv6 addresses of the interface ifname, link
// local ones included. It fails the test on error.
func (h *Host) Addrs(ifname string) []netip.Prefix {
	h.lab.t.Helper()
	ln, err := h.link(ifname)
	if err != nil {
		h.fatalf("%v", err)
	}
	as, err := h.nl.AddrList(ln, netlink.FAMILY_ALL)
	if err != nil {
		h.fatalf("list addresses of %s: %v", ifname, err)
	}
	var ps []netip.Prefix
	for _, a := range as {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		if ip.Is4In6() {
			ip = ip.Unmap()
		}
		ones, _ := a.Mask.Size()
		ps = append(ps, netip.PrefixFrom(ip, ones))
	}
	return ps
}

// Interfaces returns the names of the host's interfaces, lo included. It
// fails the test on error.
func (h *Host) Interfaces() []string {
	h.lab.t.Helper()
	lns, err := h.nl.LinkList()
	if err != nil {
		h.fatalf("list interfaces: %v", err)
	}
	var names []string
	for _, ln := range lns {
		names = append(names, ln.Attrs().Name)
	}
	return names
}

// Crash simulates the host dying: every process started in it with Start
// gets SIGKILL (its whole process group), and every interface but lo goes
// down, so no frame leaves the host any more. It fails the test on error.
func (h *Host) Crash() {
	h.lab.t.Helper()
	var mine []*Proc
	for _, p := range h.lab.Procs() {
		if p.host == h {
			mine = append(mine, p)
		}
	}
	for _, p := range mine {
		if err := p.Kill(); err != nil {
			h.fatalf("crash: %v", err)
		}
	}
	deadline := time.Now().Add(stopGrace)
	for _, p := range mine {
		if !p.waitUntil(deadline) {
			h.fatalf("crash: %s (pid %d) still running after SIGKILL", p.name, p.pid)
		}
	}
	lns, err := h.nl.LinkList()
	if err != nil {
		h.fatalf("crash: list interfaces: %v", err)
	}
	for _, ln := range lns {
		if ln.Attrs().Name == "lo" {
			continue
		}
		if err := h.nl.LinkSetDown(ln); err != nil {
			h.fatalf("crash: set %s down: %v", ln.Attrs().Name, err)
		}
	}
}
