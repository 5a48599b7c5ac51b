package pfsyncbench

import (
	"slices"
	"testing"
	"time"

	"github.com/ti-mo/conntrack"
)

// The replication lag is measured two ways from the same connections.
//
// From events: the times at which conntrack -E on fw1 and on fw2 read
// each connection's NEW event (lagSamples). Each of those is a process
// that must wake up and run, in the normal class, on the machine whose
// CPUs the daemons also use: the time the event waits for its reader
// on fw1 is subtracted from the lag, on fw2 added to it.
//
// In the kernel: each entry's creation time, which the kernel records
// when net.netfilter.nf_conntrack_timestamp is 1 (CTA_TIMESTAMP_START,
// nanoseconds of CLOCK_REALTIME, one clock for every namespace): on fw1
// when the first packet's entry is confirmed, on fw2 when the daemon's
// create reaches ctnetlink. Their difference is the time from the state's
// birth to its presence in the peer's table, with no reader's wake-up
// in it (kernelLags).

// kernelLags returns, sorted, the difference of the creation times on
// fw2 and fw1 of t's lag-phase connections (TCP to the server's port,
// matched by source port) still in both tables.
func kernelLags(b *testing.B, t *topo) []time.Duration {
	var start [2]map[uint16]time.Time
	for i, h := range t.fw {
		start[i] = map[uint16]time.Time{}
		err := h.Do(func() error {
			c, err := conntrack.Dial(nil)
			if err != nil {
				return err
			}
			defer c.Close()
			flows, err := c.Dump(nil)
			if err != nil {
				return err
			}
			for _, f := range flows {
				if f.TupleOrig.Proto.DestinationPort == serverPort && !f.Timestamp.Start.IsZero() {
					start[i][f.TupleOrig.Proto.SourcePort] = f.Timestamp.Start
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("dump fw%d: %v", i+1, err)
		}
	}
	var lags []time.Duration
	for port, t1 := range start[0] {
		if t2, ok := start[1][port]; ok {
			lags = append(lags, t2.Sub(t1))
		}
	}
	if len(lags) == 0 {
		b.Fatalf("no creation time of a connection in both tables (fw1 %d, fw2 %d): nf_conntrack_timestamp off?", len(start[0]), len(start[1]))
	}
	slices.Sort(lags)
	return lags
}
