package pfsync

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"
	ip4 "golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// SyncConn is the worker's seam to the sync link: IP protocol 240 on
// syncdev (reference §1.1). RawSync is the real one; tests use a fake.
type SyncConn interface {
	// Send sends one pfsync frame (the IP payload) to the peer.
	Send(frame []byte) error
	// Inbound yields the frames received on syncdev.
	Inbound() <-chan Inbound
	// Links yields syncdev's carrier changes; Link is the state at open.
	Links() <-chan bool
	Link() bool
	// MTU is the largest frame Send accepts.
	MTU() int
	Close() error
}

// Inbound is one received frame with what the receiver checks.
type Inbound struct {
	Data []byte
	TTL  int
	From netip.Addr
}

// RawSync sends and receives pfsync over a raw IPv4 socket bound to
// syncdev: TTL 255, TOS low delay, to 224.0.0.240 (joined on syncdev,
// loopback off) or to the unicast syncpeer.
type RawSync struct {
	p     *ip4.PacketConn
	dst   *net.IPAddr
	mtu   int
	in    chan Inbound
	links chan bool
	link  bool
	done  chan struct{}
	drops atomic.Uint64
	badif atomic.Uint64
	wg    sync.WaitGroup
	once  sync.Once
}

// InboundQueue frames wait between the socket and the worker.
const InboundQueue = 16384

// OpenRawSync opens the sync socket of configuration c.
func OpenRawSync(c Config) (*RawSync, error) {
	ifi, err := net.InterfaceByName(c.SyncDev)
	if err != nil {
		return nil, fmt.Errorf("syncdev %s: %w", c.SyncDev, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, c.SyncDev)
			if serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), fmt.Sprintf("ip4:%d", IPProto), "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("sync socket on %s: %w", c.SyncDev, err)
	}
	p := ip4.NewPacketConn(pc)
	s := &RawSync{p: p, dst: &net.IPAddr{IP: c.Peer.AsSlice()}, mtu: ifi.MTU - 20,
		in: make(chan Inbound, InboundQueue), links: make(chan bool, 16), done: make(chan struct{})}
	setup := []error{
		p.SetControlMessage(ip4.FlagTTL|ip4.FlagInterface, true),
		p.SetTTL(TTL),
		p.SetTOS(0x10),
	}
	if c.Peer.IsMulticast() {
		setup = append(setup,
			p.JoinGroup(ifi, &net.IPAddr{IP: c.Peer.AsSlice()}),
			p.SetMulticastInterface(ifi),
			p.SetMulticastTTL(TTL),
			p.SetMulticastLoopback(false))
	}
	for _, err := range setup {
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("sync socket on %s: %w", c.SyncDev, err)
		}
	}
	if l, err := netlink.LinkByName(c.SyncDev); err == nil {
		s.link = l.Attrs().RawFlags&unix.IFF_LOWER_UP != 0 && l.Attrs().Flags&net.FlagUp != 0
	}
	updates := make(chan netlink.LinkUpdate, 64)
	if err := netlink.LinkSubscribe(updates, s.done); err != nil {
		p.Close()
		return nil, fmt.Errorf("link events: %w", err)
	}
	s.wg.Add(2)
	go s.read(ifi.Index)
	go s.watch(ifi.Index, updates)
	return s, nil
}

func (s *RawSync) read(ifindex int) {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, cm, src, err := s.p.ReadFrom(buf)
		if err != nil {
			select {
			case <-s.done:
				return
			default:
				continue
			}
		}
		in := Inbound{Data: append([]byte(nil), buf[:n]...), TTL: -1}
		if cm != nil {
			in.TTL = cm.TTL
			if cm.IfIndex != 0 && cm.IfIndex != ifindex {
				s.badif.Add(1)
				continue
			}
		}
		if a, ok := src.(*net.IPAddr); ok {
			in.From, _ = netip.AddrFromSlice(a.IP)
			in.From = in.From.Unmap()
		}
		select {
		case s.in <- in:
		case <-s.done:
			return
		default: // the worker is behind: drop, as a full socket would
			s.drops.Add(1)
		}
	}
}

func (s *RawSync) watch(ifindex int, updates <-chan netlink.LinkUpdate) {
	defer s.wg.Done()
	last := s.link
	for {
		select {
		case <-s.done:
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			if int(u.Index) != ifindex {
				continue
			}
			up := u.IfInfomsg.Flags&unix.IFF_LOWER_UP != 0 && u.IfInfomsg.Flags&unix.IFF_UP != 0
			if up == last {
				continue
			}
			last = up
			select {
			case s.links <- up:
			case <-s.done:
				return
			}
		}
	}
}

// Send implements SyncConn.
func (s *RawSync) Send(frame []byte) error {
	_, err := s.p.WriteTo(frame, nil, s.dst)
	return err
}

// Dropped returns how many frames were dropped because the worker was
// behind, and how many because they arrived on another interface than
// syncdev.
func (s *RawSync) Dropped() (queue, badif uint64) { return s.drops.Load(), s.badif.Load() }

// Inbound implements SyncConn.
func (s *RawSync) Inbound() <-chan Inbound { return s.in }

// Links implements SyncConn.
func (s *RawSync) Links() <-chan bool { return s.links }

// Link implements SyncConn.
func (s *RawSync) Link() bool { return s.link }

// MTU implements SyncConn.
func (s *RawSync) MTU() int { return s.mtu }

// Close implements SyncConn.
func (s *RawSync) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.p.Close()
	})
	s.wg.Wait()
	return nil
}
