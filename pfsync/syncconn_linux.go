package pfsync

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/vishvananda/netlink"
	ip4 "golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

// SyncConn is the worker's seam to the sync link: IP protocol 240 on
// syncdev (reference §1.1). RawSync is the real one; tests use a fake.
type SyncConn interface {
	// Send sends one pfsync frame (the IP payload) to the peer. It
	// must not keep frame after it returns: the worker builds later
	// frames in it.
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
	slab *rxSlab // the block holding Data, if any
	// queued is how many frames the reader had queued before this one
	// (the direct path's order check, direct.go).
	queued uint64
}

// Release hands the frame's memory back to the reader once the worker is
// done with it: Data must not be used after.
func (in Inbound) Release() {
	if in.slab != nil {
		in.slab.release()
	}
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
	inode uint64 // of the socket, for Dropped
	raw   syscall.RawConn
	sa    unix.RawSockaddrInet4 // the peer, for the raw send
	wg    sync.WaitGroup
	once  sync.Once
	// direct, when set, is offered each frame before the queue, while
	// the queue is empty (the worker's direct path, direct.go).
	direct atomic.Pointer[func(Inbound) bool]
	handed uint64 // frames queued so far; the reader's
	// Send's state for sendToFd, under sendMu.
	sendMu    sync.Mutex
	sendTo    func(uintptr) // s.sendToFd, made once
	sendFrame []byte
	sendErr   error
}

// SetDirect sets the handler offered each frame before the queue.
func (s *RawSync) SetDirect(f func(Inbound) bool) { s.direct.Store(&f) }

// InboundQueue frames, at most, wait between the socket and the worker:
// a few slab blocks' worth. A backlog waits in the socket's buffer
// (SyncSocketBuffer) instead, in kernel memory: a deep queue here held
// a bulk transfer's backlog, some 17 MB, in fresh heap pages, and
// touching fresh pages was the largest single cost of a receiving
// worker.
const InboundQueue = 512

// SyncSocketBuffer is the sync socket's receive buffer: room for a whole
// 100,000-state bulk transfer (20,000 frames of about 2 KiB of kernel
// memory each) while the worker writes the states to conntrack.
const SyncSocketBuffer = 64 << 20

// OpenRawSync opens the sync socket of configuration c.
func OpenRawSync(c Config) (*RawSync, error) {
	ifi, err := net.InterfaceByName(c.SyncDev)
	if err != nil {
		return nil, fmt.Errorf("syncdev %s: %w", c.SyncDev, err)
	}
	var inode uint64
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, c.SyncDev)
			if serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, SyncSocketBuffer)
			}
			var st unix.Stat_t
			if serr == nil && unix.Fstat(int(fd), &st) == nil {
				inode = st.Ino
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
	var sa unix.RawSockaddrInet4 // Family 0: Send uses WriteTo
	if c.Peer.Is4() {
		sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: c.Peer.As4()}
	}
	ipc, ok := pc.(*net.IPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("sync socket on %s: not an IP socket", c.SyncDev)
	}
	raw, err := ipc.SyscallConn()
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("sync socket on %s: %w", c.SyncDev, err)
	}
	s := &RawSync{p: p, raw: raw, sa: sa, inode: inode, dst: &net.IPAddr{IP: c.Peer.AsSlice()}, mtu: ifi.MTU - 20,
		in: make(chan Inbound, InboundQueue), links: make(chan bool, 16), done: make(chan struct{})}
	s.sendTo = s.sendToFd
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
	// Subscribe before reading the link, so no change falls between.
	updates := make(chan netlink.LinkUpdate, 64)
	if err := netlink.LinkSubscribe(updates, s.done); err != nil {
		p.Close()
		return nil, fmt.Errorf("link events: %w", err)
	}
	if l, err := netlink.LinkByName(c.SyncDev); err == nil {
		s.link = l.Attrs().RawFlags&unix.IFF_LOWER_UP != 0 && l.Attrs().Flags&net.FlagUp != 0
	}
	s.wg.Add(2)
	go s.read()
	go s.watch(ifi.Index, updates)
	return s, nil
}

// read delivers the frames that arrive until Close. It reads through
// the socket's raw connection with raw, non-blocking recvfrom calls
// (ctnat.RecvfromNow), every frame waiting at each wake-up, so that the
// Go runtime's sysmon thread is not woken at each (see docs/pfsync.md
// §4). A raw IPv4 socket returns the IP header with the payload: the TTL
// and the source come from it. The socket is bound to syncdev
// (SO_BINDTODEVICE), so no frame of another interface reaches it.
func (s *RawSync) read() {
	defer s.wg.Done()
	buf := make([]byte, 1<<16)
	slab := newFrameSlab()
	s.raw.Read(func(fd uintptr) bool {
		for {
			n, err := ctnat.RecvfromNow(int(fd), buf)
			switch {
			case err == unix.EAGAIN:
				return false // wait until readable, then again
			case err == unix.EINTR:
				continue
			case err != nil:
				// Closed, or an error the socket reports once (a
				// pending SO_ERROR): stop, or wait for the next frame.
				select {
				case <-s.done:
					return true
				default:
					return false
				}
			}
			b := buf[:n]
			if len(b) < ip4.HeaderLen || b[0]>>4 != 4 || int(b[0]&0x0f)*4 > len(b) {
				continue
			}
			in := Inbound{TTL: int(b[8])}
			in.Data, in.slab = slab.copy(b[int(b[0]&0x0f)*4:])
			in.From = netip.AddrFrom4([4]byte(b[12:16]))
			in.queued = s.handed
			if f := s.direct.Load(); f != nil && len(s.in) == 0 && (*f)(in) {
				continue
			}
			// When the worker is behind, wait: the socket's buffer
			// (SyncSocketBuffer) holds what arrives meanwhile, and
			// what overflows it is counted by the kernel (Dropped).
			select {
			case s.in <- in:
				s.handed++
			case <-s.done:
				return true
			}
			// Handed straight to a waiting worker (nothing queued) on
			// the one P the worker runs with outside busy times: let it
			// take the frame now, before this reader reads the next one
			// or finds none. Otherwise the worker started only after the
			// reader had parked, and took a new state's insert together
			// with the update that followed it (bench/pfsync, lag phase:
			// about one frame in sixteen was taken alone before, nearly
			// all after).
			if len(s.in) == 0 && runtime.GOMAXPROCS(0) == 1 {
				runtime.Gosched()
			}
		}
	})
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
// It tries a raw, non-blocking sendto first (ctnat.SendtoNow: no
// scheduler round trip), and the ordinary write when the socket is full.
func (s *RawSync) Send(frame []byte) error {
	if s.sa.Family != 0 {
		s.sendMu.Lock()
		s.sendFrame = frame
		cerr := s.raw.Control(s.sendTo)
		err := s.sendErr
		s.sendFrame, s.sendErr = nil, nil
		s.sendMu.Unlock()
		if cerr == nil && err != unix.EAGAIN {
			return err
		}
	}
	_, err := s.p.WriteTo(frame, nil, s.dst)
	return err
}

// sendToFd sends s.sendFrame on the socket's descriptor (Send, through
// raw.Control). Send passes it as s.sendTo, a method value made once in
// OpenRawSync: a closure made at each send was an allocation on a new
// state's way to the peer (docs/pfsync.md §9).
func (s *RawSync) sendToFd(fd uintptr) {
	s.sendErr = ctnat.SendtoNow(int(fd), s.sendFrame, unsafe.Pointer(&s.sa), unsafe.Sizeof(s.sa))
}

// sendBatch is at most how many frames one sendmmsg(2) carries.
const sendBatch = 64

// SendAll sends frames in order, many per system call (sendmmsg) when
// the peer's address is known, and reports how many were sent and the
// first error.
func (s *RawSync) SendAll(frames [][]byte) (int, error) {
	sent := 0
	if s.sa.Family != 0 {
		for sent < len(frames) {
			var n int
			var err error
			batch := frames[sent:min(len(frames), sent+sendBatch)]
			cerr := s.raw.Control(func(fd uintptr) {
				n, err = ctnat.SendmmsgNow(int(fd), batch, unsafe.Pointer(&s.sa), unsafe.Sizeof(s.sa))
			})
			if cerr != nil || err == unix.EAGAIN || n == 0 && err == nil {
				break // the rest one by one, waiting for room
			}
			if err != nil {
				return sent, err
			}
			sent += n
		}
	}
	for ; sent < len(frames); sent++ {
		if err := s.Send(frames[sent]); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// Dropped returns how many frames were dropped because the worker was
// behind (the kernel's count for the socket: the drops column of
// /proc/net/raw), and how many because they arrived on another
// interface than syncdev: none, since the socket is bound to it.
func (s *RawSync) Dropped() (queue, badif uint64) {
	return socketDrops("/proc/net/raw", s.inode), 0
}

// socketDrops reads the drops column of the socket with inode ino from a
// /proc/net/{raw,udp} table; 0 if it is not there.
func socketDrops(table string, ino uint64) uint64 {
	b, err := os.ReadFile(table)
	if err != nil || ino == 0 {
		return 0
	}
	want := strconv.FormatUint(ino, 10)
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) >= 13 && f[9] == want {
			n, _ := strconv.ParseUint(f[len(f)-1], 10, 64)
			return n
		}
	}
	return 0
}

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

// frameSlab hands out the frames' copies from 256 KiB blocks: one
// block per ~170 full frames instead of an allocation per frame, which
// was a tenth of the receiver's CPU in a bulk transfer (clearing and
// initialising fresh spans). A block goes back to the reader once the
// worker has released every frame cut from it (Inbound.Release), so a
// bulk transfer cycles through a few warm blocks instead of touching
// fresh memory for each (page faults and clearing were most of the
// copy's cost); a frame never released keeps its block from coming
// back, and the garbage collector takes it as before.
type frameSlab struct {
	cur  *rxSlab
	free []byte // the unused rest of cur
	home chan *rxSlab
}

const (
	slabSize  = 256 << 10
	slabsKept = 16 // blocks waiting for reuse, at most
)

// rxSlab is one block and the number of its frames not yet released,
// plus one while the reader still cuts frames from it.
type rxSlab struct {
	buf  []byte
	refs atomic.Int32
	home chan *rxSlab
}

func (s *rxSlab) release() {
	if s.refs.Add(-1) == 0 {
		select {
		case s.home <- s:
		default:
		}
	}
}

func newFrameSlab() *frameSlab { return &frameSlab{home: make(chan *rxSlab, slabsKept)} }

// copy returns a copy of b and the block holding it (nil for a frame too
// large for one, which gets its own allocation).
func (f *frameSlab) copy(b []byte) ([]byte, *rxSlab) {
	if len(b) > slabSize/8 {
		return append([]byte(nil), b...), nil
	}
	if len(b) > len(f.free) {
		if f.cur != nil {
			f.cur.release() // the reader's own reference
		}
		select {
		case f.cur = <-f.home:
		default:
			f.cur = &rxSlab{buf: make([]byte, slabSize), home: f.home}
		}
		f.cur.refs.Store(1)
		f.free = f.cur.buf
	}
	f.cur.refs.Add(1)
	out := f.free[:len(b):len(b)]
	copy(out, b)
	f.free = f.free[len(b):]
	return out, f.cur
}
