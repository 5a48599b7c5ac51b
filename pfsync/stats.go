package pfsync

import (
	"fmt"
	"io"
)

// Stats are the worker's counters, after OpenBSD's struct pfsyncstats
// (netstat -s -p pfsync) plus what the conntrack side adds.
type Stats struct {
	// Receive side (pfsyncs_*).
	IPackets   uint64 `json:"ipackets"`   // packets received
	BadIf      uint64 `json:"badif"`      // not on syncdev
	BadTTL     uint64 `json:"badttl"`     // TTL not 255
	HdrOps     uint64 `json:"hdrops"`     // shorter than the header
	BadVer     uint64 `json:"badver"`     // bad version
	BadAct     uint64 `json:"badact"`     // bad action
	BadLen     uint64 `json:"badlen"`     // bad length
	BadVal     uint64 `json:"badval"`     // states with bad values
	Stale      uint64 `json:"stale"`      // stale updates (ours was fresher)
	BadState   uint64 `json:"badstate"`   // failed state lookups or inserts
	InDrops    uint64 `json:"indrops"`    // frames dropped: the worker was behind
	OPackets   uint64 `json:"opackets"`   // packets sent
	OErrors    uint64 `json:"oerrors"`    // send errors
	Inserted   uint64 `json:"inserted"`   // states created from peers
	Updated    uint64 `json:"updated"`    // states updated from peers
	Deleted    uint64 `json:"deleted"`    // states deleted by peers
	Requested  uint64 `json:"requested"`  // UPD_REQ sent for unknown states
	Collisions uint64 `json:"collisions"` // a peer announced a state we announced first

	// Send side, per record.
	SentIns  uint64 `json:"sent_ins"`
	SentUpd  uint64 `json:"sent_upd"`
	SentUpdC uint64 `json:"sent_upd_c"`
	SentDelC uint64 `json:"sent_del_c"`
	SentExt  uint64 `json:"sent_ext"`

	// Bulk updates.
	BulkSent     uint64 `json:"bulk_sent"`     // bulk transfers sent to peers
	BulkStates   uint64 `json:"bulk_states"`   // states sent in them
	BulkReceived uint64 `json:"bulk_received"` // bulk transfers received complete

	// Conntrack side.
	Events          uint64 `json:"ct_events"`           // conntrack events read
	EventErrors     uint64 `json:"ct_event_errors"`     // event socket errors (overruns)
	Reconciles      uint64 `json:"ct_reconciles"`       // reconciliation dumps
	ReconcileNew    uint64 `json:"ct_reconcile_new"`    // states found by a dump, missed by events
	ReconcileGone   uint64 `json:"ct_reconcile_gone"`   // states gone, missed by events
	ReconcileUpdate uint64 `json:"ct_reconcile_update"` // changes missed by events
	Refreshes       uint64 `json:"ct_refreshes"`        // keep-alive updates of quiet states
	NoSync          uint64 `json:"ct_nosync"`           // entries skipped (no-sync, protocol)
	KernelErrors    uint64 `json:"ct_errors"`           // failed ctnetlink writes

	States      int    `json:"states"`       // states in the table
	LocalStates int    `json:"local_states"` // of which created here
	Bulk        string `json:"bulk"`         // requester state
	Demote      int    `json:"demote"`       // contribution to the carp group
	CreatorID   uint32 `json:"creatorid"`
}

// WriteNetstat prints s as netstat -s -p pfsync does, with this
// implementation's extra lines after OpenBSD's.
func WriteNetstat(w io.Writer, s Stats) {
	p := func(n uint64, format string) { fmt.Fprintf(w, format+"\n", n) }
	fmt.Fprintln(w, "pfsync:")
	p(s.IPackets, "\t%d packets received (IPv4)")
	p(s.BadIf, "\t\t%d packets discarded for bad interface")
	p(s.BadTTL, "\t\t%d packets discarded for bad ttl")
	p(s.HdrOps, "\t\t%d packets shorter than header")
	p(s.BadVer, "\t\t%d packets discarded for bad version")
	p(s.BadAct, "\t\t%d packets discarded for bad action")
	p(s.BadLen, "\t\t%d packets discarded for short packet")
	p(s.BadVal, "\t\t%d states discarded for bad values")
	p(s.Stale, "\t\t%d stale states")
	p(s.BadState, "\t\t%d failed state lookup/inserts")
	p(s.InDrops, "\t\t%d packets dropped: input queue full")
	p(s.OPackets, "\t%d packets sent (IPv4)")
	p(s.OErrors, "\t\t%d send error")
	fmt.Fprintf(w, "\tstates: %d (%d local), creatorid %08x, bulk %s, demote %d\n", s.States, s.LocalStates, s.CreatorID, s.Bulk, s.Demote)
	p(s.Inserted, "\t%d states inserted from peers")
	p(s.Updated, "\t%d states updated from peers")
	p(s.Deleted, "\t%d states deleted by peers")
	p(s.Requested, "\t%d update requests sent")
	p(s.Collisions, "\t%d state id collisions")
	fmt.Fprintf(w, "\trecords sent: %d ins, %d upd, %d upd_c, %d del_c, %d ext\n", s.SentIns, s.SentUpd, s.SentUpdC, s.SentDelC, s.SentExt)
	fmt.Fprintf(w, "\tbulk updates: %d sent (%d states), %d received\n", s.BulkSent, s.BulkStates, s.BulkReceived)
	p(s.Events, "\t%d conntrack events")
	p(s.EventErrors, "\t\t%d event socket overruns")
	p(s.NoSync, "\t\t%d entries not synced (no-sync, protocol)")
	fmt.Fprintf(w, "\t%d reconciliations: %d missed new, %d missed gone, %d missed updates\n", s.Reconciles, s.ReconcileNew, s.ReconcileGone, s.ReconcileUpdate)
	p(s.Refreshes, "\t%d keep-alive updates")
	p(s.KernelErrors, "\t%d conntrack write errors")
}
