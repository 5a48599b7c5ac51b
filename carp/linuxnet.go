package carp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Inbound is one CARP packet received on the carpdev.
type Inbound struct {
	Family  int // 4 or 6
	Src     netip.Addr
	Dst     netip.Addr
	TTL     int // TTL or hop limit; OpenBSD accepts only 255
	Payload []byte
}

// LinuxNet is the kernel side of one carp interface (carp.md §9): the
// macvlan carpN with the virtual MAC on the carpdev, the virtual addresses
// on it, a packet socket on the carpdev for what the worker sends, raw IP
// sockets for advertisements received, and the carpdev's link state. Only
// the worker uses it.
//
// Multicast advertisements are received on the macvlan, not on the
// carpdev: the peer sends them with the same virtual MAC as source, and
// the macvlan driver hands a multicast frame whose source is one of its
// own MACs to that macvlan alone, as if it were looped back
// (macvlan_handle_frame). Frames from other sources reach every macvlan
// that joined the group too. Unicast advertisements (carppeer) are
// addressed to the carpdev's own address and are received there.
type LinuxNet struct {
	name    string
	vmac    net.HardwareAddr
	parent  *net.Interface
	macvlan netlink.Link

	send *packet.Conn
	r4   *ipv4.PacketConn // multicast, on the macvlan
	r4u  *ipv4.PacketConn // unicast, on the carpdev
	r6   *ipv6.PacketConn // multicast, on the macvlan

	in    chan Inbound
	links chan bool
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// OpenLinuxNet prepares carpN for c: it creates (or adopts) the macvlan on
// c.CarpDev with the virtual MAC, sets the ARP sysctls that keep the
// carpdev from answering for the virtual addresses, and opens the sockets.
// The macvlan starts up and without virtual addresses.
func OpenLinuxNet(c Config, vmac net.HardwareAddr) (*LinuxNet, error) {
	parent, err := net.InterfaceByName(c.CarpDev)
	if err != nil {
		return nil, fmt.Errorf("carpdev %s: %w", c.CarpDev, err)
	}
	mv, err := ensureMacvlan(c.Name, parent, vmac)
	if err != nil {
		return nil, err
	}
	n := &LinuxNet{name: c.Name, vmac: vmac, parent: parent, macvlan: mv,
		in: make(chan Inbound, 64), links: make(chan bool, 8), done: make(chan struct{})}
	if err := n.open(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *LinuxNet) open() error {
	var err error
	if n.send, err = packet.Listen(n.parent, packet.Raw, 0, nil); err != nil {
		return fmt.Errorf("%s: packet socket on %s: %w", n.name, n.parent.Name, err)
	}
	mv, err := net.InterfaceByIndex(n.macvlan.Attrs().Index)
	if err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	if n.r4, err = listen4(mv, true); err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	if n.r4u, err = listen4(n.parent, false); err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	// IPv6 may be disabled; then only IPv4 is spoken.
	if n.r6, err = listen6(mv); err != nil {
		n.r6 = nil
	}
	n.wg.Add(2)
	go n.read4(n.r4, true)
	go n.read4(n.r4u, false)
	if n.r6 != nil {
		n.wg.Add(1)
		go n.read6()
	}
	return n.watchLink()
}

// Inbound delivers received advertisements, from any sender on the
// carpdev; the worker checks them.
func (n *LinuxNet) Inbound() <-chan Inbound { return n.in }

// LinkEvents delivers the carpdev's state (true: up with carrier) on every
// change, starting with the current state.
func (n *LinuxNet) LinkEvents() <-chan bool { return n.links }

// Index is the macvlan's interface index.
func (n *LinuxNet) Index() int { return n.macvlan.Attrs().Index }

// Close stops the sockets; the macvlan stays (DestroyMacvlan removes it).
func (n *LinuxNet) Close() error {
	n.once.Do(func() {
		close(n.done)
		for _, c := range []interface{ Close() error }{n.send, n.r4, n.r4u, n.r6} {
			if c != nil && !isNilConn(c) {
				c.Close()
			}
		}
	})
	n.wg.Wait()
	return nil
}

func isNilConn(c interface{ Close() error }) bool {
	switch v := c.(type) {
	case *packet.Conn:
		return v == nil
	case *ipv4.PacketConn:
		return v == nil
	case *ipv6.PacketConn:
		return v == nil
	}
	return false
}

// bindTo returns a ListenConfig whose sockets receive only what arrives on
// ifname (SO_BINDTODEVICE): a carp interface's macvlan also sees the
// carpdev's multicast, and must not count it twice.
func bindTo(ifname string) net.ListenConfig {
	return net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), ifname) })
		return errors.Join(err, serr)
	}}
}

// listen4 opens a raw IPv4 socket for protocol 112 on ifi, joined to the
// CARP group when multicast.
func listen4(ifi *net.Interface, multicast bool) (*ipv4.PacketConn, error) {
	lc := bindTo(ifi.Name)
	c, err := lc.ListenPacket(context.Background(), "ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("ipv4 socket: %w", err)
	}
	p := ipv4.NewPacketConn(c)
	if err := p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		c.Close()
		return nil, err
	}
	if !multicast {
		return p, nil
	}
	if err := p.JoinGroup(ifi, &net.IPAddr{IP: Group4.AsSlice()}); err != nil {
		c.Close()
		return nil, fmt.Errorf("join %v on %s: %w", Group4, ifi.Name, err)
	}
	return p, nil
}

func listen6(ifi *net.Interface) (*ipv6.PacketConn, error) {
	lc := bindTo(ifi.Name)
	c, err := lc.ListenPacket(context.Background(), "ip6:112", "::")
	if err != nil {
		return nil, fmt.Errorf("ipv6 socket: %w", err)
	}
	p := ipv6.NewPacketConn(c)
	if err := p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		c.Close()
		return nil, err
	}
	if err := p.JoinGroup(ifi, &net.IPAddr{IP: Group6.AsSlice()}); err != nil {
		c.Close()
		return nil, fmt.Errorf("join %v on %s: %w", Group6, ifi.Name, err)
	}
	return p, nil
}

// read4 reads one IPv4 socket; the carpdev's socket keeps only unicast
// packets, which the macvlan's never sees.
func (n *LinuxNet) read4(c *ipv4.PacketConn, multicast bool) {
	defer n.wg.Done()
	buf := make([]byte, 1500)
	for {
		k, cm, src, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		if !multicast && (cm == nil || cm.Dst.IsMulticast()) {
			continue
		}
		in := Inbound{Family: 4, Payload: append([]byte(nil), buf[:k]...)}
		if a, ok := src.(*net.IPAddr); ok {
			in.Src, _ = netip.AddrFromSlice(a.IP.To4())
		}
		if cm != nil {
			in.TTL = cm.TTL
			in.Dst, _ = netip.AddrFromSlice(cm.Dst.To4())
		}
		if !n.deliver(in) {
			return
		}
	}
}

func (n *LinuxNet) read6() {
	defer n.wg.Done()
	buf := make([]byte, 1500)
	for {
		k, cm, src, err := n.r6.ReadFrom(buf)
		if err != nil {
			return
		}
		in := Inbound{Family: 6, Payload: append([]byte(nil), buf[:k]...)}
		if a, ok := src.(*net.IPAddr); ok {
			in.Src, _ = netip.AddrFromSlice(a.IP)
		}
		if cm != nil {
			in.TTL = cm.HopLimit
			in.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
		if !n.deliver(in) {
			return
		}
	}
}

func (n *LinuxNet) deliver(in Inbound) bool {
	select {
	case n.in <- in:
		return true
	case <-n.done:
		return false
	}
}

// watchLink follows the carpdev's state through rtnetlink (RTM_NEWLINK):
// up means IFF_UP and carrier (IFF_LOWER_UP), as carp_carpdev_state
// requires LINK_STATE_IS_UP.
func (n *LinuxNet) watchLink() error {
	ch := make(chan netlink.LinkUpdate, 16)
	if err := netlink.LinkSubscribeWithOptions(ch, n.done, netlink.LinkSubscribeOptions{ListExisting: true}); err != nil {
		return fmt.Errorf("%s: watch %s: %w", n.name, n.parent.Name, err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		last := -1
		for {
			select {
			case <-n.done:
				return
			case u, ok := <-ch:
				if !ok {
					return
				}
				if int(u.Index) != n.parent.Index {
					continue
				}
				up := u.Flags&unix.IFF_UP != 0 && u.Flags&unix.IFF_LOWER_UP != 0
				if b := boolInt(up); b != last {
					last = b
					select {
					case n.links <- up:
					case <-n.done:
						return
					}
				}
			}
		}
	}()
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Send transmits a whole Ethernet frame on the carpdev.
func (n *LinuxNet) Send(frame []byte) error {
	dst := net.HardwareAddr(frame[:6])
	_, err := n.send.WriteTo(frame, &packet.Addr{HardwareAddr: dst})
	return err
}

// Source returns the carpdev address an advertisement of family is sent
// from: its first IPv4 address, or its IPv6 link-local one (carp.md §1.1).
func (n *LinuxNet) Source(family int) (netip.Addr, bool) {
	addrs, err := n.parent.Addrs()
	if err != nil {
		return netip.Addr{}, false
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(ipn.IP)
		ip = ip.Unmap()
		if family == 4 && ip.Is4() || family == 6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// AddVIPs puts the virtual addresses on the macvlan (entering MASTER).
// IPv6 addresses skip duplicate address detection: the address is ours to
// take, and DAD would only delay it.
func (n *LinuxNet) AddVIPs(addrs []Address) error {
	for _, a := range addrs {
		na := toNetlinkAddr(a)
		if err := netlink.AddrReplace(n.macvlan, na); err != nil {
			return fmt.Errorf("%s: add %v: %w", n.name, a.Prefix, err)
		}
	}
	return nil
}

// DelVIPs removes the virtual addresses from the macvlan (leaving MASTER).
func (n *LinuxNet) DelVIPs(addrs []Address) error {
	var errs []error
	for _, a := range addrs {
		if err := netlink.AddrDel(n.macvlan, toNetlinkAddr(a)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("%s: remove %v: %w", n.name, a.Prefix, err))
		}
	}
	return errors.Join(errs...)
}

func toNetlinkAddr(a Address) *netlink.Addr {
	p := a.Prefix
	na := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		na.Flags = unix.IFA_F_NODAD
	} else if b := a.BroadcastAddr(); b.IsValid() {
		na.Broadcast = b.AsSlice()
	}
	return na
}

// ensureMacvlan returns the macvlan name on parent with MAC mac, creating
// it, or recreating one with another parent or MAC. An interface of that
// name that is not a macvlan is left alone and reported.
func ensureMacvlan(name string, parent *net.Interface, mac net.HardwareAddr) (netlink.Link, error) {
	l, err := netlink.LinkByName(name)
	if err == nil {
		mv, ok := l.(*netlink.Macvlan)
		if !ok {
			return nil, fmt.Errorf("%s: exists and is a %s, not a macvlan", name, l.Type())
		}
		if mv.ParentIndex == parent.Index && mv.HardwareAddr.String() == mac.String() {
			return mv, setupMacvlan(name, parent.Name, mv)
		}
		if err := netlink.LinkDel(l); err != nil {
			return nil, fmt.Errorf("%s: recreate: %w", name, err)
		}
	}
	mv := &netlink.Macvlan{
		LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Index, HardwareAddr: mac},
		Mode:      netlink.MACVLAN_MODE_PRIVATE,
	}
	if err := netlink.LinkAdd(mv); err != nil {
		return nil, fmt.Errorf("%s: create macvlan on %s: %w", name, parent.Name, err)
	}
	l, err = netlink.LinkByName(name)
	if err != nil {
		return nil, err
	}
	return l, setupMacvlan(name, parent.Name, l)
}

// setupMacvlan applies carp.md §9.3's sysctls and brings the macvlan up.
// The carpdev stops answering ARP for addresses that are not its own
// (arp_ignore=1, arp_filter=1), so only the MASTER's macvlan answers for a
// virtual address, and its own ARP requests name its own address as
// sender (arp_announce=2), so that neighbours never learn a virtual
// address at the carpdev's MAC. The macvlan gets no automatic IPv6 link-local address:
// both peers would generate the same one from the shared MAC.
func setupMacvlan(name, parent string, l netlink.Link) error {
	for _, s := range []struct{ path, val string }{
		{"ipv6/conf/" + name + "/addr_gen_mode", "1"},
		{"ipv6/conf/" + name + "/accept_dad", "0"},
		{"ipv4/conf/" + name + "/arp_ignore", "1"},
		{"ipv4/conf/" + name + "/accept_local", "1"},
		{"ipv4/conf/" + name + "/rp_filter", "0"},
		{"ipv4/conf/" + name + "/promote_secondaries", "1"},
		{"ipv4/conf/" + parent + "/arp_ignore", "1"},
		{"ipv4/conf/" + parent + "/arp_filter", "1"},
		{"ipv4/conf/" + parent + "/arp_announce", "2"},
	} {
		if err := writeSysctl(s.path, s.val); err != nil && !(strings.HasPrefix(s.path, "ipv6/") && errors.Is(err, os.ErrNotExist)) {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("%s: set up: %w", name, err)
	}
	return nil
}

func writeSysctl(path, val string) error {
	return os.WriteFile("/proc/sys/net/"+path, []byte(val), 0o644)
}

// DestroyMacvlan deletes carp interface name, if it exists and is a
// macvlan (carpctl carpN destroy).
func DestroyMacvlan(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	if _, ok := l.(*netlink.Macvlan); !ok {
		return nil
	}
	return netlink.LinkDel(l)
}

// CarpdevMAC is the carpdev's own MAC ("realmac" when lladdr equals it).
func (n *LinuxNet) CarpdevMAC() net.HardwareAddr { return n.parent.HardwareAddr }

// PeerMAC returns the MAC of a unicast carppeer from the carpdev's
// neighbour table. When the kernel has none yet, PeerMAC makes it resolve
// one, by sending a datagram to the peer's discard port, and reports
// false; the next advertisement finds it. OpenBSD does not count such
// sends (EHOSTDOWN) as errors, and neither does the worker.
func (n *LinuxNet) PeerMAC(ip netip.Addr) (net.HardwareAddr, bool) {
	neighs, err := netlink.NeighList(n.parent.Index, netlink.FAMILY_V4)
	if err == nil {
		for _, nb := range neighs {
			a, _ := netip.AddrFromSlice(nb.IP.To4())
			if a == ip && len(nb.HardwareAddr) == 6 && nb.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
				return nb.HardwareAddr, true
			}
		}
	}
	if c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: ip.AsSlice(), Port: 9}); err == nil {
		c.Write([]byte{0})
		c.Close()
	}
	return nil, false
}

// readSysctl returns the value of a /proc/sys/net variable, "" if unreadable.
func readSysctl(path string) string {
	b, err := os.ReadFile("/proc/sys/net/" + path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
