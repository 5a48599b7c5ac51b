package pfsync

import (
	"io"
	"testing"
	"time"

	"carpfw/internal/ctnat"
)

// directWorker is a worker as its loop leaves it while waiting in its
// select: sync link and conntrack open, the mutex free.
func directWorker(t *testing.T) (*Worker, *fakeCT, *fakeLink) {
	t.Helper()
	ct := newFakeCT()
	mine, peer := linkPair()
	w := NewWorker(t.TempDir(), "pfsync0", io.Discard)
	w.eng = NewEngine(2, time.Now())
	w.sc, w.ct = mine, ct
	w.wr = newWriter()
	t.Cleanup(w.wr.close)
	w.kick = make(chan struct{}, 1)
	return w, ct, peer
}

// frameOf is a peer's insert of the TCP connection from sport.
func frameOf(t *testing.T, sport uint16) (Inbound, ctnat.Entry) {
	t.Helper()
	src := NewEngine(1, time.Now())
	e := conn(sport, ctnat.TCPEstablished)
	src.Local(CTNew, e, time.Now())
	frames := src.Flush()
	if len(frames) != 1 {
		t.Fatalf("%d frames, want 1", len(frames))
	}
	return Inbound{Data: frames[0], TTL: TTL}, e
}

func TestTakeFrameAppliesWhileTheLoopWaits(t *testing.T) {
	w, ct, _ := directWorker(t)
	in, e := frameOf(t, 1000)
	if !w.takeFrame(in) {
		t.Fatal("frame refused while the loop waits")
	}
	if !ct.has(KeyOf(e)) {
		t.Error("the peer's state is not in conntrack after the direct path")
	}
	select {
	case <-w.kick:
	default:
		t.Error("the loop was not kicked for what follows")
	}
}

func TestTakeFrameKeepsOrder(t *testing.T) {
	w, ct, _ := directWorker(t)
	// One frame was queued before this one and the loop has not taken
	// it yet: this one must wait behind it in the queue.
	in, e := frameOf(t, 1001)
	in.queued = 1
	if w.takeFrame(in) {
		t.Fatal("frame taken before one queued ahead of it")
	}
	if ct.has(KeyOf(e)) {
		t.Error("state written out of order")
	}
	w.rxTaken = 1 // the loop took the queued one
	if !w.takeFrame(in) {
		t.Error("frame refused once the one ahead was taken")
	}
}

func TestTakeFrameRefusedWhileTheLoopWorksOrInBusyTimes(t *testing.T) {
	w, ct, _ := directWorker(t)
	in, e := frameOf(t, 1002)
	w.mu.Lock()
	if w.takeFrame(in) {
		t.Error("frame taken while the loop holds the worker")
	}
	w.mu.Unlock()
	w.rate.add(time.Now(), busyRate+1)
	if w.takeFrame(in) {
		t.Error("frame taken in a run of frames (the loop batches them)")
	}
	if ct.has(KeyOf(e)) {
		t.Error("a refused frame was applied")
	}
}

func TestTakeEventSendsANewStateAtOnce(t *testing.T) {
	w, _, peer := directWorker(t)
	if !w.takeEvent(CTMsg{Kind: CTNew, Entry: conn(2000, ctnat.TCPSynSent)}) {
		t.Fatal("event refused while the loop waits")
	}
	select {
	case in := <-peer.in:
		if got := sectionActions(t, [][]byte{in.Data}); len(got) == 0 || got[0] != ActionIns {
			t.Errorf("sections %v, want an insert first", got)
		}
	default:
		t.Error("no frame on the link after a new connection's event")
	}
	if w.takeEvent(CTMsg{Kind: CTNew, Entry: conn(2001, ctnat.TCPSynSent), queued: 3}) {
		t.Error("event taken before three queued ahead of it")
	}
}
