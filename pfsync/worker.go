package pfsync

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"carpfw/internal/ctl"
	"carpfw/internal/ctnat"
	"carpfw/internal/demote"
	"carpfw/internal/hugeheap"
	"carpfw/internal/link"
	"carpfw/internal/rtsched"
)

// Worker runs pfsync0: it alone owns the control socket, the sync socket,
// the conntrack netlink sockets and the timers, and translates between
// them and the pure Engine and Bulk machines. One goroutine (loop) owns
// all state; the control socket, the sockets' readers and the timers
// only feed it through channels.
type Worker struct {
	Dir  string
	Name string
	Log  *log.Logger

	// Seams, for tests; nil means the real kernel.
	OpenConntrack func() (Conntrack, error)
	OpenSync      func(Config) (SyncConn, error)

	FlushDelay     time.Duration // a queued record waits at most this long (OpenBSD: up to 1 s)
	ReconcileEvery time.Duration // dump and compare (and keep-alive) period
	BulkEvery      time.Duration // pacing of bulk transfers (OpenBSD: 20 ms)
	BulkBurst      int           // frames per BulkEvery
	// BusyProcs, if not 0, is the GOMAXPROCS to run with while a bulk
	// transfer comes in or goes out, or conntrack events back up; the
	// previous value is restored after. The worker command runs on one
	// P (fewer thread wake-ups per event) and lets busy times use more,
	// so that reading, writing, the collector and the loop run side by
	// side.
	BusyProcs int
	// HugeHeap, if not 0, is how many bytes of heap growth the worker
	// asks transparent huge pages for while a bulk update is pending
	// (internal/hugeheap): the states come in by the tens of
	// megabytes, and in 4 KiB pages each page's first touch is a fault.
	HugeHeap int
	// RTPriority, if not 0, is the SCHED_RR priority (1–99) the
	// worker's threads run at except while busy (internal/rtsched): a
	// new connection's state then goes out as soon as the kernel
	// reports it, not after the tasks that woke with it. A busy time
	// (BusyProcs) runs in the normal class, so that a transfer of
	// 100,000 states cannot hold a CPU from the packet path (softirq
	// work that ksoftirqd, a normal task, finishes). Where the class is
	// refused the worker logs it once and runs in the normal class.
	RTPriority int

	cfg    Config
	stop   context.CancelFunc
	ctlc   chan ctlReq
	eng    *Engine
	bulk   Bulk
	ct     Conntrack
	sc     SyncConn
	ledger *demote.Ledger
	demote int

	bulkTimer *time.Timer
	bulkOwed  bool // a peer's bulk request came while syncdev's link was down
	lastSend  time.Time
	rx        rxBatch       // reused for every run of received frames
	narrow    int           // GOMAXPROCS to restore when no longer busy; 0: not widened
	busy      bool          // in a busy time (setBusy)
	rate      rateWindow    // events and frames handled, for busy times
	dec       Decoder       // received frames' decoder, its memory kept (receive)
	rt        rtsched.Class // the class outside busy times; zero: not raised
	huge      *hugeheap.Advice
	wr        *writer

	// mu is held by the loop except while it waits in its select: a
	// reader that takes it handles a frame or an event on its own
	// goroutine (direct.go); kick then wakes the loop for the rest.
	mu   sync.Mutex
	kick chan struct{}
	// Frames and events the loop took from the current readers'
	// queues: a reader handles one itself only when every one it
	// queued before is done (direct.go).
	rxTaken, evTaken uint64
}

// DefaultRTPriority is the worker command's RTPriority: SCHED_RR 10,
// above every normal task and below the kernel's threaded interrupt
// handlers (SCHED_FIFO 50). conntrackd runs at SCHED_RR 99 by default;
// in the normal class our worker was preempted about once per
// connection and its replication lag was up to twice conntrackd's
// (bench/pfsync). CARPFW_PFSYNC_RTPRIO=0 keeps the normal class.
const DefaultRTPriority = 10

// setBusy enters or leaves a busy time (a transfer, a backlog of
// events): BusyProcs Ps in the normal scheduling class, instead of one
// P in the real-time class.
func (w *Worker) setBusy(busy bool) {
	if busy == w.busy {
		return
	}
	w.busy = busy
	w.widen(busy)
	w.realtime(!busy)
}

// realtime puts the worker's threads in its real-time class (on) or the
// normal one; a refusal is logged and ends real-time scheduling.
func (w *Worker) realtime(on bool) {
	if w.rt == (rtsched.Class{}) {
		return
	}
	c := rtsched.Normal
	if on {
		c = w.rt
	}
	if err := rtsched.Set(c); err != nil {
		w.Log.Printf("%s: %v; running in the normal class", w.Name, err)
		rtsched.Set(rtsched.Normal)
		w.rt = rtsched.Class{}
	}
}

// rateWindow tells a busy time by its rate: more than busyRate events
// and frames (received or sent) in one busyWindow, and busyHold after. At the rate of
// single connections (a connection gives some seven conntrack events
// within a millisecond) the worker stays in its real-time class and
// writes peers' states itself; a burst of states (each event or frame
// handled at once, in the real-time class, would preempt the programs
// that make them, and send and write a frame per event) runs like a
// transfer.
type rateWindow struct {
	start time.Time
	n     int       // handled since start
	until time.Time // busy until then
}

const (
	busyWindow = 10 * time.Millisecond
	busyRate   = 64 // 6,400 a second
	busyHold   = 200 * time.Millisecond
)

// add counts k events or frames handled at now.
func (r *rateWindow) add(now time.Time, k int) {
	if now.Sub(r.start) >= busyWindow {
		r.start, r.n = now, 0
	}
	r.n += k
	if r.n > busyRate {
		r.until = now.Add(busyHold)
	}
}

// hot reports whether a window went above busyRate less than busyHold
// ago.
func (r *rateWindow) hot(now time.Time) bool { return now.Before(r.until) }

// widen applies BusyProcs while busy (a transfer, a backlog of events)
// and restores the previous GOMAXPROCS after.
func (w *Worker) widen(busy bool) {
	switch {
	case w.BusyProcs == 0:
	case busy && w.narrow == 0:
		w.narrow = runtime.GOMAXPROCS(w.BusyProcs)
	case !busy && w.narrow != 0:
		runtime.GOMAXPROCS(w.narrow)
		w.narrow = 0
	}
}

// DefaultFlushDelay is how long a queued record waits for others to share
// its frame, unless something urgent (a new state, a completed TCP
// handshake, maxupd) takes it along first. OpenBSD waits up to a
// second. At tens of connections a second a connection's later updates
// (its close) ride in the next connection's insert instead of a frame
// of their own after a timer's wake-ups (bench/pfsync: CPU per
// connection). The update a takeover needs to keep a connection, its
// completed handshake, does not wait (Engine.changed).
const DefaultFlushDelay = 100 * time.Millisecond

// DefaultHugeHeap is the heap growth a worker asks huge pages for while
// its bulk update is pending: about what 100,000 states take.
const DefaultHugeHeap = 64 << 20

// DefaultBulkEvery and DefaultBulkBurst pace a bulk transfer: this many
// frames every this long (OpenBSD: one frame every 20 ms). At MTU 1500,
// 512 frames carry 2,560 states: 256,000 states/s, which the receiver's
// socket buffer (SyncSocketBuffer) absorbs while it writes them to
// conntrack; pfsync has no acknowledgement to pace by.
const (
	DefaultBulkEvery = 10 * time.Millisecond
	DefaultBulkBurst = 512
)

// Control operations a Worker answers.
const (
	OpStatus    = "status"    // answer: Status
	OpConfigure = "configure" // body: Request; answer: Status
	OpStats     = "stats"     // answer: Stats
)

type ctlReq struct {
	op    string
	body  json.RawMessage
	reply chan ctlResp
}

type ctlResp struct {
	v   any
	err error
}

// NewWorker prepares the worker of name under dir; Run starts it.
func NewWorker(dir, name string, logw io.Writer) *Worker {
	return &Worker{Dir: dir, Name: name, Log: log.New(logw, "", log.LstdFlags)}
}

func randomCreator() uint32 {
	var b [4]byte
	for b == [4]byte{} {
		rand.Read(b[:])
	}
	return binary.BigEndian.Uint32(b[:])
}

// Run serves until ctx ends or the interface is destroyed, resuming a
// saved configuration if there is one.
func (w *Worker) Run(ctx context.Context) error {
	ctx, w.stop = context.WithCancel(ctx)
	defer w.stop()
	if w.FlushDelay == 0 {
		w.FlushDelay = DefaultFlushDelay
	}
	timeouts := ReadTimeouts()
	if w.ReconcileEvery == 0 {
		w.ReconcileEvery = timeouts.KeepAlive()
	}
	if w.BulkEvery == 0 {
		w.BulkEvery = DefaultBulkEvery
	}
	if w.BulkBurst == 0 {
		w.BulkBurst = DefaultBulkBurst
	}
	if w.OpenConntrack == nil {
		w.OpenConntrack = func() (Conntrack, error) { return OpenKernelConntrack() }
	}
	if w.OpenSync == nil {
		w.OpenSync = func(c Config) (SyncConn, error) { return OpenRawSync(c) }
	}
	w.cfg = NewConfig(w.Name)
	if ok, err := ctl.LoadState(w.Dir, w.Name, &w.cfg); err != nil {
		return err
	} else if ok {
		w.Log.Printf("%s: resuming saved configuration", w.Name)
	}
	var err error
	if w.ledger, err = demote.Open(w.Dir); err != nil {
		return err
	}
	w.eng = NewEngine(randomCreator(), time.Now())
	w.eng.Timeouts = timeouts
	w.ctlc = make(chan ctlReq)
	ln, err := ctl.Listen(w.Dir, w.Name)
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- ctl.Serve(ctx, ln, func(ctx context.Context, op string, body json.RawMessage) (any, error) {
			r := ctlReq{op: op, body: body, reply: make(chan ctlResp, 1)}
			select {
			case w.ctlc <- r:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			resp := <-r.reply
			return resp.v, resp.err
		})
	}()
	w.wr = newWriter()
	w.kick = make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.loop(ctx)
	w.stopSync()
	w.drainWrites()
	w.wr.close()
	w.setDemote(0)
	if serr := <-serveErr; err == nil {
		err = serr
	}
	return err
}

// loop is the worker's only goroutine with state.
func (w *Worker) loop(ctx context.Context) error {
	// The flush timer runs only while something is queued, so an idle
	// worker does not wake up.
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	defer flush.Stop()
	armed := false
	reconcile := time.NewTicker(w.ReconcileEvery)
	defer reconcile.Stop()
	dumps := make(chan dumpResult, 1)
	dumping := false
	// A reconciliation in progress, a chunk per wake of step.
	var (
		rec   *Reconciliation
		recCt Conntrack
		step  = make(chan struct{}, 1)
	)
	defer func() {
		if dumping {
			<-dumps
		}
	}()
	// The bulk pacing ticker runs only while a bulk transfer is sent.
	bulkTick := time.NewTicker(w.BulkEvery)
	bulkTick.Stop()
	defer bulkTick.Stop()
	ticking := false
	bulkTimer := time.NewTimer(time.Hour)
	bulkTimer.Stop()
	defer bulkTimer.Stop()
	w.bulkTimer = bulkTimer
	if w.RTPriority != 0 {
		if c, err := rtsched.RoundRobin(w.RTPriority); err != nil {
			w.Log.Printf("%s: %v; running in the normal class", w.Name, err)
		} else {
			w.rt = c
			w.realtime(true)
			defer w.realtime(false)
		}
	}
	if w.cfg.Up {
		if err := w.startSync(); err != nil {
			w.Log.Printf("%s: %v", w.Name, err)
		}
	}
	for {
		var (
			events  <-chan CTMsg
			ctErr   <-chan error
			inbound <-chan Inbound
			links   <-chan bool
		)
		if w.ct != nil {
			events, ctErr = w.ct.Events()
		}
		if w.sc != nil {
			inbound, links = w.sc.Inbound(), w.sc.Links()
		}
		// Readers may handle a frame or an event themselves while the
		// loop waits here (direct.go).
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			w.mu.Lock()
			return nil
		case <-w.kick:
			w.mu.Lock()
			// A reader handled a frame or an event: what follows the
			// select (flushing, timers, busy times) runs for it.
		case r := <-w.ctlc:
			w.mu.Lock()
			v, err := w.handle(r.op, r.body)
			r.reply <- ctlResp{v, err}
		case m := <-events:
			w.mu.Lock()
			w.eng.Local(m.Kind, m.Entry, time.Now())
			w.evTaken++
			n := 1
			// Drain what is queued without blocking, bounded.
			for ; n < 4096; n++ {
				select {
				case m := <-events:
					w.eng.Local(m.Kind, m.Entry, time.Now())
					w.evTaken++
					continue
				default:
				}
				break
			}
			w.rate.add(time.Now(), n)
		case err := <-ctErr:
			w.mu.Lock()
			w.eng.Stats.EventErrors++
			w.Log.Printf("%s: conntrack events: %v; reopening and reconciling", w.Name, err)
			w.reopenConntrack()
		case in := <-inbound:
			w.mu.Lock()
			// Take what else has arrived (bounded), so that the
			// conntrack writes of many frames go out in one batch.
			b := w.rx.reset()
			w.receive(in, b)
			w.rxTaken++
			n := 1
			for ; n < 256; n++ {
				select {
				case in := <-inbound:
					w.receive(in, b)
					w.rxTaken++
					continue
				default:
				}
				break
			}
			w.rate.add(time.Now(), n)
			w.finish(b)
		case r := <-w.wr.results:
			w.mu.Lock()
			w.written(r)
		case up := <-links:
			w.mu.Lock()
			w.Log.Printf("%s: syncdev %s link %s", w.Name, w.cfg.SyncDev, map[bool]string{true: "up", false: "down"}[up])
			ev := BulkLinkDown
			if up {
				ev = BulkLinkUp
			}
			w.bulkStep(ev)
			if up && w.bulkOwed {
				w.answerBulk()
			}
		case <-bulkTimer.C:
			w.mu.Lock()
			w.bulkStep(BulkTimeout)
		case <-flush.C:
			w.mu.Lock()
			armed = false
			w.flush()
		case <-bulkTick.C:
			w.mu.Lock()
			if w.sc != nil && w.eng.BulkRunning() && w.bulk.Link {
				w.send(w.eng.BulkNext(w.BulkBurst))
			}
		case <-reconcile.C:
			w.mu.Lock()
			// The dump runs beside the loop, so a large table does not
			// stall receiving; not while a bulk update comes in or goes
			// out, which it would slow down (a dump of 100,000 entries
			// costs about half a second of CPU).
			if w.ct != nil && !dumping && rec == nil && w.bulk.State != BulkBulk && !w.eng.BulkRunning() {
				// Writes still queued would look like states gone
				// from the kernel: wait for them, so that every state
				// the engine has at the dump's start is in the kernel.
				w.drainWrites()
				dumping = true
				go func(ct Conntrack) {
					start := time.Now()
					d, err := ct.Dump()
					dumps <- dumpResult{ct: ct, entries: d, start: start, err: err}
				}(w.ct)
			}
		case d := <-dumps:
			w.mu.Lock()
			dumping = false
			switch {
			case d.err != nil:
				w.Log.Printf("%s: %v", w.Name, d.err)
			case d.ct == w.ct:
				rec, recCt = w.eng.StartReconcile(d.entries, d.start), d.ct
			}
		case <-step:
			w.mu.Lock()
			if rec == nil || recCt != w.ct {
				rec = nil // conntrack was reopened: the next dump redoes it
				break
			}
			if rec.Step(reconcileChunk, time.Now()) {
				rec = nil
			}
		}
		// A transfer, a backlog of events (a burst of new
		// connections: the kernel drops events once the socket's
		// buffer is full) or a high rate of events or frames
		// (rateWindow) is a busy time until it is over (setBusy).
		backlog := len(events) > cap(events)/4 || (w.busy && len(events) > 0)
		hot := w.rate.hot(time.Now())
		// A bulk update is awaited from the request on, so that a
		// transfer is received in the normal class on all CPUs.
		w.setBusy(w.bulk.Pending() || w.eng.BulkRunning() || backlog || hot)
		if running := w.sc != nil && w.eng.BulkRunning(); running != ticking {
			if running {
				bulkTick.Reset(w.BulkEvery)
			} else {
				bulkTick.Stop()
			}
			ticking = running
		}
		// The next chunk of a reconciliation, unless a bulk transfer
		// runs: it waits until the transfer is over.
		if rec != nil && len(step) == 0 && w.bulk.State != BulkBulk && !w.eng.BulkRunning() {
			step <- struct{}{}
		}
		if w.eng.Urgent() {
			w.flush()
		}
		if armed && !w.eng.Pending() {
			// What the timer waited for left with something urgent.
			flush.Stop()
			armed = false
		}
		// A record goes out at once when nothing was sent for a flush
		// delay (low rates: no added lag), else with the next ones
		// (bursts: full frames).
		if w.eng.Pending() && !armed {
			if time.Since(w.lastSend) >= w.FlushDelay {
				w.flush()
			} else {
				flush.Reset(w.FlushDelay)
				armed = true
			}
		}
	}
}

func (w *Worker) handle(op string, body json.RawMessage) (any, error) {
	switch op {
	case OpStatus:
		return w.status(), nil
	case OpStats:
		return w.stats(), nil
	case OpConfigure:
		var r Request
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("bad request: %w", err)
		}
		out, err := Apply(w.cfg, r, link.Exists)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
		if out.Destroy {
			w.stopSync()
			w.stop()
			return nil, ctl.RemoveState(w.Dir, w.Name)
		}
		if err := ctl.SaveState(w.Dir, w.Name, out.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
		was := w.cfg.Up
		w.cfg = out.Config
		w.eng.MaxUpd = w.cfg.MaxUpd
		switch {
		case w.cfg.Up && !was:
			if err := w.startSync(); err != nil {
				return nil, fmt.Errorf("%s: %w", w.Name, err)
			}
		case !w.cfg.Up && was:
			w.stopSync()
		}
		return w.status(), nil
	}
	return nil, fmt.Errorf("%s: unknown operation %q", w.Name, op)
}

func (w *Worker) status() Status {
	mtu := 0
	if w.sc != nil {
		mtu = w.sc.MTU() + 20
	}
	return Status{Config: w.cfg, Running: w.sc != nil && w.ct != nil, MTU: mtu}
}

func (w *Worker) stats() Stats {
	s := w.eng.Stats
	s.States, s.LocalStates = w.eng.Len()
	if d, ok := w.sc.(interface{ Dropped() (queue, badif uint64) }); ok {
		s.InDrops, s.BadIf = d.Dropped()
	}
	s.Bulk = w.bulk.State.String()
	s.Demote = w.demote
	return s
}

// startSync opens the sync socket and conntrack, takes the table in
// without announcing it, and asks the peers for a bulk update.
func (w *Worker) startSync() error {
	sc, err := w.OpenSync(w.cfg)
	if err != nil {
		return err
	}
	ct, err := w.OpenConntrack()
	if err != nil {
		sc.Close()
		return err
	}
	w.sc, w.ct = sc, ct
	w.rxTaken, w.evTaken = 0, 0
	w.offerDirect()
	w.eng.MTU = sc.MTU()
	w.eng.MaxUpd = w.cfg.MaxUpd
	w.eng.Hold(true)
	w.reconcile()
	limit := 262144 // nf_conntrack_max's usual value, if unreadable
	if b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			limit = n
		}
	}
	w.bulk = Bulk{Link: sc.Link(), BulkWait: BulkWaitFor(limit, sc.MTU()+20)}
	w.bulkStep(BulkUp)
	w.Log.Printf("%s: up on %s to %s, creatorid %08x", w.Name, w.cfg.SyncDev, w.cfg.Peer, w.eng.CreatorID)
	return nil
}

func (w *Worker) stopSync() {
	if w.sc == nil && w.ct == nil {
		return
	}
	w.bulkStep(BulkDown)
	w.bulkOwed = false
	if w.sc != nil {
		w.flush()
		w.sc.Close()
		w.sc = nil
	}
	w.drainWrites()
	if w.ct != nil {
		w.ct.Close()
		w.ct = nil
	}
}

func (w *Worker) reopenConntrack() {
	w.drainWrites()
	if w.ct != nil {
		w.ct.Close()
		w.ct = nil
	}
	ct, err := w.OpenConntrack()
	if err != nil {
		w.Log.Printf("%s: conntrack: %v", w.Name, err)
		return
	}
	w.ct = ct
	w.evTaken = 0
	w.offerDirect()
	w.reconcile()
}

func (w *Worker) reconcile() {
	if w.ct == nil {
		return
	}
	start := time.Now()
	dump, err := w.ct.Dump()
	if err != nil {
		w.Log.Printf("%s: %v", w.Name, err)
		return
	}
	w.eng.Reconcile(dump, start, time.Now())
}

func (w *Worker) bulkStep(ev BulkEvent) {
	for _, a := range w.bulk.Step(ev) {
		switch a.Kind {
		case ActSendBulkReq:
			if w.sc != nil {
				w.send([][]byte{w.eng.BulkRequest()})
			}
		case ActArmTimer:
			w.bulkTimer.Reset(a.D)
		case ActStopTimer:
			w.bulkTimer.Stop()
		case ActLog:
			w.Log.Printf("%s: bulk update: %s", w.Name, a.Reason)
		}
	}
	if w.bulk.State == BulkDone || w.bulk.State == BulkNone {
		w.eng.Hold(false)
		w.huge.End() // later growth is page by page, beside the lag
		w.huge = nil
	} else if w.huge == nil && w.HugeHeap > 0 {
		w.huge = hugeheap.Reserve(w.HugeHeap)
	}
	w.setDemote(w.bulk.Demotion())
}

// setDemote makes pfsync0's contribution to each of its groups n.
func (w *Worker) setDemote(n int) {
	if n == w.demote || w.ledger == nil {
		return
	}
	for _, g := range w.cfg.Groups {
		if err := w.ledger.Set(g, w.Name, n); err != nil {
			w.Log.Printf("%s: demote %s: %v", w.Name, g, err)
		}
	}
	w.Log.Printf("%s: demoted groups %v by %d", w.Name, w.cfg.Groups, n)
	w.demote = n
}

// reconcileChunk is how many dumped entries a reconciliation compares
// between two looks at events and frames (well under a millisecond).
const reconcileChunk = 256

func (w *Worker) flush() {
	if !w.eng.Pending() {
		return
	}
	frames := w.eng.Flush()
	if w.sc != nil { // down: what was queued is dropped, as OpenBSD does
		w.send(frames)
	}
}

func (w *Worker) send(frames [][]byte) {
	w.lastSend = time.Now()
	// Frames sent count toward a busy time, which starts before they
	// go: a burst of them is sent in the normal class, beside the
	// softirq work that delivers them (ksoftirqd, a normal task, once
	// the kernel defers to it), not ahead of it.
	w.rate.add(w.lastSend, len(frames))
	if w.rate.hot(w.lastSend) {
		w.setBusy(true)
	}
	defer w.eng.Recycle(frames) // sent or refused, the socket keeps no reference
	if all, ok := w.sc.(interface{ SendAll([][]byte) (int, error) }); ok && len(frames) > 1 {
		n, err := all.SendAll(frames)
		w.eng.Stats.OPackets += uint64(n)
		if err != nil {
			// A frame the kernel refused is lost, as with Send; the
			// rest go out one by one.
			w.eng.Stats.OErrors++
			frames = frames[n+1:]
		} else {
			frames = nil
		}
	}
	for _, f := range frames {
		if err := w.sc.Send(f); err != nil {
			w.eng.Stats.OErrors++
			continue
		}
		w.eng.Stats.OPackets++
	}
}

// ReadTimeouts reads the conntrack timeouts of the caller's network
// namespace; a sysctl it cannot read keeps the kernel's default.
func ReadTimeouts() Timeouts {
	t := DefaultTimeouts
	read := func(name string, v *uint32) {
		b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_" + name)
		if err != nil {
			return
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32); err == nil && n > 0 {
			*v = uint32(n)
		}
	}
	for st, name := range map[int]string{
		ctnat.TCPSynSent: "syn_sent", ctnat.TCPSynRecv: "syn_recv", ctnat.TCPEstablished: "established",
		ctnat.TCPFinWait: "fin_wait", ctnat.TCPCloseWait: "close_wait", ctnat.TCPLastAck: "last_ack",
		ctnat.TCPTimeWait: "time_wait", ctnat.TCPClose: "close",
	} {
		read("tcp_timeout_"+name, &t.TCP[st])
	}
	read("udp_timeout", &t.UDP)
	read("udp_timeout_stream", &t.UDPStream)
	read("icmp_timeout", &t.ICMP)
	return t
}

// dumpResult is a conntrack dump made beside the loop.
type dumpResult struct {
	ct      Conntrack
	entries []ctnat.Entry
	start   time.Time
	err     error
}

// rxBatch is what a run of received frames asks for.
type rxBatch struct {
	ops     []Op
	bus     []BulkEvent
	bulkReq bool
}

// reset empties the batch for a new run of frames and returns it.
func (b *rxBatch) reset() *rxBatch {
	b.ops, b.bus, b.bulkReq = b.ops[:0], b.bus[:0], false
	return b
}

// receive checks one frame as pfsync_input does, feeds it to the
// engine and releases the frame's memory (Inbound.Release). Malformed
// frames are counted and dropped whole: unlike OpenBSD, the sections
// before a bad one are not applied either.
func (w *Worker) receive(in Inbound, b *rxBatch) {
	defer in.Release()
	s := &w.eng.Stats
	s.IPackets++
	if in.TTL != TTL {
		s.BadTTL++
		return
	}
	p, err := w.dec.Parse(in.Data)
	switch {
	case errors.Is(err, ErrShortPacket):
		s.HdrOps++
		return
	case errors.Is(err, ErrBadVersion):
		s.BadVer++
		return
	case errors.Is(err, ErrBadAction):
		s.BadAct++
		return
	case err != nil:
		s.BadLen++
		return
	}
	ops, bus, bulkReq := w.eng.ReceiveAppend(b.ops, p, time.Now())
	b.ops = ops
	b.bus = append(b.bus, bus...)
	b.bulkReq = b.bulkReq || bulkReq
}

// finish writes a batch's states to conntrack: in busy times through
// the writer, so that the kernel's work on one batch overlaps the
// decoding of the next, else itself. What must wait until they are in
// (moving the bulk requester, so that a BUS END counts only once its
// states are written; answering a bulk request) happens once they are:
// at once, or when the writer's result comes back (written).
func (w *Worker) finish(b *rxBatch) {
	if w.wr.pending == 0 && (w.ct == nil || len(b.ops) == 0 || !w.busy) {
		// Outside busy times the worker runs on one P, where the
		// writer could not overlap anything: the loop writes itself,
		// without a goroutine switch on the way of a peer's new
		// state into the kernel.
		if w.ct != nil && len(b.ops) > 0 {
			for _, f := range applyOps(w.ct, b.ops) {
				w.kernelError(f.op, f.err)
			}
			clear(b.ops) // drop the entries' pointers; the slice is reused
		}
		w.afterWrite(rxAfter{bus: b.bus, bulkReq: b.bulkReq})
		return
	}
	after := rxAfter{bus: append([]BulkEvent(nil), b.bus...), bulkReq: b.bulkReq}
	j := writeJob{ct: w.ct, ops: b.ops, after: after}
	w.wr.pending++
	for sent := false; !sent; {
		// Taking results while waiting keeps the writer from blocking
		// on a full results channel while the loop waits for it.
		select {
		case w.wr.jobs <- j:
			sent = true
		case r := <-w.wr.results:
			w.written(r)
		}
	}
	b.ops = w.wr.buffer()
}

// written takes a batch's result from the writer.
func (w *Worker) written(r writeResult) {
	w.wr.take(r)
	for _, f := range r.failed {
		w.kernelError(f.op, f.err)
	}
	w.afterWrite(r.after)
}

// drainWrites waits until every queued batch is written, before the
// conntrack sockets close or the worker stops.
func (w *Worker) drainWrites() {
	for w.wr != nil && w.wr.pending > 0 {
		w.written(<-w.wr.results)
	}
}

func (w *Worker) afterWrite(a rxAfter) {
	s := &w.eng.Stats
	for _, ev := range a.bus {
		if ev == BulkBusEnd && w.bulk.State == BulkBulk {
			s.BulkReceived++
		}
		w.bulkStep(ev)
	}
	if a.bulkReq {
		w.answerBulk()
	}
}

// answerBulk starts the bulk transfer a peer asked for, or, while
// syncdev's link is down in our view, owes it until the link is up.
// A request can arrive first: the peer's end of a veth or of a cable
// carries as soon as it comes up, while our end drops what we send
// (the kernel's noop queueing discipline) until the kernel's link
// watch has activated it and told us (RTM_NEWLINK with IFF_LOWER_UP).
// A transfer answered at once lost its start and much of its states
// (cmd/pfsyncctl TestLateBackupWaitsForBulk under CPU load).
func (w *Worker) answerBulk() {
	if !w.bulk.Link {
		if !w.bulkOwed {
			w.Log.Printf("%s: bulk update requested while syncdev %s link is down; sending when it is up", w.Name, w.cfg.SyncDev)
		}
		w.bulkOwed = true
		return
	}
	w.bulkOwed = false
	w.eng.StartBulk()
	w.send(w.eng.BulkNext(w.BulkBurst))
}

func (w *Worker) kernelError(op Op, err error) {
	w.eng.Stats.KernelErrors++
	if w.eng.Stats.KernelErrors <= 10 {
		w.Log.Printf("%s: conntrack write %v: %v", w.Name, op.Entry.Orig, err)
	}
}
