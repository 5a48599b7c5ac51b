package pfsync

import (
	"fmt"
	"sync"

	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"

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
}

// Sizes for bursts: the kernel queues events on the netlink socket, we
// queue decoded ones on a channel.
const (
	EventSocketBuffer = 16 << 20
	EventQueue        = 1 << 16
)

// KernelConntrack is Conntrack over ctnetlink in the caller's network
// namespace: events and dumps through github.com/ti-mo/conntrack, writes
// through internal/ctnat (which carries NAT bindings).
type KernelConntrack struct {
	ev, dump *conntrack.Conn
	wr       *ctnat.Conn
	out      chan CTMsg
	errc     chan error
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// OpenKernelConntrack subscribes to conntrack events and opens the
// sockets for dumps and writes.
func OpenKernelConntrack() (*KernelConntrack, error) {
	k := &KernelConntrack{out: make(chan CTMsg, EventQueue), errc: make(chan error, 1), done: make(chan struct{})}
	var err error
	if k.ev, err = conntrack.Dial(nil); err != nil {
		return nil, fmt.Errorf("conntrack: dial: %w", err)
	}
	if k.dump, err = conntrack.Dial(nil); err != nil {
		k.ev.Close()
		return nil, fmt.Errorf("conntrack: dial: %w", err)
	}
	if k.wr, err = ctnat.Dial(); err != nil {
		k.ev.Close()
		k.dump.Close()
		return nil, err
	}
	if err := k.ev.SetReadBuffer(EventSocketBuffer); err != nil {
		k.Close()
		return nil, fmt.Errorf("conntrack: event buffer: %w", err)
	}
	in := make(chan conntrack.Event, 1024)
	errs, err := k.ev.Listen(in, 1, []netfilter.NetlinkGroup{
		netfilter.GroupCTNew, netfilter.GroupCTUpdate, netfilter.GroupCTDestroy,
	})
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("conntrack: listen: %w", err)
	}
	k.wg.Add(1)
	go k.convert(in, errs)
	return k, nil
}

func (k *KernelConntrack) convert(in <-chan conntrack.Event, errs <-chan error) {
	defer k.wg.Done()
	for {
		select {
		case <-k.done:
			return
		case err := <-errs:
			select {
			case k.errc <- err:
			default:
			}
			return
		case ev := <-in:
			if ev.Flow == nil {
				continue
			}
			m := CTMsg{Entry: ctnat.FromFlow(ev.Flow)}
			switch ev.Type {
			case conntrack.EventNew:
				m.Kind = CTNew
			case conntrack.EventUpdate:
				m.Kind = CTUpdate
			case conntrack.EventDestroy:
				m.Kind = CTDestroy
			default:
				continue
			}
			select {
			case k.out <- m:
			case <-k.done:
				return
			}
		}
	}
}

// Events implements Conntrack.
func (k *KernelConntrack) Events() (<-chan CTMsg, <-chan error) { return k.out, k.errc }

// Dump implements Conntrack.
func (k *KernelConntrack) Dump() ([]ctnat.Entry, error) {
	flows, err := k.dump.Dump(nil)
	if err != nil {
		return nil, fmt.Errorf("conntrack: dump: %w", err)
	}
	out := make([]ctnat.Entry, len(flows))
	for i := range flows {
		out[i] = ctnat.FromFlow(&flows[i])
	}
	return out, nil
}

// Write implements Conntrack.
func (k *KernelConntrack) Write(ops []Op) []error {
	c := make([]ctnat.Op, len(ops))
	for i, op := range ops {
		c[i] = ctnat.Op{Kind: ctnat.OpKind(op.Kind), Entry: op.Entry}
	}
	return k.wr.Do(c)
}

// Close implements Conntrack.
func (k *KernelConntrack) Close() error {
	k.once.Do(func() {
		close(k.done)
		k.ev.Close()
		k.dump.Close()
		k.wr.Close()
	})
	k.wg.Wait()
	return nil
}
