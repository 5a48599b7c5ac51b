package pfsync

import "time"

// The direct path. A frame or an event reaches the loop through a
// channel: the reader's goroutine hands it over and yields, the loop's
// select wakes, takes it, and only then decodes and applies it. On a
// quiet worker that hand-over is a good part of a new state's way from
// one kernel to the other (bench/pfsync, the lag in the kernel: on the
// receiver, 20 µs of about 160 from the worker's wake-up to the
// state's create, against conntrackd's 90 for the whole). So when the
// loop waits in its select and nothing is queued, the reader handles
// the frame or the first event after a quiet spell itself, holding the
// worker's mutex the loop releases only while it waits, and kicks the
// loop, which then does what follows every select (the flush timer,
// busy times, a reconciliation's next chunk): after the state is in the
// kernel or on the wire, not before. In busy times, and whenever the
// loop has work or a queue is not empty, the channel carries everything
// as before, so bursts are batched. Order is kept: a reader handles a
// frame or an event itself only once the loop has taken every one it
// queued before (Inbound.queued, CTMsg.queued against rxTaken, evTaken),
// which the loop counts under the mutex.

// directFrames and directEvents are implemented by the readers that
// offer the direct path (RawSync, KernelConntrack); the tests' fakes do
// not.
type directFrames interface{ SetDirect(func(Inbound) bool) }
type directEvents interface{ SetDirect(func(CTMsg) bool) }

// offerDirect gives the current readers the worker's direct handlers.
func (w *Worker) offerDirect() {
	if d, ok := w.sc.(directFrames); ok {
		d.SetDirect(w.takeFrame)
	}
	if d, ok := w.ct.(directEvents); ok {
		d.SetDirect(w.takeEvent)
	}
}

// takeFrame handles a received frame on the reader's goroutine, as the
// loop's inbound case does, if the loop is waiting and not busy; it
// reports whether it did.
func (w *Worker) takeFrame(in Inbound) bool {
	if !w.mu.TryLock() {
		return false
	}
	defer w.mu.Unlock()
	// A run of frames (a burst, a transfer) goes through the loop,
	// which batches their writes and starts a busy time: the reader
	// would otherwise take them one by one without ever letting it run.
	now := time.Now()
	if w.busy || w.rate.hot(now) || w.sc == nil || w.wr.pending > 0 || in.queued != w.rxTaken {
		return false
	}
	b := w.rx.reset()
	w.receive(in, b)
	w.rate.add(now, 1)
	w.finish(b)
	w.poke()
	return true
}

// takeEvent handles a conntrack event on the reader's goroutine, as the
// loop's events case does, and sends what became urgent (a new state's
// insert) at once, if the loop is waiting and not busy; it reports
// whether it did.
func (w *Worker) takeEvent(m CTMsg) bool {
	if !w.mu.TryLock() {
		return false
	}
	defer w.mu.Unlock()
	now := time.Now()
	if w.busy || w.rate.hot(now) || w.ct == nil || m.queued != w.evTaken {
		return false
	}
	w.eng.Local(m.Kind, m.Entry, now)
	w.rate.add(now, 1)
	if w.eng.Urgent() {
		w.flush()
	}
	w.poke()
	return true
}

// poke wakes the loop for what follows a select.
func (w *Worker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}
