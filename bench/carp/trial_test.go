package carpbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"carpfw/carp"
	"carpfw/internal/ctl"
	"carpfw/internal/lab"
)

const (
	vip        = "10.66.0.1"
	probeEvery = 10 * time.Millisecond
	echoPort   = 7007
)

type failoverCase struct {
	name         string
	advbase      int
	skew1, skew2 int // fw1 (master) and fw2 (backup)
	trials       int
}

// firewall is one carpctl host.
type firewall struct {
	h   *lab.Host
	dir string
}

func (f *firewall) carpctl(b testing.TB, args ...string) {
	b.Helper()
	argv := append([]string{"CARPFW_RUNDIR=" + f.dir, carpctlBin}, args...)
	if out, err := f.h.Run("env", argv...); err != nil {
		b.Fatalf("%s: carpctl %s: %v\n%s", f.h, strings.Join(args, " "), err, out)
	}
}

func (f *firewall) status() (carp.Status, error) {
	var st carp.Status
	err := ctl.Call(context.Background(), f.dir, "carp0", carp.OpStatus, nil, &st)
	return st, err
}

func (f *firewall) stats(b testing.TB) carp.Stats {
	var st carp.Stats
	if err := ctl.Call(context.Background(), f.dir, "carp0", carp.OpStats, nil, &st); err != nil {
		b.Fatalf("%s: stats: %v", f.h, err)
	}
	return st
}

func (f *firewall) waitState(b testing.TB, want carp.State, timeout time.Duration) {
	b.Helper()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if st, err := f.status(); err == nil && st.State == want {
			return
		}
	}
	st, err := f.status()
	b.Fatalf("%s: carp0 not %s within %v (%s, %v)", f.h, want, timeout, st.State, err)
}

// kill sends SIGKILL to carp0's keeper and worker.
func (f *firewall) kill() {
	pidb, _ := os.ReadFile(filepath.Join(f.dir, "carp0.pid"))
	keeper, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if keeper <= 0 {
		return
	}
	kids, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", keeper))
	syscall.Kill(keeper, syscall.SIGKILL)
	for _, k := range kids {
		b, _ := os.ReadFile(k)
		for _, p := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(p); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// wire records, on the client, when frames of interest arrive: CARP
// advertisements by sender, and gratuitous ARPs for the virtual address.
type wire struct {
	mu    sync.Mutex
	ads   chan adSeen
	garps []time.Time
}

type adSeen struct {
	at  time.Time
	src netip.Addr
}

func (w *wire) sniff(c *packet.Conn) {
	buf := make([]byte, 2048)
	v := netip.MustParseAddr(vip).As4()
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		now := time.Now()
		f := buf[:n]
		if n < 42 {
			continue
		}
		switch binary.BigEndian.Uint16(f[12:14]) {
		case 0x0800:
			if f[23] == carp.ProtoCARP {
				src := netip.AddrFrom4([4]byte(f[26:30]))
				select {
				case w.ads <- adSeen{now, src}:
				default:
				}
			}
		case 0x0806:
			// ARP request whose sender and target address are the VIP.
			if binary.BigEndian.Uint16(f[20:22]) == 1 && [4]byte(f[28:32]) == v && [4]byte(f[38:42]) == v {
				w.mu.Lock()
				w.garps = append(w.garps, now)
				w.mu.Unlock()
			}
		}
	}
}

func (w *wire) firstGARPAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.garps {
		if g.After(t) {
			return g, true
		}
	}
	return time.Time{}, false
}

// probe sends a UDP datagram to the VIP every probeEvery and records when
// echoes come back.
type probe struct {
	mu      sync.Mutex
	replies []time.Time
}

func (p *probe) run(c net.PacketConn, stop <-chan struct{}) {
	dst := &net.UDPAddr{IP: net.ParseIP(vip), Port: echoPort}
	go func() {
		buf := make([]byte, 64)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
			p.mu.Lock()
			p.replies = append(p.replies, time.Now())
			p.mu.Unlock()
		}
	}()
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for seq := uint64(0); ; seq++ {
		select {
		case <-stop:
			return
		case <-t.C:
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], seq)
			c.WriteTo(b[:], dst)
		}
	}
}

func (p *probe) firstAfter(t time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.replies, t, func(a, b time.Time) int { return a.Compare(b) })
	if i < len(p.replies) {
		return p.replies[i], true
	}
	return time.Time{}, false
}

func (p *probe) lastReply() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.replies) == 0 {
		return time.Time{}
	}
	return p.replies[len(p.replies)-1]
}

// echo answers UDP datagrams on c until it is closed.
func echo(c net.PacketConn) {
	buf := make([]byte, 64)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		c.WriteTo(buf[:n], from)
	}
}

type trialResult struct {
	outage   time.Duration // crash → first echo through the new master
	takeover time.Duration // master-down expiry → gratuitous ARP on the wire
	flaps    int           // extra transitions to MASTER on fw2 within the trial
}

type caseResult struct {
	c          failoverCase
	masterDown time.Duration
	trials     []trialResult
}

func runCase(b *testing.B, c failoverCase) caseResult {
	l := lab.New(b)
	sw := l.Switch("lan")
	h1, h2, client := l.Host("fw1"), l.Host("fw2"), l.Host("client")
	for i, h := range []*lab.Host{h1, h2, client} {
		sw.Attach(h, "eth0")
		h.AddAddr("eth0", []string{"10.66.0.2/24", "10.66.0.3/24", "10.66.0.10/24"}[i])
	}
	fws := []*firewall{{h1, b.TempDir()}, {h2, b.TempDir()}}
	for i, f := range fws {
		f.carpctl(b, "sysctl", "net.inet.carp.preempt=1")
		f.carpctl(b, "carp0", "vhid", "1", "pass", "bench", "carpdev", "eth0",
			"advbase", strconv.Itoa(c.advbase), "advskew", strconv.Itoa([]int{c.skew1, c.skew2}[i]), "inet", vip+"/24")
		pc, err := f.h.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", echoPort))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pc.Close() })
		go echo(pc)
	}
	fw1, fw2 := fws[0], fws[1]
	md := carp.MasterDownInterval(uint8(c.advbase), uint8(c.skew2))

	w := &wire{ads: make(chan adSeen, 1)}
	var sniffer *packet.Conn
	if err := client.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		sniffer, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sniffer.Close() })
	go w.sniff(sniffer)
	pc, err := client.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	b.Cleanup(func() { close(stop); pc.Close() })
	p := &probe{}
	go p.run(pc, stop)

	settle := max(3*md, 2*time.Second)
	res := caseResult{c: c, masterDown: md}
	for n := range c.trials {
		fw1.waitState(b, carp.Master, settle+5*time.Second)
		fw2.waitState(b, carp.Backup, settle)
		for end := time.Now().Add(5 * time.Second); time.Since(p.lastReply()) > 3*probeEvery; time.Sleep(probeEvery) {
			if time.Now().After(end) {
				b.Fatalf("trial %d: probes not answered before the crash", n)
			}
		}
		time.Sleep(time.Duration(rand.Int64N(int64(500 * time.Millisecond))))
		before := fw2.stats(b).Preempt

		// Crash fw1 right after one of its advertisements.
		drain(w.ads)
		var t0 time.Time
		for t0.IsZero() {
			select {
			case ad := <-w.ads:
				if ad.src == netip.MustParseAddr("10.66.0.2") {
					t0 = ad.at
				}
			case <-time.After(3 * time.Second):
				b.Fatalf("trial %d: no advertisement from fw1", n)
			}
		}
		fw1.h.SetLinkDown("eth0")
		crashed := time.Now()
		fw1.kill()

		fw2.waitState(b, carp.Master, md+3*time.Second)
		var back time.Time
		for end := time.Now().Add(md + 5*time.Second); ; time.Sleep(probeEvery) {
			// Echoes already on their way when the link went down do not
			// count: the first one after it came through fw2.
			if r, ok := p.firstAfter(crashed.Add(time.Millisecond)); ok {
				back = r
				break
			}
			if time.Now().After(end) {
				b.Fatalf("trial %d: no echo through fw2", n)
			}
		}
		time.Sleep(max(md, 300*time.Millisecond)) // watch for flapping
		tr := trialResult{outage: back.Sub(t0), flaps: int(fw2.stats(b).Preempt-before) - 1}
		// fw1's own second round of gratuitous ARPs (sent two
		// advertisements after it took over) can fall just before the
		// crash; fw2's come after it.
		if g, ok := w.firstGARPAfter(crashed); ok {
			tr.takeover = g.Sub(t0.Add(md))
		}
		res.trials = append(res.trials, tr)
		b.Logf("%s trial %d: outage %v takeover %v flaps %d", c.name, n+1, tr.outage.Round(time.Millisecond), tr.takeover.Round(100*time.Microsecond), tr.flaps)

		// Restore fw1: it comes back as BACKUP and preempts.
		fw1.h.SetLinkUp("eth0")
		fw1.carpctl(b, "carp0", "up")
	}
	return res
}

func drain(ch chan adSeen) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
