package pfsync

import "time"

// The bulk update requester (if_pfsync.c pfsync_bulk_req_evt, reference
// §2.4) and its CARP demotion (§2.5), as a pure state machine: events
// in, actions out, no clock of its own. The worker arms one timer with
// the duration of the last ArmTimer action and feeds BulkTimeout when it
// fires.

// BulkState is the requester's state.
type BulkState uint8

// Requester states.
const (
	BulkNone  BulkState = iota // interface down
	BulkStart                  // up, waiting for the syncdev link
	BulkSent                   // UPD_REQ(0,0) sent, waiting for BUS START
	BulkBulk                   // BUS START received, waiting for BUS END
	BulkDone                   // finished, whichever way
)

var bulkStateNames = [...]string{"none", "start", "sent", "bulk", "done"}

func (s BulkState) String() string {
	if int(s) < len(bulkStateNames) {
		return bulkStateNames[s]
	}
	return "?"
}

// BulkEvent is an input of the requester.
type BulkEvent uint8

// Requester events.
const (
	BulkUp       BulkEvent = iota // pfsync0 configured up
	BulkDown                      // pfsync0 down or destroyed
	BulkLinkUp                    // syncdev has carrier
	BulkLinkDown                  // syncdev lost carrier
	BulkTimeout                   // the armed timer fired
	BulkBusStart                  // BUS with status START received
	BulkBusEnd                    // BUS with status END received
)

// Timers and limits of the requester (if_pfsync.c).
const (
	BulkLinkWait  = 30 * time.Second // PFSYNC_BULK_REQ: waiting for the link
	BulkRetryWait = 2 * time.Second  // between UPD_REQ(0,0) tries
	BulkMaxTries  = 12               // PFSYNC_MAX_BULKTRIES

	DemoteBulk = 32 // "pfsync start" … "pfsync done"
	DemoteLink = 1  // "pfsync link" while the syncdev link is down
)

// BulkActionKind says what a BulkAction asks of the worker.
type BulkActionKind uint8

// Requester actions.
const (
	ActSendBulkReq BulkActionKind = iota // send UPD_REQ(0,0)
	ActArmTimer                          // (re)arm the timer for D
	ActStopTimer                         // no timer
	ActLog                               // log Reason
)

// BulkAction is one action of the requester.
type BulkAction struct {
	Kind   BulkActionKind
	D      time.Duration
	Reason string
}

// Bulk is the requester. The zero value is down (BulkNone) with the link
// assumed down. BulkWait is the BULK-state timer: 4 × the expected
// duration of a transfer (BulkWaitFor).
type Bulk struct {
	State    BulkState
	Link     bool
	Tries    int
	BulkWait time.Duration
	up       bool
}

// BulkWaitFor is OpenBSD's BULK timer for a state limit and pfsync MTU:
// 4 × limit / ((mtu − 40) / 264) / 50 seconds, at least 4 s. The
// defaults (100000 states, MTU 1500) give 1600 s.
func BulkWaitFor(limit, mtu int) time.Duration {
	per := max((mtu-40)/StateLen, 1)
	secs := max(limit/per/50, 1)
	return 4 * time.Duration(secs) * time.Second
}

// Demotion is pfsync0's contribution to its groups' demotion counters:
// 32 while a bulk update is pending and 1 while the interface is up with
// the syncdev link down (reference §2.5).
func (b *Bulk) Demotion() int {
	n := 0
	if b.State == BulkStart || b.State == BulkSent || b.State == BulkBulk {
		n += DemoteBulk
	}
	if b.up && !b.Link {
		n += DemoteLink
	}
	return n
}

// Pending reports whether the bulk update is still awaited.
func (b *Bulk) Pending() bool { return b.Demotion() >= DemoteBulk }

// Step feeds one event and returns the actions, in order.
func (b *Bulk) Step(ev BulkEvent) []BulkAction {
	switch ev {
	case BulkLinkUp, BulkLinkDown:
		b.Link = ev == BulkLinkUp
	case BulkDown:
		b.up = false
		if b.State == BulkNone {
			return nil
		}
		b.State = BulkNone
		return []BulkAction{{Kind: ActStopTimer}, {Kind: ActLog, Reason: "pfsync down"}}
	}
	switch b.State {
	case BulkNone:
		if ev != BulkUp {
			return nil
		}
		b.up = true
		b.State, b.Tries = BulkStart, 0
		acts := []BulkAction{{Kind: ActLog, Reason: "pfsync start"}}
		if b.Link {
			return append(acts, b.send()...)
		}
		return append(acts, BulkAction{Kind: ActArmTimer, D: BulkLinkWait})
	case BulkStart:
		switch ev {
		case BulkLinkUp:
			return b.send()
		case BulkTimeout:
			return b.done("timeout waiting for link")
		case BulkBusStart:
			return b.bulk()
		}
	case BulkSent:
		switch ev {
		case BulkTimeout:
			if b.Tries < BulkMaxTries {
				return b.send()
			}
			return b.done("timeout waiting for bulk transfer start")
		case BulkBusStart:
			return b.bulk()
		case BulkBusEnd:
			// OpenBSD ignores this and keeps retrying while a peer with
			// an empty table answers only BUS END; we take it as done.
			return b.done("pfsync done (empty table)")
		}
	case BulkBulk:
		switch ev {
		case BulkBusEnd:
			return b.done("pfsync done")
		case BulkTimeout:
			return append([]BulkAction{{Kind: ActSendBulkReq}}, b.done("timeout waiting for bulk transfer end")...)
		}
	}
	return nil
}

func (b *Bulk) send() []BulkAction {
	b.State = BulkSent
	b.Tries++
	return []BulkAction{{Kind: ActSendBulkReq}, {Kind: ActArmTimer, D: BulkRetryWait}}
}

func (b *Bulk) bulk() []BulkAction {
	b.State = BulkBulk
	d := b.BulkWait
	if d == 0 {
		d = BulkWaitFor(100000, 1500)
	}
	return []BulkAction{{Kind: ActArmTimer, D: d}}
}

func (b *Bulk) done(reason string) []BulkAction {
	b.State = BulkDone
	return []BulkAction{{Kind: ActStopTimer}, {Kind: ActLog, Reason: reason}}
}
