package pfsync

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctl"
	"carpfw/internal/ctnat"
	"carpfw/internal/demote"
)

// fakeCT is an in-memory conntrack table that reports its own writes as
// events, as the kernel does.
type fakeCT struct {
	mu     sync.Mutex
	table  map[Key]ctnat.Entry
	events chan CTMsg
	errc   chan error
}

func newFakeCT() *fakeCT {
	return &fakeCT{table: map[Key]ctnat.Entry{}, events: make(chan CTMsg, 1024), errc: make(chan error, 1)}
}

func (f *fakeCT) Events() (<-chan CTMsg, <-chan error) { return f.events, f.errc }

func (f *fakeCT) Dump() ([]ctnat.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ctnat.Entry
	for _, e := range f.table {
		out = append(out, e)
	}
	return out, nil
}

func (f *fakeCT) put(kind CTEvent, e ctnat.Entry) {
	f.mu.Lock()
	if kind == CTDestroy {
		delete(f.table, KeyOf(e))
	} else {
		f.table[KeyOf(e)] = e
	}
	f.mu.Unlock()
	f.events <- CTMsg{Kind: kind, Entry: e}
}

func (f *fakeCT) Write(ops []Op) []error {
	errs := make([]error, len(ops))
	for i, op := range ops {
		f.mu.Lock()
		_, ok := f.table[KeyOf(op.Entry)]
		f.mu.Unlock()
		switch {
		case op.Kind == OpCreate && ok:
			errs[i] = unix.EEXIST
		case op.Kind != OpCreate && !ok:
			errs[i] = unix.ENOENT
		case op.Kind == OpCreate:
			f.put(CTNew, op.Entry)
		case op.Kind == OpUpdate:
			f.put(CTUpdate, op.Entry)
		default:
			f.put(CTDestroy, op.Entry)
		}
	}
	return errs
}

func (f *fakeCT) Close() error { return nil }

func (f *fakeCT) has(k Key) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.table[k]
	return ok
}

// fakeLink is one end of a sync link made of channels. down loses what
// it sends; noCarrier is the worker's view at open (Link), changed later
// through carrier (Links).
type fakeLink struct {
	peer      *fakeLink
	in        chan Inbound
	mu        sync.Mutex
	down      bool
	noCarrier bool
	carrier   chan bool
}

func linkPair() (*fakeLink, *fakeLink) {
	a, b := &fakeLink{in: make(chan Inbound, 1024)}, &fakeLink{in: make(chan Inbound, 1024)}
	a.peer, b.peer = b, a
	return a, b
}

func (l *fakeLink) Send(frame []byte) error {
	l.mu.Lock()
	down := l.down
	l.mu.Unlock()
	if !down {
		l.peer.in <- Inbound{Data: append([]byte(nil), frame...), TTL: TTL}
	}
	return nil
}
func (l *fakeLink) Inbound() <-chan Inbound { return l.in }
func (l *fakeLink) Links() <-chan bool      { return l.carrier }
func (l *fakeLink) Link() bool              { return !l.noCarrier }
func (l *fakeLink) MTU() int                { return 1480 }
func (l *fakeLink) Close() error            { return nil }

type fakeFW struct {
	dir  string
	ct   *fakeCT
	link *fakeLink
	stop context.CancelFunc
	done chan error
}

func startFake(t *testing.T, ct *fakeCT, link *fakeLink) *fakeFW {
	t.Helper()
	f := &fakeFW{dir: t.TempDir(), ct: ct, link: link, done: make(chan error, 1)}
	w := NewWorker(f.dir, "pfsync0", io.Discard)
	w.OpenConntrack = func() (Conntrack, error) { return ct, nil }
	w.OpenSync = func(Config) (SyncConn, error) { return link, nil }
	w.ReconcileEvery = time.Hour
	var ctx context.Context
	ctx, f.stop = context.WithCancel(context.Background())
	go func() { f.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		f.stop()
		if err := <-f.done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	// up needs a syncdev that exists: lo does everywhere.
	req := Request{Name: "pfsync0", Settings: []Setting{{Keyword: "syncdev", Arg: "lo"}, {Keyword: "up"}}}
	// The socket file appears when it is bound, before it listens: wait
	// for an answer, as the command's Detach does.
	waitFor(t, "control socket", func() bool {
		var st Status
		return ctl.Call(context.Background(), f.dir, "pfsync0", OpStatus, nil, &st) == nil
	})
	var st Status
	if err := ctl.Call(context.Background(), f.dir, "pfsync0", OpConfigure, req, &st); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeFW) stats(t *testing.T) Stats {
	var s Stats
	if err := ctl.Call(context.Background(), f.dir, "pfsync0", OpStats, nil, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestWorkersReplicateThroughFakes(t *testing.T) {
	la, lb := linkPair()
	a, b := startFake(t, newFakeCT(), la), startFake(t, newFakeCT(), lb)
	waitFor(t, "both bulk updates done", func() bool {
		return a.stats(t).Bulk == "done" && b.stats(t).Bulk == "done"
	})
	for i := range 50 {
		a.ct.put(CTNew, conn(uint16(2000+i), ctnat.TCPEstablished))
	}
	waitFor(t, "50 states on b", func() bool { return b.stats(t).States == 50 })
	for i := range 50 {
		if !b.ct.has(KeyOf(conn(uint16(2000+i), ctnat.TCPEstablished))) {
			t.Fatalf("state %d missing from b's table", i)
		}
	}
	a.ct.put(CTDestroy, conn(2000, ctnat.TCPEstablished))
	waitFor(t, "the delete on b", func() bool { return !b.ct.has(KeyOf(conn(2000, ctnat.TCPEstablished))) })
	// Frames that must be counted and dropped.
	for _, in := range []Inbound{
		{Data: b.link.lastGood(t, a), TTL: 64},
		{Data: []byte{6, 0, 0}, TTL: TTL},
		{Data: append([]byte{5, 0, 0, 20}, make([]byte, 16)...), TTL: TTL},
		{Data: append([]byte{6, 0, 0, 40}, make([]byte, 16)...), TTL: TTL},
	} {
		lb.in <- in
	}
	waitFor(t, "counters", func() bool {
		s := b.stats(t)
		return s.BadTTL == 1 && s.HdrOps == 1 && s.BadVer == 1 && s.BadLen == 1
	})
	if s := b.stats(t); s.States != 49 || s.Inserted != 50 {
		t.Errorf("b: %d states, %d inserted", s.States, s.Inserted)
	}
}

// lastGood builds a valid INS frame of a new state (for the bad-TTL case).
func (l *fakeLink) lastGood(t *testing.T, _ *fakeFW) []byte {
	s, _, _ := Export(conn(9999, ctnat.TCPEstablished), Ref{CreatorID: 0xdead, ID: 1})
	b, err := (&Packet{Sections: []Section{{Action: ActionIns, Records: []Record{&s}}}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWorkerBulkDemotesUntilDone(t *testing.T) {
	la, lb := linkPair()
	a := startFake(t, newFakeCT(), la)
	for i := range 30 {
		a.ct.put(CTNew, conn(uint16(3000+i), ctnat.TCPEstablished))
	}
	lb.mu.Lock()
	lb.down = true // b's requests are lost at first
	lb.mu.Unlock()
	b := startFake(t, newFakeCT(), lb)
	l, err := demote.Open(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b demoted", func() bool { n, _ := l.Group("carp"); return n == DemoteBulk })
	if s := b.stats(t); s.Bulk != "sent" || s.Demote != 32 {
		t.Fatalf("b: bulk %s demote %d", s.Bulk, s.Demote)
	}
	lb.mu.Lock()
	lb.down = false
	lb.mu.Unlock()
	// The next retry (2 s) gets the bulk.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && b.stats(t).Bulk != "done"; time.Sleep(20 * time.Millisecond) {
	}
	s := b.stats(t)
	if s.Bulk != "done" || s.States != 30 || s.BulkReceived != 1 {
		t.Fatalf("b: bulk %s, %d states, %d bulks", s.Bulk, s.States, s.BulkReceived)
	}
	if n, _ := l.Group("carp"); n != 0 {
		t.Errorf("carp demote %d after the bulk, want 0", n)
	}
}

// TestWorkerOwesBulkUntilLinkUp: a bulk request that arrives while the
// answering worker sees syncdev's link down (the peer's end carries
// first) is answered when the link comes up, not into a link that drops
// it.
func TestWorkerOwesBulkUntilLinkUp(t *testing.T) {
	la, lb := linkPair()
	la.noCarrier, la.carrier = true, make(chan bool, 1)
	a := startFake(t, newFakeCT(), la)
	for i := range 30 {
		a.ct.put(CTNew, conn(uint16(4000+i), ctnat.TCPEstablished))
	}
	waitFor(t, "a tracks 30 states", func() bool { return a.stats(t).LocalStates == 30 })
	b := startFake(t, newFakeCT(), lb)
	// b's request reaches a; a owes the transfer.
	time.Sleep(300 * time.Millisecond)
	if s := b.stats(t); s.Bulk != "sent" || s.States != 0 {
		t.Fatalf("b before a's link is up: bulk %s, %d states", s.Bulk, s.States)
	}
	if s := a.stats(t); s.BulkSent != 0 {
		t.Fatalf("a sent %d bulk transfers with its link down", s.BulkSent)
	}
	la.carrier <- true
	waitFor(t, "b's bulk done", func() bool { return b.stats(t).Bulk == "done" })
	if s := b.stats(t); s.States != 30 || s.BulkReceived != 1 {
		t.Fatalf("b: %d states, %d bulks received", s.States, s.BulkReceived)
	}
}

// TestRateWindowTellsBurstsFromConnections: single connections (seven
// events a millisecond apart, every 20 ms) never make a busy time; more
// than busyRate in a window does, until busyHold after the last such
// window.
func TestRateWindowTellsBurstsFromConnections(t *testing.T) {
	var r rateWindow
	now := t0
	for conn := range 100 {
		for range 7 {
			r.add(now, 1)
			if r.hot(now) {
				t.Fatalf("connection %d at 50/s made a busy time", conn)
			}
			now = now.Add(time.Millisecond / 7)
		}
		now = now.Add(19 * time.Millisecond)
	}
	now = now.Add(busyWindow)
	for i := range busyRate + 1 {
		r.add(now, 1)
		if hot := r.hot(now); hot != (i == busyRate) {
			t.Fatalf("after %d events in one window: hot %v", i+1, hot)
		}
	}
	if !r.hot(now.Add(busyHold - time.Millisecond)) {
		t.Error("the busy time ended before busyHold")
	}
	if r.hot(now.Add(busyHold + time.Millisecond)) {
		t.Error("the busy time lasted past busyHold")
	}
}
