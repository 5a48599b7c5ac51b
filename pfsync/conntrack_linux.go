package pfsync

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/netfilter"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

// Conntrack is the worker's seam to the kernel's connection table.
// KernelConntrack is the real one; tests use a fake.
type Conntrack interface {
	// Events returns the NEW, UPDATE and DESTROY events, and a channel
	// that yields an error when the event socket failed (an overrun):
	// the caller then reopens and reconciles against a dump.
	Events() (<-chan CTMsg, <-chan error)
	// Dump returns every entry of the table.
	Dump() ([]ctnat.Entry, error)
	// Write performs ops in order, in as few system calls as it can,
	// and returns one error per op (unix.EEXIST for a create of a
	// present entry, unix.ENOENT for an update or delete of an absent one).
	Write(ops []Op) []error
	Close() error
}

// CTMsg is one conntrack event.
type CTMsg struct {
	Kind  CTEvent
	Entry ctnat.Entry
	// queued is how many events the reader had queued before this one
	// (the direct path's order check, direct.go).
	queued uint64
}

// Sizes for bursts: the kernel queues events on the netlink socket (not
// scanned by Go's garbage collector, unlike a channel's buffer), we queue
// a few decoded ones on a channel.
const (
	EventSocketBuffer = 32 << 20
	EventQueue        = 1 << 12
)

// KernelConntrack is Conntrack over ctnetlink in the caller's network
// namespace: events on a netlink socket of our own decoded by
// ctnat.DecodeEntry (held equal to github.com/ti-mo/conntrack's decoder),
// dumps and writes through internal/ctnat (which carries NAT bindings),
// each on a socket of its own.
type KernelConntrack struct {
	ev   *netlink.Conn
	dump *ctnat.Conn
	wr   *ctnat.Conn
	out  chan CTMsg
	errc chan error
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	// direct, when set, is offered the first event after a quiet spell
	// before the queue, while the queue is empty (the worker's direct
	// path, direct.go).
	direct atomic.Pointer[func(CTMsg) bool]
	handed uint64 // events queued so far; the receive goroutine's
	wmu    sync.Mutex
	wops   []ctnat.Op // Write's buffer, under wmu
}

// SetDirect sets the handler offered the first event after a quiet spell.
func (k *KernelConntrack) SetDirect(f func(CTMsg) bool) { k.direct.Store(&f) }

// OpenKernelConntrack subscribes to conntrack events and opens the
// sockets for dumps and writes. The event socket carries a socket filter
// that drops the events of our own writes (their nlmsg_pid is the write
// socket's port, ctnetlink_conntrack_event): the states a peer sent us
// would otherwise come back as events to decode and discard, doubling
// the receiver's work.
func OpenKernelConntrack() (*KernelConntrack, error) {
	k := &KernelConntrack{out: make(chan CTMsg, EventQueue), errc: make(chan error, 1), done: make(chan struct{})}
	var err error
	if k.wr, err = ctnat.Dial(); err != nil {
		return nil, err
	}
	if k.dump, err = ctnat.Dial(); err != nil {
		k.wr.Close()
		return nil, err
	}
	if k.ev, err = netlink.Dial(unix.NETLINK_NETFILTER, nil); err != nil {
		k.wr.Close()
		k.dump.Close()
		return nil, fmt.Errorf("conntrack: dial: %w", err)
	}
	if err := k.listen(); err != nil {
		k.Close()
		return nil, err
	}
	k.wg.Add(1)
	go k.receive()
	return k, nil
}

func (k *KernelConntrack) listen() error {
	port, err := k.wr.PortID()
	if err != nil {
		return err
	}
	filter, err := notFromPort(port)
	if err != nil {
		return err
	}
	if err := k.ev.SetBPF(filter); err != nil {
		return fmt.Errorf("conntrack: event filter: %w", err)
	}
	if err := k.ev.SetReadBuffer(EventSocketBuffer); err != nil {
		return fmt.Errorf("conntrack: event buffer: %w", err)
	}
	for _, g := range []netfilter.NetlinkGroup{netfilter.GroupCTNew, netfilter.GroupCTUpdate, netfilter.GroupCTDestroy} {
		if err := k.ev.JoinGroup(uint32(g)); err != nil {
			return fmt.Errorf("conntrack: join group %d: %w", g, err)
		}
	}
	return nil
}

// notFromPort is a classic BPF socket filter that drops the netlink
// messages whose nlmsg_pid (bytes 12–15 of struct nlmsghdr, host order)
// is port and accepts the rest. BPF loads words big-endian, so the
// constant is port's bytes in host order read big-endian.
func notFromPort(port uint32) ([]bpf.RawInstruction, error) {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], port)
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: binary.BigEndian.Uint32(b[:]), SkipTrue: 1},
		bpf.RetConstant{Val: 0xffffffff},
		bpf.RetConstant{Val: 0},
	})
}

// receive decodes events into the worker's queue until Close; a receive
// error (ENOBUFS: the socket overran) ends it and is reported once. It
// reads the socket through its raw connection, every datagram waiting at
// each wake-up into one reused buffer (one recvfrom per event; the
// library's Receive peeks at each first and allocates its buffer), and
// decodes them without garbage (decodeEvent).
func (k *KernelConntrack) receive() {
	defer k.wg.Done()
	report := func(err error) {
		select {
		case <-k.done:
		case k.errc <- err:
		default:
		}
	}
	raw, err := k.ev.SyscallConn()
	if err != nil {
		report(err)
		return
	}
	buf := make([]byte, 1<<16)
	var last time.Time
	// One read function for every read: a closure made per read moved
	// it and its results to the heap, three allocations per datagram.
	var n int
	var rerr error
	read := func(fd uintptr) bool {
		n, rerr = ctnat.RecvfromNow(int(fd), buf)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	}
	for {
		err := raw.Read(read)
		if err == nil {
			err = rerr
		}
		if err != nil {
			report(err)
			return
		}
		for nm, rest, ok := ctnat.NextMessage(buf[:n]); ok; nm, rest, ok = ctnat.NextMessage(rest) {
			msg, ok := decodeEvent(nm)
			if !ok {
				continue
			}
			// The first event after a quiet spell is handled at once:
			// it is usually a new connection's, and its insert goes
			// out before the rest (its handshake's updates) are
			// decoded; by the worker on this goroutine if it waits
			// (direct), else handed over. In a burst the events queue
			// up and fill frames.
			now := time.Now()
			first := now.Sub(last) > quietGap
			last = now
			msg.queued = k.handed
			if f := k.direct.Load(); first && f != nil && len(k.out) == 0 && (*f)(msg) {
				continue
			}
			select {
			case k.out <- msg:
				k.handed++
			case <-k.done:
				return
			}
			if first {
				runtime.Gosched()
			}
		}
	}
}

// decodeEvent reads one ctnetlink event: the kind from the header
// (IPCTNL_MSG_CT_NEW with NLM_F_CREATE or NLM_F_EXCL is a new entry,
// without them an update; IPCTNL_MSG_CT_DELETE a destroyed one, as in
// ctnetlink_conntrack_event), the entry with ctnat.DecodeEntry, which
// github.com/ti-mo/conntrack's decoder is the reference of.
func decodeEvent(nm syscall.NetlinkMessage) (CTMsg, bool) {
	if nm.Header.Type>>8 != uint16(netfilter.NFSubsysCTNetlink) {
		return CTMsg{}, false
	}
	var msg CTMsg
	switch nm.Header.Type & 0xff {
	case ctnlMsgNew:
		msg.Kind = CTUpdate
		if nm.Header.Flags&(unix.NLM_F_CREATE|unix.NLM_F_EXCL) != 0 {
			msg.Kind = CTNew
		}
	case ctnlMsgDelete:
		msg.Kind = CTDestroy
	default:
		return CTMsg{}, false
	}
	e, err := ctnat.DecodeEntry(nm.Data)
	if err != nil {
		return CTMsg{}, false
	}
	msg.Entry = e
	return msg, true
}

// Message types of ctnetlink (enum cntl_msg_types).
const (
	ctnlMsgNew    = 0
	ctnlMsgDelete = 2
)

// quietGap is how long without events makes the next one the first of a
// new run.
const quietGap = time.Millisecond

// Events implements Conntrack.
func (k *KernelConntrack) Events() (<-chan CTMsg, <-chan error) { return k.out, k.errc }

// Dump implements Conntrack.
func (k *KernelConntrack) Dump() ([]ctnat.Entry, error) {
	return k.dump.Dump()
}

// Write implements Conntrack.
// The operations are converted into a buffer kept between calls (wops):
// a new buffer each time was the largest allocation on a peer's new
// state's way into the kernel (docs/pfsync.md §9).
func (k *KernelConntrack) Write(ops []Op) []error {
	k.wmu.Lock()
	defer k.wmu.Unlock()
	c := k.wops[:0]
	for _, op := range ops {
		c = append(c, ctnat.Op{Kind: ctnat.OpKind(op.Kind), Entry: op.Entry})
	}
	errs := k.wr.Do(c)
	clear(c) // keep no entry alive
	k.wops = c[:0]
	return errs
}

// Close implements Conntrack.
func (k *KernelConntrack) Close() error {
	k.once.Do(func() {
		close(k.done)
		if k.ev != nil {
			k.ev.Close()
		}
		k.dump.Close()
		k.wr.Close()
	})
	k.wg.Wait()
	return nil
}
