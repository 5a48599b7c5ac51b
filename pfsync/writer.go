package pfsync

import (
	"errors"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

// writer applies batches of conntrack operations in a goroutine of its
// own, in order, so that in busy times (several Ps, Worker.setBusy) the
// kernel's work on one batch (the creates of a bulk update are a third
// of the receiver's time) overlaps the decoding of the next frames in
// the worker's loop; at other times the loop writes itself (finish). The loop gets each
// batch's result back, with what had to wait until its states were in
// (bulk events, a bulk request), and alone touches the engine.
type writer struct {
	jobs    chan writeJob
	results chan writeResult
	free    chan []Op
	done    chan struct{}
	pending int // jobs sent whose results the loop has not taken
}

type writeJob struct {
	ct    Conntrack
	ops   []Op
	after rxAfter
}

// rxAfter is what a run of received frames asks for once its states are
// in the kernel.
type rxAfter struct {
	bus     []BulkEvent
	bulkReq bool
}

type writeResult struct {
	ops    []Op // for reuse
	failed []writeFailure
	after  rxAfter
}

type writeFailure struct {
	op  Op
	err error
}

// writerQueue is how many batches may wait for the writer; the loop then
// waits, and frames wait in the sync socket's buffer.
const writerQueue = 4

func newWriter() *writer {
	w := &writer{
		jobs:    make(chan writeJob, writerQueue),
		results: make(chan writeResult, writerQueue+1),
		free:    make(chan []Op, writerQueue+2),
		done:    make(chan struct{}),
	}
	go w.run()
	return w
}

func (w *writer) run() {
	defer close(w.done)
	for j := range w.jobs {
		r := writeResult{ops: j.ops, after: j.after}
		if j.ct != nil && len(j.ops) > 0 {
			r.failed = applyOps(j.ct, j.ops)
		}
		w.results <- r
	}
}

// buffer returns an empty slice for the next batch, reusing one a result
// gave back.
func (w *writer) buffer() []Op {
	select {
	case b := <-w.free:
		return b[:0]
	default:
		return nil
	}
}

// take accounts for a result the loop received and recycles its slice.
func (w *writer) take(r writeResult) {
	w.pending--
	clear(r.ops[:cap(r.ops)]) // drop the entries' pointers
	select {
	case w.free <- r.ops:
	default:
	}
}

// close stops the goroutine once the queued batches are written.
func (w *writer) close() {
	close(w.jobs)
	<-w.done
}

// applyOps writes ops to conntrack in one batch, then, as conntrackd
// does, turns a create that found the entry into an update and an update
// that missed it into a create, and returns what failed for good.
func applyOps(ct Conntrack, ops []Op) []writeFailure {
	errs := ct.Write(ops)
	var retry []Op
	var failed []writeFailure
	for i, err := range errs {
		switch {
		case err == nil:
		case ops[i].Kind == OpCreate && errors.Is(err, unix.EEXIST):
			retry = append(retry, Op{Kind: OpUpdate, Entry: ops[i].Entry})
		case ops[i].Kind == OpUpdate && errors.Is(err, unix.ENOENT):
			retry = append(retry, Op{Kind: OpCreate, Entry: ops[i].Entry})
		case ops[i].Kind == OpUpdate && errors.Is(err, unix.EBUSY):
			// The kernel holds a status bit (SEEN_REPLY, ASSURED) that
			// the update would clear, which it refuses: its status is
			// the fresher one, so write the rest without CTA_STATUS.
			e := ops[i].Entry
			e.Status &^= ctnat.StatusSeenReply | ctnat.StatusAssured
			retry = append(retry, Op{Kind: OpUpdate, Entry: e})
		case ops[i].Kind == OpDelete && errors.Is(err, unix.ENOENT):
		default:
			failed = append(failed, writeFailure{ops[i], err})
		}
	}
	if len(retry) > 0 {
		for i, err := range ct.Write(retry) {
			if err != nil {
				failed = append(failed, writeFailure{retry[i], err})
			}
		}
	}
	return failed
}
