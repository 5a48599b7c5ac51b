package pfsyncbench

import (
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"carpfw/internal/lab"
)

// BenchmarkLagBothAtOnce measures the replication lag of both
// implementations, and their CPU per 1,000 connections, at the same
// moments: two copies of the topology, one
// running carpfw's pfsync and one conntrackd, and every 20 ms one new
// connection through each (in alternating order). BenchmarkPfsyncVsConntrackd
// measures them one after the other, so a stall of the shared machine (a
// second of 4–10 ms lags) falls into one implementation's sample and
// decides its p99; here it falls into both. Each b.N is a round of
// lagConns connection pairs.
func BenchmarkLagBothAtOnce(b *testing.B) { lagPairs(b, false) }

// BenchmarkLagInterleaved is BenchmarkLagBothAtOnce with the two
// topologies' connections 10 ms apart instead of at one moment. Each
// still gets one every 20 ms, so a stall of the machine longer than a
// few ticks still falls into both samples, but the two daemons never
// work at the same moment. In BothAtOnce they do, and then compete for
// the two vCPUs (all four daemons in the real-time class) and for the
// nfnetlink mutex that every namespace's ctnetlink create takes
// (docs/pfsync.md §9), so each one's lag depends on the other's work.
func BenchmarkLagInterleaved(b *testing.B) { lagPairs(b, true) }

// lagPairs runs the rounds of BenchmarkLagBothAtOnce (staggered false)
// or BenchmarkLagInterleaved (true).
func lagPairs(b *testing.B, staggered bool) {
	if _, err := exec.LookPath("conntrackd"); err != nil {
		b.Fatalf("conntrackd: %v (apt-get install conntrackd)", err)
	}
	tp, tc := newTopo(b), newTopo(b)
	ims := [2]impl{&pfsyncImpl{t: tp, b: b}, &conntrackdImpl{t: tc, b: b}}
	type round struct {
		lags, klags [2][]time.Duration // from events, from the kernel (kernlag_test.go)
		cpu         [2]float64         // ms of CPU (both firewalls) per 1,000 connections
	}
	var rounds []round
	for range b.N {
		for i, im := range ims {
			for _, h := range []*topo{tp, tc}[i].fw {
				h.Run("conntrack", "-F")
			}
			im.start(0)
			im.start(1)
		}
		for end := time.Now().Add(30 * time.Second); !(ims[0].ready(0) && ims[0].ready(1) && ims[1].ready(0) && ims[1].ready(1)); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(end) {
				b.Fatal("not ready")
			}
		}
		time.Sleep(settle)
		var c0 [2]int64
		for i, im := range ims {
			c0[i] = cpuOf(im)
		}
		var r round
		r.lags = lagTogether(b, staggered, tp, tc)
		for i, im := range ims {
			r.cpu[i] = float64(cpuOf(im)-c0[i]) / nanosPerMilli / (lagConns / 1000.0)
		}
		r.klags = [2][]time.Duration{kernelLags(b, tp), kernelLags(b, tc)}
		rounds = append(rounds, r)
		reportTogether(fmt.Sprintf("round %d", len(rounds)), staggered, r.lags, r.klags, r.cpu)
		for _, im := range ims {
			im.stop(0)
			im.stop(1)
		}
	}
	if len(rounds) > 1 {
		// Per figure, the median over the rounds.
		med := func(f func(round) float64) float64 {
			v := make([]float64, len(rounds))
			for j, r := range rounds {
				v[j] = f(r)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		q := func(events bool, i int, p float64) time.Duration {
			return time.Duration(med(func(r round) float64 {
				if events {
					return float64(quantile(r.lags[i], p))
				}
				return float64(quantile(r.klags[i], p))
			}))
		}
		cpu := func(i int) float64 { return med(func(r round) float64 { return r.cpu[i] }) }
		fmt.Printf("median of %d rounds:\n", len(rounds))
		for _, events := range []bool{true, false} {
			label := "lag from events"
			if !events {
				label = "lag in the kernel"
			}
			fmt.Printf("  %-17s pfsync med %v p99 %v; conntrackd med %v p99 %v; ratios med %.2f, p99 %.2f\n", label,
				q(events, 0, .5), q(events, 0, .99), q(events, 1, .5), q(events, 1, .99),
				float64(q(events, 0, .5))/float64(q(events, 1, .5)), float64(q(events, 0, .99))/float64(q(events, 1, .99)))
		}
		fmt.Printf("  CPU ms/1k conns   pfsync %.1f; conntrackd %.1f; ratio %.2f\n", cpu(0), cpu(1), cpu(0)/cpu(1))
		// The ratios above compare medians taken over the rounds apart;
		// a round's two samples share the machine's state, so its own
		// ratio is the paired comparison.
		paired := func(f func(round) float64) string {
			v := make([]float64, len(rounds))
			above := 0
			for j, r := range rounds {
				v[j] = f(r)
				if v[j] > 1 {
					above++
				}
			}
			return fmt.Sprintf("%.2f (above 1 in %d of %d)", median(v), above, len(v))
		}
		ratio := func(events bool, p float64) func(round) float64 {
			return func(r round) float64 {
				if events {
					return quantileRatio(r.lags, p)
				}
				return quantileRatio(r.klags, p)
			}
		}
		fmt.Printf("median of the rounds' own ratios pfsync/conntrackd:\n"+
			"  lag from events   median %s, p99 %s\n"+
			"  lag in the kernel median %s, p99 %s\n"+
			"  CPU/connection    %s\n",
			paired(ratio(true, .5)), paired(ratio(true, .99)), paired(ratio(false, .5)), paired(ratio(false, .99)),
			paired(func(r round) float64 { return r.cpu[0] / r.cpu[1] }))
	}
}

// median is the median of v (the mean of the middle two for an even
// count); it sorts v.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// cpuOf is the CPU time the sync daemons of im (both firewalls) have used.
func cpuOf(im impl) (n int64) {
	for _, p := range im.pids() {
		n += cpuNanos(p)
	}
	return n
}

func quantile(l []time.Duration, q float64) time.Duration {
	return l[min(len(l)-1, int(float64(len(l))*q))].Round(time.Microsecond)
}

// quantileRatio is the q-quantile of l[0] over that of l[1] (pfsync's
// over conntrackd's).
func quantileRatio(l [2][]time.Duration, q float64) float64 {
	return float64(quantile(l[0], q)) / float64(quantile(l[1], q))
}

func reportTogether(label string, staggered bool, lags, klags [2][]time.Duration, cpu [2]float64) {
	line := func(l []time.Duration) string {
		return fmt.Sprintf("n %4d med %9v p90 %9v p99 %9v max %9v", len(l), quantile(l, .5), quantile(l, .9), quantile(l, .99), l[len(l)-1].Round(time.Microsecond))
	}
	how := "both at once"
	if staggered {
		how = "interleaved, 10 ms apart"
	}
	fmt.Printf("%s, %s:\n"+
		"  carpfw pfsync               events %s\n                              kernel %s CPU %6.1f ms/1k conns\n"+
		"  conntrackd ftfw (no cache)  events %s\n                              kernel %s CPU %6.1f ms/1k conns\n"+
		"  ratios pfsync/conntrackd: lag from events median %.2f, p99 %.2f; in the kernel median %.2f, p99 %.2f; CPU/connection %.2f\n", label, how,
		line(lags[0]), line(klags[0]), cpu[0], line(lags[1]), line(klags[1]), cpu[1],
		quantileRatio(lags, .5), quantileRatio(lags, .99), quantileRatio(klags, .5), quantileRatio(klags, .99), cpu[0]/cpu[1])
}

// lagTogether opens lagConns pairs of connections, one through each
// topology per tick of 1/lagRate (staggered: the second half a tick
// after the first), and returns each topology's sorted lags (fw1's NEW
// to fw2's NEW, from conntrack -E on both firewalls).
func lagTogether(b *testing.B, staggered bool, ts ...*topo) (out [2][]time.Duration) {
	var ev [2][2]*lab.Proc
	for j, t := range ts {
		defer serve(b, t)()
		ev[j] = watchNew(t)
	}
	time.Sleep(500 * time.Millisecond)
	period, n := time.Second/lagRate, lagConns
	if staggered {
		period, n = period/2, 2*n
	}
	tick := time.NewTicker(period)
	for k := range n {
		<-tick.C
		if staggered {
			if c, err := ts[k%2].client.Dial("tcp", serverAddr); err == nil {
				c.Close()
			}
			continue
		}
		var wg sync.WaitGroup
		for j := range ts {
			t := ts[(j+k)%2]
			wg.Go(func() {
				if c, err := t.client.Dial("tcp", serverAddr); err == nil {
					c.Close()
				}
			})
		}
		wg.Wait()
	}
	tick.Stop()
	time.Sleep(2 * time.Second)
	for j := range ts {
		var at [2]map[string]float64
		for i, p := range ev[j] {
			p.Term()
			p.Wait(5 * time.Second)
			at[i] = parseEvents(p.Output())
		}
		for k, t1 := range at[0] {
			if t2, ok := at[1][k]; ok {
				out[j] = append(out[j], time.Duration((t2-t1)*float64(time.Second)))
			}
		}
		if len(out[j]) == 0 {
			b.Fatalf("topology %d: no connection seen on both firewalls", j)
		}
		slices.Sort(out[j])
	}
	return out
}
