package pfsync

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func conn(sport uint16, state uint8) ctnat.Entry {
	return ctnat.Entry{
		Orig: tcpTuple(client, server, sport, 80), Reply: tcpTuple(server, client, 80, sport),
		Status: ctnat.StatusSeenReply | ctnat.StatusAssured | ctnat.StatusConfirmed, Timeout: 432000,
		TCP: &ctnat.TCP{State: state, WScaleOrig: 7, WScaleReply: 7, FlagsOrig: 3, FlagsReply: 3},
	}
}

// deliver passes every frame from one engine to another and returns the
// conntrack writes and BUS events of the receiver.
func deliver(t *testing.T, frames [][]byte, to *Engine, now time.Time) (ops []Op, bus []BulkEvent, bulkReq bool) {
	t.Helper()
	for _, f := range frames {
		if len(f) > to.MTU {
			t.Fatalf("frame of %d bytes, MTU %d", len(f), to.MTU)
		}
		p, err := ParsePacket(f)
		if err != nil {
			t.Fatalf("parse our own frame: %v", err)
		}
		o, b, r := to.Receive(p, now)
		ops, bus, bulkReq = append(ops, o...), append(bus, b...), bulkReq || r
	}
	return ops, bus, bulkReq
}

func TestEngineInsertUpdateDelete(t *testing.T) {
	a, b := NewEngine(0xa, t0), NewEngine(0xb, t0)
	e := conn(40000, ctnat.TCPEstablished)
	a.Local(CTNew, e, t0)
	ops, _, _ := deliver(t, a.Flush(), b, t0)
	if len(ops) != 1 || ops[0].Kind != OpCreate || ops[0].Entry.Orig != e.Orig || ops[0].Entry.TCP.State != ctnat.TCPEstablished {
		t.Fatalf("ops %+v", ops)
	}
	ref, ok := b.Lookup(KeyOf(e))
	if want, _ := a.Lookup(KeyOf(e)); !ok || ref != want || ref.CreatorID != 0xa {
		t.Fatalf("b knows %v, a %v", ref, want)
	}
	// The echo of B's own write is not sent back.
	b.Local(CTNew, e, t0)
	if f := b.Flush(); len(f) != 0 {
		t.Fatalf("echo sent %d frames", len(f))
	}
	// A FIN from the client: an UPD_C, merged on B.
	fin := conn(40000, ctnat.TCPFinWait)
	fin.TCP.FlagsOrig |= ctnat.TCPFlagCloseInit
	fin.Timeout = 120
	a.Local(CTUpdate, fin, t0.Add(time.Second))
	frames := a.Flush()
	p, _ := ParsePacket(frames[0])
	if p.Sections[0].Action != ActionUpdC {
		t.Fatalf("sent %v, want UPD_C", p.Sections[0].Action)
	}
	ops, _, _ = deliver(t, frames, b, t0.Add(time.Second))
	if len(ops) != 1 || ops[0].Kind != OpUpdate || ops[0].Entry.TCP.State != ctnat.TCPFinWait || ops[0].Entry.TCP.FlagsOrig&ops[0].Entry.TCP.MaskOrig&ctnat.TCPFlagCloseInit == 0 {
		t.Fatalf("update ops %+v", ops)
	}
	// Destroyed on A: DEL_C removes it on B.
	a.Local(CTDestroy, fin, t0.Add(2*time.Second))
	ops, _, _ = deliver(t, a.Flush(), b, t0.Add(2*time.Second))
	if len(ops) != 1 || ops[0].Kind != OpDelete || ops[0].Entry.Orig != e.Orig {
		t.Fatalf("delete ops %+v", ops)
	}
	// B's own destroy event for it is not echoed.
	b.Local(CTDestroy, fin, t0.Add(2*time.Second))
	if b.Pending() {
		t.Error("echo of the delete queued")
	}
	if b.Stats.Inserted != 1 || b.Stats.Updated != 1 || b.Stats.Deleted != 1 {
		t.Errorf("stats %+v", b.Stats)
	}
}

func TestEngineInsertNeverSentIsNotDeleted(t *testing.T) {
	a := NewEngine(1, t0)
	e := conn(1, ctnat.TCPSynSent)
	a.Local(CTNew, e, t0)
	a.Local(CTDestroy, e, t0)
	if a.Pending() {
		t.Error("INS or DEL_C queued for a state that never left")
	}
}

func TestEngineSkipsNoSync(t *testing.T) {
	a := NewEngine(1, t0)
	e := conn(1, ctnat.TCPEstablished)
	e.Labels = make([]byte, 16)
	e.Labels[15] = 0x80
	a.Local(CTNew, e, t0)
	p := ctnat.Entry{Orig: ctnat.Tuple{Src: client, Dst: server, Proto: IPProto}, Reply: ctnat.Tuple{Src: server, Dst: client, Proto: IPProto}}
	a.Local(CTNew, p, t0)
	// Update events do not repeat the labels: the entry stays unsynced.
	e.Labels = nil
	e.TCP = &ctnat.TCP{State: ctnat.TCPFinWait}
	a.Local(CTUpdate, e, t0)
	if a.Pending() || a.Stats.NoSync != 2 {
		t.Errorf("pending %v, nosync %d", a.Pending(), a.Stats.NoSync)
	}
	// Once destroyed, the same tuple may come back as a syncable entry.
	a.Local(CTDestroy, e, t0)
	a.Local(CTNew, e, t0)
	if !a.Pending() {
		t.Error("a new entry with a reused tuple is not announced")
	}
}

func TestEngineUpdateRequest(t *testing.T) {
	a, b := NewEngine(0xa, t0), NewEngine(0xb, t0)
	e := conn(5, ctnat.TCPEstablished)
	a.Local(CTNew, e, t0)
	a.Flush() // lost: B never sees the INS
	e.TCP.State = ctnat.TCPCloseWait
	a.Local(CTUpdate, e, t0)
	ops, _, _ := deliver(t, a.Flush(), b, t0)
	if len(ops) != 0 || !b.Urgent() {
		t.Fatalf("ops %v for an unknown UPD_C", ops)
	}
	req := b.Flush()
	p, _ := ParsePacket(req[0])
	if p.Sections[0].Action != ActionUpdReq {
		t.Fatalf("B sent %v, want UPD_REQ", p.Sections[0].Action)
	}
	if _, _, bulk := deliver(t, req, a, t0); bulk || !a.Urgent() {
		t.Fatal("A did not take it as a request for one state")
	}
	ops, _, _ = deliver(t, a.Flush(), b, t0)
	if len(ops) != 1 || ops[0].Kind != OpCreate || ops[0].Entry.TCP.State != ctnat.TCPCloseWait {
		t.Fatalf("after UPD: %+v", ops)
	}
}

func TestEngineMaxUpd(t *testing.T) {
	a := NewEngine(1, t0)
	a.MaxUpd = 2
	e := conn(1, ctnat.TCPEstablished)
	a.Local(CTNew, e, t0)
	a.Flush()
	for i, st := range []uint8{ctnat.TCPFinWait, ctnat.TCPCloseWait, ctnat.TCPLastAck} {
		e.TCP.State = st
		a.Local(CTUpdate, e, t0)
		if got, want := a.Urgent(), i == 2; got != want {
			t.Errorf("update %d: urgent %v, want %v", i, got, want)
		}
	}
}

// TestEngineHandshakeDoneIsUrgent: the update that completes a TCP
// handshake goes out at once; the updates of an opening or closing
// connection wait for the flush delay.
func TestEngineHandshakeDoneIsUrgent(t *testing.T) {
	a := NewEngine(1, t0)
	e := conn(1, ctnat.TCPSynSent)
	e.Status &^= ctnat.StatusSeenReply | ctnat.StatusAssured
	a.Local(CTNew, e, t0)
	if !a.Urgent() {
		t.Fatal("a new state is not urgent")
	}
	a.Flush()
	for _, c := range []struct {
		state  uint8
		urgent bool
	}{
		{ctnat.TCPSynRecv, false},
		{ctnat.TCPEstablished, true},
		{ctnat.TCPFinWait, false},
		{ctnat.TCPTimeWait, false},
	} {
		e.TCP.State = c.state
		a.Local(CTUpdate, e, t0)
		if got := a.Urgent(); got != c.urgent {
			t.Errorf("update to conntrack state %d: urgent %v, want %v", c.state, got, c.urgent)
		}
		if !a.Pending() {
			t.Errorf("update to conntrack state %d queued nothing", c.state)
		}
		a.Flush()
	}
}

func TestEngineStaleUpdateAnswered(t *testing.T) {
	a, b := NewEngine(0xa, t0), NewEngine(0xb, t0)
	e := conn(7, ctnat.TCPEstablished)
	a.Local(CTNew, e, t0)
	deliver(t, a.Flush(), b, t0)
	// B moved on (it forwards now); an older UPD_C from A is stale.
	e2 := e
	e2.TCP = &ctnat.TCP{State: ctnat.TCPTimeWait}
	b.Local(CTUpdate, e2, t0)
	b.Flush()
	ref, _ := a.Lookup(KeyOf(e))
	old := &Packet{Sections: []Section{{Action: ActionUpdC, Records: []Record{&UpdC{ID: ref.ID, CreatorID: ref.CreatorID,
		Src: StatePeer{State: TCPSEstablished}, Dst: StatePeer{State: TCPSEstablished}, Timeout: TimeoutTCPEstablished}}}}}
	ops, _, _ := b.Receive(old, t0)
	if len(ops) != 0 || b.Stats.Stale != 1 || !b.Pending() {
		t.Fatalf("ops %v stale %d pending %v", ops, b.Stats.Stale, b.Pending())
	}
}

func TestEngineBulk(t *testing.T) {
	a, b := NewEngine(0xa, t0), NewEngine(0xb, t0)
	a.MTU = 1480
	for i := range 23 {
		a.Local(CTNew, conn(uint16(1000+i), ctnat.TCPEstablished), t0)
	}
	a.Flush()
	_, _, bulk := deliver(t, [][]byte{b.BulkRequest()}, a, t0)
	if !bulk {
		t.Fatal("UPD_REQ(0,0) not seen as a bulk request")
	}
	a.StartBulk()
	var ops []Op
	var bus []BulkEvent
	for i := 0; i < 100 && a.BulkRunning(); i++ {
		o, bb, _ := deliver(t, a.BulkNext(2), b, t0)
		ops, bus = append(ops, o...), append(bus, bb...)
	}
	if a.BulkRunning() {
		t.Fatal("bulk never ended")
	}
	if len(ops) != 23 || len(bus) != 2 || bus[0] != BulkBusStart || bus[1] != BulkBusEnd {
		t.Fatalf("%d ops, bus %v", len(ops), bus)
	}
	if a.Stats.BulkStates != 23 {
		t.Errorf("bulk states %d", a.Stats.BulkStates)
	}
	// An empty table still answers START and END.
	c := NewEngine(0xc, t0)
	c.StartBulk()
	_, bus, _ = deliver(t, c.BulkNext(10), b, t0)
	if len(bus) != 2 {
		t.Errorf("empty bulk: %v", bus)
	}
}

func TestEngineHoldAdoptsPeerStates(t *testing.T) {
	a, b := NewEngine(0xa, t0), NewEngine(0xb, t0)
	shared, mine := conn(1, ctnat.TCPEstablished), conn(2, ctnat.TCPEstablished)
	a.Local(CTNew, shared, t0)
	a.Flush()
	b.Hold(true)
	b.Reconcile([]ctnat.Entry{shared, mine}, t0, t0)
	if b.Pending() {
		t.Fatal("announced while holding")
	}
	a.StartBulk()
	ops, _, _ := deliver(t, a.BulkNext(10), b, t0)
	if len(ops) != 1 || ops[0].Kind != OpUpdate {
		t.Fatalf("bulk of a known key: %+v", ops)
	}
	ra, _ := a.Lookup(KeyOf(shared))
	if rb, _ := b.Lookup(KeyOf(shared)); rb != ra {
		t.Fatalf("b did not adopt %v (has %v)", ra, rb)
	}
	b.Hold(false)
	ops, _, _ = deliver(t, b.Flush(), a, t0)
	if len(ops) != 1 || ops[0].Entry.Orig != mine.Orig {
		t.Fatalf("after release: %+v", ops)
	}
}

func TestEngineReconcile(t *testing.T) {
	a := NewEngine(1, t0)
	gone, quiet, busy := conn(1, ctnat.TCPEstablished), conn(2, ctnat.TCPEstablished), conn(3, ctnat.TCPEstablished)
	for _, e := range []ctnat.Entry{gone, quiet, busy} {
		a.Local(CTNew, e, t0)
	}
	a.Flush()
	missed := ctnat.Entry{Orig: ctnat.Tuple{Src: client, Dst: server, Proto: unix.IPPROTO_UDP, SrcPort: 9, DstPort: 53},
		Reply: ctnat.Tuple{Src: server, Dst: client, Proto: unix.IPPROTO_UDP, SrcPort: 53, DstPort: 9}, Timeout: 30}
	t1 := t0.Add(10 * time.Second)
	a.Reconcile([]ctnat.Entry{quiet, busy, missed}, t1, t1)
	if a.Stats.ReconcileNew != 1 || a.Stats.ReconcileGone != 1 {
		t.Fatalf("stats %+v", a.Stats)
	}
	p, _ := ParsePacket(a.Flush()[0])
	acts := []Action{}
	for _, s := range p.Sections {
		acts = append(acts, s.Action)
	}
	if len(acts) != 2 || acts[0] != ActionIns || acts[1] != ActionDelC {
		t.Fatalf("sections %v, want INS (missed new) and DEL_C (missed destroy)", acts)
	}
	// 10 s later the busy one has its full timeout back, the quiet one 10 s less.
	t2 := t1.Add(10 * time.Second)
	quiet.Timeout -= 10
	a.Reconcile([]ctnat.Entry{quiet, busy, missed}, t2, t2)
	if a.Stats.Refreshes != 2 { // busy, and missed (30 s left after 10 s)
		t.Fatalf("refreshes %d, want 2", a.Stats.Refreshes)
	}
	p, _ = ParsePacket(a.Flush()[0])
	if p.Sections[0].Action != ActionUpdC || len(p.Sections[0].Records) != 2 {
		t.Errorf("refresh sent %v ×%d", p.Sections[0].Action, len(p.Sections[0].Records))
	}
	if u := p.Sections[0].Records[0].(*UpdC); u.ID == 0 {
		t.Error("no id")
	}
}

func TestEngineClear(t *testing.T) {
	a, b := NewEngine(0xa, t0), NewEngine(0xb, t0)
	for i := range 3 {
		a.Local(CTNew, conn(uint16(i+1), ctnat.TCPEstablished), t0)
	}
	deliver(t, a.Flush(), b, t0)
	ops, _, _ := b.Receive(&Packet{Sections: []Section{{Action: ActionClr, Records: []Record{&Clr{CreatorID: 0xa}}}}}, t0)
	if all, _ := b.Len(); len(ops) != 3 || all != 0 {
		t.Fatalf("clear: %d ops, %d left", len(ops), all)
	}
}

// TestEngineNoUpdateStorm: a peer's update written to our kernel comes
// back as an event that may lag behind (here: the kernel kept its old
// status). The engine must not send that older view, or the peers would
// answer each other's stale updates for ever.
func TestEngineNoUpdateStorm(t *testing.T) {
	a, b := NewEngine(0xa, t0), NewEngine(0xb, t0)
	u := ctnat.Entry{Orig: ctnat.Tuple{Src: client, Dst: server, Proto: unix.IPPROTO_UDP, SrcPort: 9, DstPort: 53},
		Reply: ctnat.Tuple{Src: server, Dst: client, Proto: unix.IPPROTO_UDP, SrcPort: 53, DstPort: 9}, Timeout: 30}
	a.Local(CTNew, u, t0)
	deliver(t, a.Flush(), b, t0)
	u.Status = ctnat.StatusSeenReply | ctnat.StatusAssured
	a.Local(CTUpdate, u, t0)
	deliver(t, a.Flush(), b, t0)
	stale := u
	stale.Status = 0
	for i := range 10 {
		b.Local(CTUpdate, stale, t0) // the echo, still without the reply bits
		frames := b.Flush()
		if len(frames) == 0 {
			break
		}
		if i == 9 {
			t.Fatal("updates still bouncing after 10 rounds")
		}
		deliver(t, frames, a, t0)
		deliver(t, a.Flush(), b, t0)
	}
	if b.Stats.SentUpdC != 0 {
		t.Errorf("b sent %d updates for a stale echo", b.Stats.SentUpdC)
	}
}

// TestSawTraffic: truncated readings of a 9 s UDP stream timeout polled
// every 2 s. A flow with a packet every second reads 7 or 8 at each poll;
// every such pair is traffic, which the old "rose by more than one
// second" test missed about half the time (TestQuietFlowKeptAlive).
func TestSawTraffic(t *testing.T) {
	const poll = 2030 * time.Millisecond
	for _, tc := range []struct {
		prev, now uint32
		elapsed   time.Duration
		skew      time.Duration
		want      bool
	}{
		{8, 7, poll, 0, true},  // refreshed 1.9 s ago
		{8, 8, poll, 0, true},  // refreshed just now
		{7, 8, poll, 0, true},  // rose
		{8, 6, poll, 0, false}, // [8,9) − 2.03 s = [5.97,6.97): no packet
		{8, 5, poll, 0, false},
		{9, 6, 3 * time.Second, 0, false},
		{9, 7, 3 * time.Second, 0, true},
		{8, 6, poll, time.Second, true}, // a 1 s dump errs towards a refresh
		{30, 20, 10 * time.Second, 0, false},
	} {
		if got := sawTraffic(tc.prev, tc.now, tc.elapsed, tc.skew); got != tc.want {
			t.Errorf("sawTraffic(%d, %d, %v, %v) = %v, want %v", tc.prev, tc.now, tc.elapsed, tc.skew, got, tc.want)
		}
	}
}

// TestEngineReconcileIgnoresDestroyedDuringDump: a dump read before a
// burst of DESTROY events (conntrack -F while it ran) must not bring the
// destroyed entries back as new states (they were sent to the peer as
// INS, stale there until the next reconciliation).
func TestEngineReconcileIgnoresDestroyedDuringDump(t *testing.T) {
	a := NewEngine(1, t0)
	e := conn(1, ctnat.TCPEstablished)
	a.Local(CTNew, e, t0)
	a.Flush()
	start := t0.Add(time.Second)
	dump := []ctnat.Entry{e} // read at start
	a.Local(CTDestroy, e, start.Add(time.Millisecond))
	a.Flush()
	a.Reconcile(dump, start, start.Add(time.Second))
	if n, _ := a.Len(); a.Stats.ReconcileNew != 0 || n != 0 {
		t.Fatalf("a destroyed entry came back: ReconcileNew %d, %d states", a.Stats.ReconcileNew, n)
	}
	if f := a.Flush(); len(f) != 0 {
		t.Errorf("sent %d frames after the reconciliation", len(f))
	}
	// The control: an entry destroyed before the dump started and
	// created again (a new NEW event lost) is taken from the dump.
	later := start.Add(10 * time.Second)
	a.Reconcile(dump, later, later)
	if a.Stats.ReconcileNew != 1 {
		t.Errorf("ReconcileNew %d after a later dump, want 1", a.Stats.ReconcileNew)
	}
}

// TestEngineReconcileInChunks: a reconciliation done one entry at a
// time ends as the whole one does, and only at its last step; an event
// taken between two steps (a destroy of an entry the dump still holds)
// is not undone by the rest of the dump.
func TestEngineReconcileInChunks(t *testing.T) {
	setup := func() (*Engine, []ctnat.Entry) {
		a := NewEngine(1, t0)
		gone, quiet, busy := conn(1, ctnat.TCPEstablished), conn(2, ctnat.TCPEstablished), conn(3, ctnat.TCPEstablished)
		for _, e := range []ctnat.Entry{gone, quiet, busy} {
			a.Local(CTNew, e, t0)
		}
		a.Flush()
		missed := conn(4, ctnat.TCPEstablished)
		return a, []ctnat.Entry{quiet, busy, missed}
	}
	t1 := t0.Add(10 * time.Second)
	whole, dump := setup()
	whole.Reconcile(dump, t1, t1)
	chunked, dump := setup()
	r := chunked.StartReconcile(dump, t1)
	for i := range dump {
		if done := r.Step(1, t1); done != (i == len(dump)-1) {
			t.Fatalf("step %d: done %v", i, done)
		}
	}
	if whole.Stats != chunked.Stats {
		t.Errorf("stats: whole %+v, in chunks %+v", whole.Stats, chunked.Stats)
	}
	if w, c := len(whole.Flush()), len(chunked.Flush()); w != c || w == 0 {
		t.Errorf("frames: whole %d, in chunks %d", w, c)
	}

	// busy is destroyed between the first and the second step.
	a, dump := setup()
	r = a.StartReconcile(dump, t1)
	r.Step(1, t1)
	a.Local(CTDestroy, dump[1], t1.Add(time.Millisecond))
	for !r.Step(1, t1.Add(2*time.Millisecond)) {
	}
	if n, _ := a.Len(); n != 2 { // quiet and missed
		t.Errorf("%d states after a destroy between steps, want 2", n)
	}
}

// TestEngineFlushPutsNewStatesFirst: updates queued before a new state
// ride in its (urgent) frame behind it, so that the receiver creates the
// new state before it writes the updates, and nothing waits for a timer.
func TestEngineFlushPutsNewStatesFirst(t *testing.T) {
	a := closingThenNew(t)
	frames := a.Flush()
	if len(frames) != 1 {
		t.Fatalf("%d frames, want 1", len(frames))
	}
	if got := sectionActions(t, frames); len(got) != 2 || got[0] != ActionIns || got[1] != ActionUpdC {
		t.Errorf("sections %v, want [INS UPD_C]", got)
	}
	if a.Pending() {
		t.Error("records left queued after the flush")
	}
}

// closingThenNew returns an engine with two records queued: the closing
// update of an announced connection (not urgent: it waits for the flush
// delay), then a new connection's insert (urgent).
func closingThenNew(t *testing.T) *Engine {
	t.Helper()
	a := NewEngine(1, t0)
	old := conn(1, ctnat.TCPEstablished)
	a.Local(CTNew, old, t0)
	a.Flush()
	old.TCP.State = ctnat.TCPFinWait
	a.Local(CTUpdate, old, t0)
	if a.Urgent() {
		t.Fatal("a closing update is urgent")
	}
	a.Local(CTNew, conn(2, ctnat.TCPSynSent), t0)
	if !a.Urgent() {
		t.Fatal("a new state is not urgent")
	}
	return a
}

// sectionActions returns the actions of the frames' sections, in order.
func sectionActions(t *testing.T, frames [][]byte) (got []Action) {
	t.Helper()
	for _, f := range frames {
		p, err := ParsePacket(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Sections {
			got = append(got, s.Action)
		}
	}
	return got
}
