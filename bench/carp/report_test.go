package carpbench

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// report prints one line per case and checks the bound: the
// median outage within 2 % (plus 20 ms of probe resolution) of the
// master-down time, and no flap.
func (r caseResult) report(b *testing.B) {
	var outages, takeovers []time.Duration
	flaps := 0
	for _, t := range r.trials {
		outages = append(outages, t.outage)
		takeovers = append(takeovers, t.takeover)
		flaps += t.flaps
	}
	med := median(outages)
	ratio := float64(med) / float64(r.masterDown)
	bound := time.Duration(0.02*float64(r.masterDown)) + 20*time.Millisecond
	ok := med-r.masterDown <= bound && r.masterDown-med <= bound && flaps == 0
	line := fmt.Sprintf("carp failover %-16s trials=%d master_down_ms=%.1f outage_ms median=%.1f min=%.1f max=%.1f ratio=%.3f takeover_ms median=%.2f flaps=%d within_bound=%v",
		r.c.name, len(r.trials), ms(r.masterDown), ms(med), ms(slices.Min(outages)), ms(slices.Max(outages)), ratio, ms(median(takeovers)), flaps, ok)
	fmt.Println(line)
	b.ReportMetric(ms(med), "outage-ms")
	b.ReportMetric(ms(r.masterDown), "masterdown-ms")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(ms(median(takeovers)), "takeover-ms")
	b.ReportMetric(float64(flaps), "flaps")
}
