// Package pfsyncbench measures carpfw's pfsync against conntrackd (FTFW,
// states injected into the peer's kernel table) on the kernel tests'
// topology, in the same run:
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./bench/pfsync
//
// Figures: replication lag (median, p99) of real TCP connections opened
// at 50/s, a burst of 20,000 states (states received per second, lost),
// a 100,000-state bulk update (pfsync) or startup resync (conntrackd),
// and the sync daemons' CPU per 1,000 states. Needs root.
package pfsyncbench

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
	"carpfw/internal/lab"
)

var pfsyncctl string

func TestMain(m *testing.M) {
	var tmp string
	if os.Geteuid() == 0 {
		var err error
		tmp, err = os.MkdirTemp("", "pfsyncbench")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pfsyncctl = filepath.Join(tmp, "pfsyncctl")
		if out, err := exec.Command("go", "build", "-o", pfsyncctl, "carpfw/cmd/pfsyncctl").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build pfsyncctl: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// Sizes of the runs.
const (
	lagConns   = 1000 // at lagRate per second: 20 s, so that p99 is the 10th worst, not the 3rd
	lagRate    = 50
	burstN     = 20000
	bulkN      = 100000
	serverAddr = "10.20.0.100:5001"
	serverPort = 5001
	settle     = 5 * time.Second // before the lag phase
)

type topo struct {
	l              *lab.Lab
	client, server *lab.Host
	fw             [2]*lab.Host
	dir            [2]string
}

func newTopo(b *testing.B) *topo {
	l := lab.New(b)
	lan, wan := l.Switch("lan"), l.Switch("wan")
	t := &topo{l: l, client: l.Host("client"), server: l.Host("server")}
	lan.Attach(t.client, "eth0")
	t.client.AddAddr("eth0", "10.10.0.100/24")
	t.client.AddRoute("default", "10.10.0.2")
	wan.Attach(t.server, "eth0")
	t.server.AddAddr("eth0", "10.20.0.100/24")
	t.server.AddRoute("default", "10.20.0.2")
	t.fw[0], t.fw[1] = l.Host("fw1"), l.Host("fw2")
	l.Link(t.fw[0], "sync0", t.fw[1], "sync0")
	for i, h := range t.fw {
		lan.Attach(h, "eth0")
		wan.Attach(h, "eth1")
		h.AddAddr("eth0", fmt.Sprintf("10.10.0.%d/24", i+2))
		h.AddAddr("eth1", fmt.Sprintf("10.20.0.%d/24", i+2))
		h.AddAddr("sync0", fmt.Sprintf("10.30.0.%d/30", i+1))
		h.Sysctl("net.ipv4.ip_forward", "1")
		rules := `table inet fw {
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "eth0" tcp flags & (syn|ack) == syn ct state new accept
	}
}`
		if out, err := h.Run("sh", "-c", "nft -f - <<'EOF'\n"+rules+"\nEOF"); err != nil {
			b.Fatalf("nft: %v\n%s", err, out)
		}
		h.Sysctl("net.netfilter.nf_conntrack_tcp_loose", "0")
		// Creation times in the entries: the lag measured in the
		// kernel (kernlag_test.go).
		h.Sysctl("net.netfilter.nf_conntrack_timestamp", "1")
		t.dir[i] = b.TempDir()
	}
	return t
}

// count returns the number of conntrack entries in h.
func count(h *lab.Host) int {
	n, _ := strconv.Atoi(strings.TrimSpace(h.ReadSysctl("net.netfilter.nf_conntrack_count")))
	return n
}

// countFrom counts the entries of h's table from the source prefix src
// (conntrack -L reports the number on stderr).
func countFrom(h *lab.Host, src string) int {
	out, _ := h.Run("conntrack", "-L", "-s", src)
	var n int
	for _, l := range strings.Split(out, "\n") {
		// "conntrack v1.4.7 (conntrack-tools): N flow entries have been shown."
		if i := strings.LastIndex(l, ": "); i >= 0 && strings.HasSuffix(l, " flow entries have been shown.") {
			fmt.Sscanf(l[i+2:], "%d", &n)
		}
	}
	return n
}

// inject creates n established TCP entries in h's table (10.11.x.y:sport →
// the server:80) as fast as ctnetlink takes them, and returns how long it took.
func inject(b *testing.B, h *lab.Host, n, base int) time.Duration {
	start := time.Now()
	err := h.Do(func() error {
		ct, err := ctnat.Dial()
		if err != nil {
			return err
		}
		defer ct.Close()
		for i := range n {
			k := base + i
			src := netip.AddrFrom4([4]byte{10, 11, byte(k >> 16), byte(k >> 8)})
			e := ctnat.Entry{
				Orig:    ctnat.Tuple{Src: src, Dst: netip.MustParseAddr("10.20.0.100"), Proto: unix.IPPROTO_TCP, SrcPort: uint16(1024 + k&0xff), DstPort: 80},
				Status:  ctnat.StatusSeenReply | ctnat.StatusAssured,
				Timeout: 7200,
				TCP:     &ctnat.TCP{State: ctnat.TCPEstablished},
			}
			if err := ct.Create(e); err != nil {
				return fmt.Errorf("create %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// waitCount waits until h holds at least want entries, or until the count
// stopped growing for 10 s, and returns the count and when it last grew.
func waitCount(h *lab.Host, want int, limit time.Duration) (int, time.Time) {
	last, lastAt := count(h), time.Now()
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		n := count(h)
		if n != last {
			last, lastAt = n, time.Now()
		}
		if n >= want || time.Since(lastAt) > 10*time.Second {
			break
		}
	}
	return last, lastAt
}

// cpuNanos returns the CPU time pid's threads have used, in
// nanoseconds: the sum of the first field of /proc/PID/task/*/schedstat
// (exact, where utime+stime in /proc/PID/stat count 10 ms ticks, too
// coarse for a few hundred connections).
func cpuNanos(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += n
		}
	}
	return sum
}

const nanosPerMilli = 1e6

// impl is a sync implementation under test.
type impl interface {
	name() string
	start(i int)
	stop(i int)
	pids() []int
	ready(i int) bool // bulk update / resync done
	// settled waits until fw1's daemon has taken in n states.
	settled(n int)
}

// result holds one implementation's figures.
type result struct {
	name                     string
	lagMed, lagP99           time.Duration // from conntrack -E on both firewalls
	kLagMed, kLagP99         time.Duration // from the entries' creation times (kernlag_test.go)
	kLagN                    int
	lagN, lagMissing         int
	burstRate                float64
	burstLost                int
	burstInject              time.Duration
	bulkSeconds              float64
	bulkGot                  int
	cpuPer1k                 float64 // ms of CPU (both firewalls) per 1,000 states of the burst
	cpuPer1kFW1, cpuPer1kFW2 float64
	cpuPer1kConns            float64 // ms of CPU (both) per 1,000 real TCP connections at 50/s
}

func BenchmarkPfsyncVsConntrackd(b *testing.B) {
	if _, err := exec.LookPath("conntrackd"); err != nil {
		b.Fatalf("conntrackd: %v (apt-get install conntrackd)", err)
	}
	var runs [][]result
	for range b.N {
		t := newTopo(b)
		var res []result
		// Every other run measures conntrackd first, so that neither
		// always gets the machine as the other left it.
		ims := []impl{&pfsyncImpl{t: t, b: b}, &conntrackdImpl{t: t, b: b}}
		if len(runs)%2 == 1 {
			ims[0], ims[1] = ims[1], ims[0]
		}
		res = make([]result, len(ims))
		for _, im := range ims {
			r := run(b, t, im)
			if _, ok := im.(*pfsyncImpl); ok {
				res[0] = r
			} else {
				res[1] = r
			}
		}
		report(b, res)
		runs = append(runs, res)
	}
	if len(runs) > 1 {
		fmt.Printf("\nmedian of %d runs:", len(runs))
		report(b, medians(runs))
	}
}

// medians returns, per implementation, the median of each figure over
// the runs.
func medians(runs [][]result) []result {
	out := make([]result, len(runs[0]))
	for i := range out {
		pick := func(f func(result) float64) float64 {
			v := make([]float64, len(runs))
			for j, r := range runs {
				v[j] = f(r[i])
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		out[i] = result{
			name:          runs[0][i].name,
			lagMed:        time.Duration(pick(func(r result) float64 { return float64(r.lagMed) })),
			lagP99:        time.Duration(pick(func(r result) float64 { return float64(r.lagP99) })),
			kLagMed:       time.Duration(pick(func(r result) float64 { return float64(r.kLagMed) })),
			kLagP99:       time.Duration(pick(func(r result) float64 { return float64(r.kLagP99) })),
			kLagN:         int(pick(func(r result) float64 { return float64(r.kLagN) })),
			lagN:          int(pick(func(r result) float64 { return float64(r.lagN) })),
			lagMissing:    int(pick(func(r result) float64 { return float64(r.lagMissing) })),
			burstRate:     pick(func(r result) float64 { return r.burstRate }),
			burstLost:     int(pick(func(r result) float64 { return float64(r.burstLost) })),
			burstInject:   time.Duration(pick(func(r result) float64 { return float64(r.burstInject) })),
			bulkSeconds:   pick(func(r result) float64 { return r.bulkSeconds }),
			bulkGot:       int(pick(func(r result) float64 { return float64(r.bulkGot) })),
			cpuPer1k:      pick(func(r result) float64 { return r.cpuPer1k }),
			cpuPer1kFW1:   pick(func(r result) float64 { return r.cpuPer1kFW1 }),
			cpuPer1kFW2:   pick(func(r result) float64 { return r.cpuPer1kFW2 }),
			cpuPer1kConns: pick(func(r result) float64 { return r.cpuPer1kConns }),
		}
	}
	return out
}

func run(b *testing.B, t *topo, im impl) result {
	r := result{name: im.name()}
	for _, h := range t.fw {
		h.Run("conntrack", "-F")
	}
	im.start(0)
	im.start(1)
	for end := time.Now().Add(30 * time.Second); !(im.ready(0) && im.ready(1)); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			b.Fatalf("%s: not ready", im.name())
		}
	}
	cpu := func() (a, c int64) {
		for i, p := range im.pids() {
			if i%2 == 0 {
				a += cpuNanos(p)
			} else {
				c += cpuNanos(p)
			}
		}
		return
	}
	// Both measure the steady state: the kernel's own work after the
	// set-up (RCU callbacks of the flushed tables and of the new
	// namespaces, compaction) ran for seconds and, falling into the
	// lag phase, stalled whichever implementation came first.
	time.Sleep(settle)
	l1, l2 := cpu()
	r.lagMed, r.lagP99, r.lagN, r.lagMissing = lag(b, t)
	l1b, l2b := cpu()
	k := kernelLags(b, t)
	r.kLagMed, r.kLagP99, r.kLagN = quantile(k, .5), quantile(k, .99), len(k)
	r.cpuPer1kConns = float64(l1b-l1+l2b-l2) / nanosPerMilli / (lagConns / 1000.0)

	// Burst: 20,000 states into fw1's table at once. Both tables are
	// emptied first (and the daemons given time to take the deletions):
	// the lag phase's connections would otherwise expire during the
	// count and show as lost states.
	for _, h := range t.fw {
		h.Run("conntrack", "-F")
	}
	time.Sleep(3 * time.Second)
	base := count(t.fw[1])
	c1a, c2a := cpu()
	t0 := time.Now()
	r.burstInject = inject(b, t.fw[0], burstN, 0)
	got, at := waitCount(t.fw[1], base+burstN, 120*time.Second)
	c1b, c2b := cpu()
	got -= base
	// Lost: the injected entries (10.11/16) missing on fw2, counted
	// exactly (the total count moves with the namespace's own entries).
	r.burstLost = burstN - countFrom(t.fw[1], "10.11.0.0/16")
	r.burstRate = float64(got) / at.Sub(t0).Seconds()
	r.cpuPer1kFW1 = float64(c1b-c1a) / nanosPerMilli / (burstN / 1000)
	r.cpuPer1kFW2 = float64(c2b-c2a) / nanosPerMilli / (burstN / 1000)
	r.cpuPer1k = r.cpuPer1kFW1 + r.cpuPer1kFW2

	// Bulk: fw2 starts while fw1 holds 100,000 states (the burst's are
	// flushed first, and fw1's daemon given time to take the deletions).
	im.stop(1)
	t.fw[1].Run("conntrack", "-F")
	t.fw[0].Run("conntrack", "-F")
	time.Sleep(3 * time.Second)
	inject(b, t.fw[0], bulkN, burstN)
	im.settled(bulkN)
	base = count(t.fw[1])
	t0 = time.Now()
	im.start(1)
	got, at = waitCount(t.fw[1], base+bulkN, 300*time.Second)
	for end := time.Now().Add(10 * time.Second); !im.ready(1) && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
	}
	r.bulkGot = got - base
	r.bulkSeconds = at.Sub(t0).Seconds()
	if p, ok := im.(*pfsyncImpl); ok {
		for i := range 2 {
			st, _ := p.stats(i)
			log, _ := os.ReadFile(filepath.Join(t.dir[i], "pfsync0.log"))
			b.Logf("%s fw%d after the bulk: %+v\n%s", im.name(), i+1, st, log)
		}
	}
	im.stop(0)
	im.stop(1)
	// The kernel's conntrack hash is shared by every namespace: the
	// 200,000 entries of this run, left until the benchmark's end with
	// its topology, would lengthen the chains the later runs look up and
	// the dumps they walk (a pfsync worker's reconciliation), so later
	// runs, of either implementation, came out slower.
	for _, h := range t.fw {
		h.Run("conntrack", "-F")
	}
	return r
}

// lag opens lagConns TCP connections at lagRate/s from the client and
// measures, from conntrack's NEW events on both firewalls (one clock),
// how long each took to appear on fw2 after fw1.
func lag(b *testing.B, t *topo) (med, p99 time.Duration, n, missing int) {
	lags, missing := lagSamples(b, t)
	return lags[len(lags)/2], lags[min(len(lags)-1, len(lags)*99/100)], len(lags), missing
}

// serve accepts the lag phase's connections on t's server and closes
// them, until the returned function is called.
func serve(b *testing.B, t *topo) (stop func()) {
	ln, err := t.server.Listen("tcp", serverAddr)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return func() { ln.Close() }
}

// watchNew starts conntrack -E for the lag phase's NEW events on both
// firewalls of t (timestamped, one clock).
func watchNew(t *topo) (ev [2]*lab.Proc) {
	for i, h := range t.fw {
		ev[i] = h.Start("conntrack", "-E", "-e", "NEW", "-o", "timestamp", "-b", "33554432", "-p", "tcp", "--dport", "5001")
	}
	return ev
}

func lagSamples(b *testing.B, t *topo) (lags []time.Duration, missing int) {
	defer serve(b, t)()
	ev := watchNew(t)
	time.Sleep(500 * time.Millisecond)
	tick := time.NewTicker(time.Second / lagRate)
	for range lagConns {
		<-tick.C
		if c, err := t.client.Dial("tcp", serverAddr); err == nil {
			c.Close()
		}
	}
	tick.Stop()
	time.Sleep(2 * time.Second)
	var at [2]map[string]float64
	for i, p := range ev {
		p.Term()
		p.Wait(5 * time.Second)
		at[i] = parseEvents(p.Output())
	}
	for k, t1 := range at[0] {
		t2, ok := at[1][k]
		if !ok {
			missing++
			continue
		}
		lags = append(lags, time.Duration((t2-t1)*float64(time.Second)))
	}
	if len(lags) == 0 {
		b.Fatalf("no connection seen on both firewalls (fw1 %d, fw2 %d)", len(at[0]), len(at[1]))
	}
	slices.Sort(lags)
	return lags, missing
}

// parseEvents maps "sport" to the event time of conntrack -E -o timestamp
// lines ("[1700000000.123456]	    [NEW] tcp … sport=N dport=5001 …").
func parseEvents(out string) map[string]float64 {
	m := map[string]float64{}
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "[") || !strings.Contains(l, "dport=5001") {
			continue
		}
		ts, err := strconv.ParseFloat(strings.Trim(strings.Fields(l)[0], "[]"), 64)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(l) {
			if strings.HasPrefix(f, "sport=") {
				if _, dup := m[f]; !dup {
					m[f] = ts
				}
				break
			}
		}
	}
	return m
}

func report(b *testing.B, res []result) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-26s %10s %10s %10s %10s %14s %6s %11s %13s %22s %15s\n", "implementation", "lag med", "lag p99", "klag med", "klag p99",
		"burst states/s", "lost", "bulk 100k s", "bulk received", "CPU ms/1k burst states", "CPU ms/1k conns")
	for _, r := range res {
		fmt.Fprintf(&sb, "%-26s %10s %10s %10s %10s %14.0f %6d %11.2f %13d %9.1f (%5.1f+%5.1f) %15.1f\n", r.name,
			r.lagMed.Round(time.Microsecond), r.lagP99.Round(time.Microsecond), r.kLagMed.Round(time.Microsecond), r.kLagP99.Round(time.Microsecond), r.burstRate, r.burstLost,
			r.bulkSeconds, r.bulkGot, r.cpuPer1k, r.cpuPer1kFW1, r.cpuPer1kFW2, r.cpuPer1kConns)
	}
	if len(res) == 2 {
		p, c := res[0], res[1]
		fmt.Fprintf(&sb, "ratios pfsync/conntrackd: lag median %.2f, p99 %.2f, kernel lag median %.2f, p99 %.2f, burst rate %.2f, bulk time %.2f, CPU/burst state %.2f, CPU/connection %.2f\n",
			float64(p.lagMed)/float64(c.lagMed), float64(p.lagP99)/float64(c.lagP99),
			float64(p.kLagMed)/float64(c.kLagMed), float64(p.kLagP99)/float64(c.kLagP99), p.burstRate/c.burstRate,
			p.bulkSeconds/c.bulkSeconds, p.cpuPer1k/c.cpuPer1k, p.cpuPer1kConns/c.cpuPer1kConns)
	}
	for _, r := range res {
		fmt.Fprintf(&sb, "%s: lag over %d connections (%d missing on fw2), kernel lag over %d; burst injected on fw1 in %v\n", r.name, r.lagN, r.lagMissing, r.kLagN, r.burstInject.Round(time.Millisecond))
	}
	fmt.Print(sb.String())
	b.Log(sb.String())
	p := res[0]
	b.ReportMetric(float64(p.lagMed.Microseconds()), "pfsync-lag-med-µs")
	b.ReportMetric(p.burstRate, "pfsync-burst-states/s")
	b.ReportMetric(p.bulkSeconds, "pfsync-bulk-s")
}
