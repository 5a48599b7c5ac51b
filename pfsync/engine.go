package pfsync

import (
	"errors"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

// Engine is the pure part of the worker: what to send for each conntrack
// event and what to write to conntrack for each received packet
// (reference §2.1–§2.4, §2.7). It owns the (creatorid, id) ↔ entry map
// and the send queue, and has no sockets, goroutines or clock: every
// method takes the time, and the worker executes the returned Ops and
// sends the packets Flush and BulkNext build. Methods must be called from
// one goroutine.
type Engine struct {
	CreatorID uint32 // pf_status.hostid: random per worker start
	MaxUpd    int    // TCP updates of one state collapsed before a send
	MTU       int    // largest pfsync frame (IP payload) to build
	Timeouts  Timeouts
	Stats     Stats

	byKey  map[Key]*tracked
	byRef  map[Ref]*tracked
	nosync map[Key]bool // entries seen unsyncable: update events may lack the label
	spare  [][]byte     // sent frames, for the packer to reuse (Recycle)
	pk     *packer      // kept between calls (packer)
	// destroyed remembers when DESTROY events came, so that a dump read
	// before them does not bring the entries back (Reconcile).
	destroyed map[Key]time.Time
	nextID    uint64
	queue     []*tracked
	dels      []Ref
	reqs      []Ref
	hold      bool
	urgent    bool
	bulk      *bulkSend
	bulkRef   []Ref
}

// pending is the record queued for a state (OpenBSD's sync_state).
type pending uint8

const (
	pendNone pending = iota
	pendIns
	pendUpdC
	pendUpd
)

// tracked is one synced conntrack entry.
type tracked struct {
	e         ctnat.Entry
	ref       Ref
	local     bool // created by this host's traffic
	announced bool // peers know it: INS sent, or it came from a peer
	q         pending
	ext       bool // send a LinuxExt with the next record
	updates   int
	v         view
	lastRx    time.Time // last update applied from a peer
	added     time.Time
	pollT     uint32 // remaining timeout at the last reconciliation
	polled    time.Time
}

// view is what an update carries: when it has not changed, a conntrack
// event (such as the echo of our own write) sends nothing.
type view struct {
	src, dst, class uint8
	mark            uint32
	labels          [16]byte
}

func viewOf(e ctnat.Entry) view {
	s, d, c := Peers(e)
	v := view{src: s.State, dst: d.State, class: c, mark: e.Mark}
	copy(v.labels[:], e.Labels)
	return v
}

// CTEvent is the kind of a conntrack event.
type CTEvent uint8

// Conntrack event kinds (NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY).
const (
	CTNew CTEvent = iota
	CTUpdate
	CTDestroy
)

// OpKind is what an Op asks of conntrack.
type OpKind uint8

// Kernel operations.
const (
	OpCreate OpKind = iota // create; on EEXIST update instead
	OpUpdate               // update; on ENOENT create instead
	OpDelete
)

// Op is one ctnetlink write the worker performs for the engine.
type Op struct {
	Kind  OpKind
	Entry ctnat.Entry
}

// initialStates sizes the engine's two state maps at start (about
// 0.5 MB). A Go map grows by rehashing into tables twice the size, in
// one go, on the insert that crosses its load limit: in bench/pfsync each
// crossing (at 112, 224, 448 and 896 states) delayed the event that
// caused it, and the lag of the connections behind it, by 1–4 ms, a
// third of the worst samples of a run. Sized for 4,096 states, the maps
// of a small firewall never grow; a larger table's grow only while it
// first fills beyond that.
const initialStates = 4096

// NewEngine returns an engine for creator id creator whose state ids
// start at now's Unix time << 32, as pf's do, so a restarted worker does
// not reuse ids.
func NewEngine(creator uint32, now time.Time) *Engine {
	return &Engine{
		CreatorID: creator,
		MaxUpd:    DefaultMaxUpd,
		MTU:       1500 - 20,
		Timeouts:  DefaultTimeouts,
		byKey:     make(map[Key]*tracked, initialStates),
		byRef:     make(map[Ref]*tracked, initialStates),
		nosync:    map[Key]bool{},
		nextID:    uint64(now.Unix()) << 32,
		Stats:     Stats{CreatorID: creator},
	}
}

// Len returns the number of tracked states and how many are local.
func (g *Engine) Len() (all, local int) {
	for _, t := range g.byKey {
		if t.local {
			local++
		}
	}
	return len(g.byKey), local
}

// Lookup returns the reference of the entry with key k.
func (g *Engine) Lookup(k Key) (Ref, bool) {
	if t := g.byKey[k]; t != nil {
		return t.ref, true
	}
	return Ref{}, false
}

// Urgent reports (and clears) whether something queued must go out now
// rather than at the next flush tick: a new state, maxupd reached, a
// reply to an update request, a state a peer updated less than 2 s ago.
func (g *Engine) Urgent() bool {
	u := g.urgent
	g.urgent = false
	return u
}

// Hold keeps local states from being announced (while the bulk update
// is pending, so that states the peer knows are adopted rather than
// announced twice); releasing queues INS for those still unannounced.
func (g *Engine) Hold(on bool) {
	g.hold = on
	if on {
		return
	}
	for _, t := range g.byKey {
		if t.local && !t.announced && t.q == pendNone {
			g.enqueue(t, pendIns)
		}
	}
}

func (g *Engine) add(e ctnat.Entry, ref Ref, local bool, now time.Time) *tracked {
	t := &tracked{e: e, ref: ref, local: local, added: now, v: viewOf(e)}
	g.byKey[KeyOf(e)] = t
	g.byRef[ref] = t
	return t
}

func (g *Engine) forget(t *tracked) {
	delete(g.byKey, KeyOf(t.e))
	if g.byRef[t.ref] == t {
		delete(g.byRef, t.ref)
	}
	if t.q != pendNone {
		g.forgetQueued(t)
	}
}

func (g *Engine) enqueue(t *tracked, p pending) {
	if t.q == pendNone {
		g.queue = append(g.queue, t)
	}
	t.q = p
}

// Local feeds one conntrack event (reference §2.1): a new syncable entry
// gets a (creatorid, id) and an INS; a change of what pfsync carries
// queues an UPD_C (TCP updates past maxupd, or of a state a peer touched
// within 2 s, make the flush urgent); a destroyed entry gets a DEL_C,
// unless its INS never left.
func (g *Engine) Local(kind CTEvent, e ctnat.Entry, now time.Time) {
	g.Stats.Events++
	g.local(kind, e, now)
}

func (g *Engine) local(kind CTEvent, e ctnat.Entry, now time.Time) {
	k := KeyOf(e)
	t := g.byKey[k]
	if kind == CTDestroy {
		if g.destroyed == nil {
			g.destroyed = map[Key]time.Time{}
		}
		g.destroyed[k] = now
		delete(g.nosync, k)
		if t == nil {
			return
		}
		g.forget(t)
		if t.announced {
			g.dels = append(g.dels, t.ref)
		}
		return
	}
	if t == nil {
		if g.nosync[k] {
			return
		}
		if Syncable(e) != nil {
			g.nosync[k] = true
			g.Stats.NoSync++
			return
		}
		t = g.add(e, Ref{CreatorID: g.CreatorID, ID: g.nextID}, true, now)
		g.nextID++
		t.ext = extOf(e, t.ref).Has != 0
		if !g.hold {
			// A new state goes out at once (with whatever else the
			// caller drained with it): until the peer has it, a
			// takeover loses the connection.
			g.enqueue(t, pendIns)
			g.urgent = true
		}
		return
	}
	mergeEvent(&t.e, e)
	g.changed(t, now)
}

// mergeEvent takes what an event carries over the known entry: update
// events lack what did not change (protoinfo, labels).
func mergeEvent(old *ctnat.Entry, e ctnat.Entry) {
	snat, dnat, tcp, labels := old.SNAT, old.DNAT, old.TCP, old.Labels
	*old = e
	old.SNAT, old.DNAT = snat, dnat
	if e.TCP == nil {
		old.TCP = tcp
	}
	if e.Labels == nil {
		old.Labels = labels
	}
}

// changed queues an update of t if what pfsync carries moved forward.
// Peer levels only grow over an entry's life (a reused tuple is a new
// entry), so a view below the one we know is stale news: the echo of a
// write of ours the kernel reports late, or did not take. Sending it
// would make the peer answer with its fresher view, and the two would
// bounce updates for ever.
func (g *Engine) changed(t *tracked, now time.Time) bool {
	nv := viewOf(t.e)
	ext := nv.mark != t.v.mark || nv.labels != t.v.labels
	ahead := nv.src > t.v.src || nv.dst > t.v.dst
	if !ext && !ahead {
		return false
	}
	if ext {
		t.ext = true
	}
	nv.src, nv.dst = max(nv.src, t.v.src), max(nv.dst, t.v.dst)
	opening := !bothEstablished(t.v)
	t.v = nv
	g.update(t, now)
	if opening && bothEstablished(nv) && t.e.Orig.Proto == unix.IPPROTO_TCP {
		// The handshake is complete: until the peer knows it, a
		// takeover drops the connection (the peer's entry is still in
		// SYN_SENT, where conntrack takes the client's next ACK for
		// invalid), so the update does not wait for the flush delay.
		g.urgent = true
	}
	return true
}

// bothEstablished reports whether both peers of a view reached ESTABLISHED.
func bothEstablished(v view) bool {
	return v.src >= TCPSEstablished && v.dst >= TCPSEstablished
}

// update queues the compressed update of t (pfsync_update_state).
func (g *Engine) update(t *tracked, now time.Time) {
	switch t.q {
	case pendIns, pendUpd:
		return // the queued full state is built at flush time
	case pendUpdC:
		if t.e.Orig.Proto == unix.IPPROTO_TCP {
			t.updates++
			if g.MaxUpd > 0 && t.updates >= g.MaxUpd {
				g.urgent = true
			}
		}
	default:
		if !t.announced {
			if !g.hold {
				g.enqueue(t, pendIns)
			}
			return
		}
		t.updates = 0
		g.enqueue(t, pendUpdC)
	}
	if !t.lastRx.IsZero() && now.Sub(t.lastRx) < 2*time.Second {
		g.urgent = true
	}
}

// Receive applies a parsed packet from a peer (reference §2.2) and
// returns the conntrack writes to perform, the bulk-requester events
// (BUS), and whether a peer asked for a bulk update.
func (g *Engine) Receive(p *Packet, now time.Time) (ops []Op, bus []BulkEvent, bulkReq bool) {
	return g.ReceiveAppend(nil, p, now)
}

// ReceiveAppend is Receive appending the operations to ops, so that a
// caller can reuse one slice for every frame of a batch.
func (g *Engine) ReceiveAppend(ops []Op, p *Packet, now time.Time) (_ []Op, bus []BulkEvent, bulkReq bool) {
	var exts map[Ref]*LinuxExt
	for _, s := range p.Sections {
		if s.Action == ActionLinuxExt {
			if exts == nil {
				exts = map[Ref]*LinuxExt{}
			}
			for _, r := range s.Records {
				x := r.(*LinuxExt)
				exts[Ref{x.CreatorID, x.ID}] = x
			}
		}
	}
	for _, s := range p.Sections {
		for _, r := range s.Records {
			switch s.Action {
			case ActionClr:
				ops = g.clear(r.(*Clr).CreatorID, ops)
			case ActionIns, ActionUpd:
				st := r.(*State)
				ref := Ref{st.CreatorID, st.ID}
				ops = g.importState(st, exts[ref], now, ops)
				delete(exts, ref)
			case ActionUpdC:
				ops = g.updateC(r.(*UpdC), now, ops)
			case ActionUpdReq:
				u := r.(*UpdReq)
				if u.IsBulk() {
					bulkReq = true
					continue
				}
				if t := g.byRef[Ref{u.CreatorID, u.ID}]; t != nil {
					g.enqueue(t, pendUpd)
					t.ext = true
					g.urgent = true
				}
			case ActionDel:
				ops = g.delete(Ref{r.(*State).CreatorID, r.(*State).ID}, ops)
			case ActionDelC:
				ops = g.delete(Ref{r.(*DelC).CreatorID, r.(*DelC).ID}, ops)
			case ActionBus:
				b := r.(*Bus)
				switch b.Status {
				case BusStart:
					bus = append(bus, BulkBusStart)
				case BusEnd:
					bus = append(bus, BulkBusEnd)
				}
			}
			if s.Action == ActionBus {
				break // OpenBSD reads only the first BUS record
			}
		}
	}
	for ref, x := range exts { // extension records of states not in this packet
		if t := g.byRef[ref]; t != nil && !t.local {
			applyExt(&t.e, x)
			t.v = viewOf(t.e)
			ops = append(ops, Op{Kind: OpUpdate, Entry: t.e})
		}
	}
	if len(g.reqs) > 0 {
		g.urgent = true
	}
	return ops, bus, bulkReq
}

func (g *Engine) clear(creator uint32, ops []Op) []Op {
	for _, t := range g.byKey {
		if t.ref.CreatorID == creator && !t.local {
			g.forget(t)
			g.Stats.Deleted++
			ops = append(ops, Op{Kind: OpDelete, Entry: t.e})
		}
	}
	return ops
}

func (g *Engine) delete(ref Ref, ops []Op) []Op {
	t := g.byRef[ref]
	if t == nil {
		g.Stats.BadState++
		return ops
	}
	g.forget(t)
	g.Stats.Deleted++
	return append(ops, Op{Kind: OpDelete, Entry: t.e})
}

// importState handles INS and UPD: an unknown state is created, a known
// one merged like UPD_C.
func (g *Engine) importState(s *State, x *LinuxExt, now time.Time, ops []Op) []Op {
	ref := Ref{s.CreatorID, s.ID}
	if s.CreatorID == g.CreatorID {
		return ops // our own state, echoed by a third node
	}
	e, err := Import(s, x)
	if err != nil {
		if errors.Is(err, ErrBadState) {
			g.Stats.BadVal++
		}
		return ops
	}
	t := g.byRef[ref]
	if t == nil {
		t = g.byKey[KeyOf(e)]
		if t != nil { // known under another identity
			if t.local && t.announced {
				g.Stats.Collisions++
				return ops
			}
			delete(g.byRef, t.ref)
			t.ref, t.local, t.announced = ref, false, true
			g.byRef[ref] = t
			if t.q == pendIns {
				g.forgetQueued(t)
			}
		}
	}
	if t != nil {
		return g.merge(t, s.Src, s.Dst, x, now, ops)
	}
	if Syncable(e) != nil {
		return ops
	}
	t = g.add(e, ref, false, now)
	t.announced, t.lastRx = true, now
	g.Stats.Inserted++
	return append(ops, Op{Kind: OpCreate, Entry: e})
}

// forgetQueued takes t out of the send queue.
func (g *Engine) forgetQueued(t *tracked) {
	t.q = pendNone
	g.queue = slices.DeleteFunc(g.queue, func(x *tracked) bool { return x == t })
}

func (g *Engine) updateC(u *UpdC, now time.Time, ops []Op) []Op {
	ref := Ref{u.CreatorID, u.ID}
	t := g.byRef[ref]
	if t == nil {
		if u.CreatorID != g.CreatorID && !slices.Contains(g.reqs, ref) {
			g.reqs = append(g.reqs, ref)
		}
		return ops
	}
	if u.Timeout >= TimeoutMax {
		g.Stats.BadVal++
		return ops
	}
	return g.merge(t, u.Src, u.Dst, nil, now, ops)
}

// merge applies a peer's view of t's peers (pfsync_upd_tcp): stale sides
// are counted and answered with our own update.
func (g *Engine) merge(t *tracked, src, dst StatePeer, x *LinuxExt, now time.Time, ops []Op) []Op {
	n, stale, err := Merge(t.e, src, dst)
	if err != nil {
		g.Stats.BadVal++
		return ops
	}
	if stale > 0 {
		g.Stats.Stale++
		g.update(t, now)
		g.urgent = true
	}
	if stale == 2 {
		return ops
	}
	applyExt(&n, x)
	n.Timeout = g.Timeouts.For(n)
	t.e, t.v, t.lastRx = n, viewOf(n), now
	g.Stats.Updated++
	return append(ops, Op{Kind: OpUpdate, Entry: n})
}

// sawTraffic tells from two readings of an entry's remaining time,
// elapsed apart, whether a packet refreshed it in between. ctnetlink
// reports whole seconds, truncated (CTA_TIMEOUT): a reading of prev
// means a remaining time in [prev, prev+1), so without traffic the next
// reading is below prev+1-elapsed. A reading at or above that bound is
// traffic. Readings are taken during dumps that last up to skew, which
// widens the bound in favour of a refresh: a spare keep-alive costs a
// record, a missed one lets the peer expire a live connection.
func sawTraffic(prev, now uint32, elapsed, skew time.Duration) bool {
	bound := float64(prev) + 1 - (elapsed + skew).Seconds()
	return float64(now) >= bound
}

// Reconcile compares a conntrack dump, started at start, with the map:
// entries the events missed are announced, changes are sent, states gone
// without an event are deleted (DEL_C for local ones; states from peers
// are forgotten, and a later update brings them back through UPD_REQ).
// An entry whose remaining time rose since the last reconciliation saw
// traffic here: it is refreshed with an UPD_C so that peers, which see
// no conntrack event for mere activity, do not expire it.
func (g *Engine) Reconcile(dump []ctnat.Entry, start, now time.Time) {
	g.StartReconcile(dump, start).Step(len(dump), now)
}

// Reconciliation is a Reconcile done a chunk at a time: the worker
// interleaves the chunks with conntrack events and frames, so that a
// table of thousands of entries does not hold them back for
// milliseconds (the replication lag's tail, docs/pfsync.md §9). Events
// taken between two chunks are newer than the dump, as those taken while
// the dump ran always were.
type Reconciliation struct {
	g     *Engine
	dump  []ctnat.Entry
	start time.Time
	seen  map[Key]bool
	next  int
}

// StartReconcile begins a reconciliation against dump, started at start.
func (g *Engine) StartReconcile(dump []ctnat.Entry, start time.Time) *Reconciliation {
	g.Stats.Reconciles++
	return &Reconciliation{g: g, dump: dump, start: start, seen: make(map[Key]bool, len(dump))}
}

// Step compares up to n more entries of the dump; after the last one it
// ends the reconciliation (states gone without an event) and reports
// true.
func (r *Reconciliation) Step(n int, now time.Time) bool {
	g, start := r.g, r.start
	end := min(len(r.dump), r.next+n)
	for _, e := range r.dump[r.next:end] {
		k := KeyOf(e)
		r.seen[k] = true
		t := g.byKey[k]
		if t == nil {
			if d, ok := g.destroyed[k]; ok && !d.Before(start) {
				// Destroyed while the dump ran: the dump read it
				// before; it is gone, not new.
				continue
			}
			if Syncable(e) == nil {
				g.Stats.ReconcileNew++
			}
			g.local(CTNew, e, now)
			if t = g.byKey[k]; t != nil {
				t.pollT, t.polled = e.Timeout, now
			}
			continue
		}
		prevT, prevPoll := t.pollT, t.polled
		t.pollT, t.polled = e.Timeout, now
		mergeEvent(&t.e, e)
		if g.changed(t, now) {
			g.Stats.ReconcileUpdate++
			continue
		}
		if prevPoll.IsZero() || !t.announced || t.lastRx.After(prevPoll) {
			continue
		}
		if sawTraffic(prevT, e.Timeout, now.Sub(prevPoll), now.Sub(start)) {
			g.Stats.Refreshes++
			g.update(t, now)
		}
	}
	r.next = end
	if end < len(r.dump) {
		return false
	}
	seen := r.seen
	for k := range g.nosync {
		if !seen[k] {
			delete(g.nosync, k)
		}
	}
	// Later dumps start after now: older destructions cannot be in them.
	for k, d := range g.destroyed {
		if d.Before(start) {
			delete(g.destroyed, k)
		}
	}
	for k, t := range g.byKey {
		if seen[k] || !t.added.Before(start) {
			continue
		}
		g.Stats.ReconcileGone++
		g.forget(t)
		if t.local && t.announced {
			g.dels = append(g.dels, t.ref)
		}
	}
	return true
}

// Pending reports whether Flush has something to send.
func (g *Engine) Pending() bool { return len(g.queue)+len(g.dels)+len(g.reqs) > 0 }

// Flush builds the queued records into frames of at most MTU bytes.
// New states come first: a receiver writes a frame's records in order,
// and a new connection's create should not wait behind the updates of
// other states that rode along with it (DefaultFlushDelay).
func (g *Engine) Flush() [][]byte {
	pk := g.packer()
	for _, t := range g.queue {
		if t.q == pendIns && !t.announced {
			g.pack(pk, t)
		}
	}
	for _, t := range g.queue {
		if t.q != pendNone {
			g.pack(pk, t)
		}
	}
	g.queue = g.queue[:0]
	for _, r := range g.dels {
		pk.add(ActionDelC, &DelC{ID: r.ID, CreatorID: r.CreatorID}, nil)
		g.Stats.SentDelC++
	}
	g.dels = g.dels[:0]
	for _, r := range g.reqs {
		pk.add(ActionUpdReq, &UpdReq{ID: r.ID, CreatorID: r.CreatorID}, nil)
		g.Stats.Requested++
	}
	g.reqs = g.reqs[:0]
	g.urgent = false // all of it is in these frames
	return pk.done()
}

// pack adds t's queued record to pk and dequeues it.
func (g *Engine) pack(pk *packer, t *tracked) {
	q := t.q
	t.q = pendNone
	var x *LinuxExt
	if t.ext {
		x = exportExt(t.e, t.ref)
		t.ext = false
	}
	switch q {
	case pendIns, pendUpd:
		s, ext, err := Export(t.e, t.ref)
		if err != nil {
			return
		}
		a := ActionIns
		if q == pendUpd || t.announced {
			a = ActionUpd
			g.Stats.SentUpd++
		} else {
			g.Stats.SentIns++
		}
		if x == nil {
			x = ext
		}
		pk.addState(a, &s, x)
		t.announced = true
	case pendUpdC:
		u := ExportUpdC(t.e, t.ref)
		pk.add(ActionUpdC, &u, x)
		g.Stats.SentUpdC++
	}
	if x != nil {
		g.Stats.SentExt++
	}
}

// packer returns a packer that builds its frames in recycled ones.
//
// The packer itself is kept from one call to the next: its sections'
// buffers have grown to a frame's size once, so that a new state's
// frame costs no allocation but the frame (when no sent one is spare)
// and the list of frames, which the caller keeps.
func (g *Engine) packer() *packer {
	pk := g.pk
	if pk == nil || pk.mtu != g.MTU {
		pk = newPacker(g.MTU)
		pk.spare = &g.spare
		g.pk = pk
	}
	pk.reset()
	return pk
}

// spareFrames bounds how many sent frames the engine keeps for reuse:
// two of the worker's bulk bursts.
const spareFrames = 1024

// Recycle hands frames that Flush, BulkNext or BulkRequest built back to
// the engine once they are sent, to build later ones in: the caller must
// not use them after.
func (g *Engine) Recycle(frames [][]byte) {
	for _, f := range frames {
		if len(g.spare) >= spareFrames {
			return
		}
		g.spare = append(g.spare, f)
	}
}

// BulkRequest returns the frame that asks peers for a bulk update.
func (g *Engine) BulkRequest() []byte {
	pk := g.packer()
	pk.add(ActionUpdReq, &UpdReq{}, nil)
	return pk.done()[0]
}

// bulkSend is a running bulk transfer (pfsync_bulk_snd_*).
type bulkSend struct {
	refs    []Ref
	pos     int
	started bool
}

// StartBulk answers a bulk request: it snapshots the states known now
// (later ones are synced normally) unless a transfer is running, which
// is not restarted (reference §2.4).
func (g *Engine) StartBulk() {
	if g.bulk != nil {
		return
	}
	b := &bulkSend{refs: make([]Ref, 0, len(g.byRef))}
	for r, t := range g.byRef {
		if Syncable(t.e) == nil {
			b.refs = append(b.refs, r)
		}
	}
	g.bulk = b
	g.Stats.BulkSent++
}

// BulkRunning reports whether a bulk transfer is in progress.
func (g *Engine) BulkRunning() bool { return g.bulk != nil }

// BulkNext builds at most n frames of the running transfer: BUS START
// first, full states as UPD, BUS END last in a frame of its own section.
func (g *Engine) BulkNext(n int) [][]byte {
	b := g.bulk
	if b == nil {
		return nil
	}
	pk := g.packer()
	if !b.started {
		pk.add(ActionBus, &Bus{CreatorID: g.CreatorID, Status: BusStart}, nil)
	}
	for b.pos < len(b.refs) && len(pk.pkts) < n {
		t := g.byRef[b.refs[b.pos]]
		b.pos++
		if t == nil {
			continue
		}
		s, x, err := Export(t.e, t.ref)
		if err != nil {
			continue
		}
		pk.addState(ActionUpd, &s, x)
		g.Stats.BulkStates++
	}
	if b.pos >= len(b.refs) && len(pk.pkts) < n {
		pk.flushIf(ActionBus)
		pk.add(ActionBus, &Bus{CreatorID: g.CreatorID, Status: BusEnd}, nil)
		g.bulk = nil
	}
	b.started = true
	return pk.done()
}
