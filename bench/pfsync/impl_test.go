package pfsyncbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"carpfw/internal/ctl"
	"carpfw/internal/lab"
	"carpfw/pfsync"
)

// pfsyncImpl runs carpfw's pfsync0 worker (detached, under its keeper).
type pfsyncImpl struct {
	t *topo
	b *testing.B
}

func (p *pfsyncImpl) name() string { return "carpfw pfsync" }

func (p *pfsyncImpl) ctl(i int, args ...string) {
	// The worker runs at conntrackd's default priority, SCHED_RR 99
	// (ours is SCHED_RR 10), unless CARPFW_PFSYNC_RTPRIO is set around
	// the benchmark. Above the normal tasks both numbers are the same
	// class; the number only decides which daemon runs first when both
	// wake at one moment, which happens here only because the two share
	// the machine: in BenchmarkLagBothAtOnce conntrackd's threads then
	// preempt ours. Our p99 (from events) was above conntrackd's in 7
	// of 9 rounds at 10 and in 6 of 15 at 99 (docs/pfsync.md §9).
	env := []string{"CARPFW_RUNDIR=" + p.t.dir[i]}
	if os.Getenv("CARPFW_PFSYNC_RTPRIO") == "" {
		env = append(env, "CARPFW_PFSYNC_RTPRIO="+strconv.Itoa(conntrackdRTPriority))
	}
	env = append(env, pfsyncctl)
	if out, err := p.t.fw[i].Run("env", append(env, args...)...); err != nil {
		p.b.Fatalf("pfsyncctl %v: %v\n%s", args, err, out)
	}
}

func (p *pfsyncImpl) start(i int) { p.ctl(i, "pfsync0", "syncdev", "sync0", "up") }

func (p *pfsyncImpl) stop(i int) {
	p.ctl(i, "pfsync0", "destroy")
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(ctl.SocketPath(p.t.dir[i], "pfsync0")); err != nil {
			return
		}
	}
}

func (p *pfsyncImpl) stats(i int) (pfsync.Stats, error) {
	var st pfsync.Stats
	err := ctl.Call(context.Background(), p.t.dir[i], "pfsync0", pfsync.OpStats, nil, &st)
	return st, err
}

func (p *pfsyncImpl) settled(n int) {
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st, err := p.stats(0); err == nil && st.LocalStates >= n {
			return
		}
	}
	st, _ := p.stats(0)
	p.b.Fatalf("fw1's pfsync took in %d states, want %d", st.LocalStates, n)
}

func (p *pfsyncImpl) ready(i int) bool {
	st, err := p.stats(i)
	return err == nil && st.Bulk == "done"
}

// pids returns fw1's and fw2's worker PIDs (the keepers' children).
func (p *pfsyncImpl) pids() []int {
	var out []int
	for i := range p.t.fw {
		b, _ := os.ReadFile(ctl.PIDPath(p.t.dir[i], "pfsync0"))
		keeper, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		kids, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", keeper))
		pid := 0
		for _, k := range kids {
			b, _ := os.ReadFile(k)
			if f := strings.Fields(string(b)); len(f) > 0 {
				pid, _ = strconv.Atoi(f[0])
			}
		}
		out = append(out, pid)
	}
	return out
}

// conntrackdRTPriority is conntrackd's scheduling priority when its
// configuration has no Scheduler section (SCHED_RR 99, chrt -p on the
// running daemon).
const conntrackdRTPriority = 99

// conntrackdImpl runs conntrackd in FTFW mode over the sync link, with
// the external cache disabled so that states go into the peer's kernel
// table as they arrive, as pfsync does.
type conntrackdImpl struct {
	t     *topo
	b     *testing.B
	procs [2]*lab.Proc
	dir   string
}

func (c *conntrackdImpl) name() string { return "conntrackd ftfw (no cache)" }

func (c *conntrackdImpl) conf(i int) string {
	if c.dir == "" {
		c.dir = c.b.TempDir()
	}
	f := filepath.Join(c.dir, fmt.Sprintf("fw%d.conf", i+1))
	conf := fmt.Sprintf(`Sync {
	Mode FTFW {
		DisableExternalCache On
		StartupResync On
		ResendQueueSize 262144
		ACKWindowSize 300
	}
	UDP {
		IPv4_address 10.30.0.%d
		IPv4_Destination_Address 10.30.0.%d
		Port 3780
		Interface sync0
		SndSocketBuffer 24985600
		RcvSocketBuffer 24985600
		Checksum on
	}
}
General {
	HashSize 65536
	HashLimit 524288
	LogFile %s/fw%d.log
	Syslog off
	LockFile %s/fw%d.lock
	UNIX {
		Path %s/fw%d.ctl
	}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 134217728
	NetlinkOverrunResync On
	Filter From Userspace {
		Protocol Accept {
			TCP
		}
		Address Ignore {
			IPv4_address 127.0.0.1
			IPv4_address 10.30.0.0/30
		}
	}
}
`, i+1, 2-i, c.dir, i+1, c.dir, i+1, c.dir, i+1)
	if err := os.WriteFile(f, []byte(conf), 0o600); err != nil {
		c.b.Fatal(err)
	}
	return f
}

func (c *conntrackdImpl) start(i int) {
	os.Remove(filepath.Join(c.dirOr(), fmt.Sprintf("fw%d.lock", i+1)))
	c.procs[i] = c.t.fw[i].Start("conntrackd", "-C", c.conf(i))
	sock := filepath.Join(c.dir, fmt.Sprintf("fw%d.ctl", i+1))
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return
		}
	}
	c.b.Fatalf("conntrackd on fw%d did not start:\n%s", i+1, c.procs[i].Output())
}

func (c *conntrackdImpl) dirOr() string {
	if c.dir == "" {
		c.dir = c.b.TempDir()
	}
	return c.dir
}

func (c *conntrackdImpl) stop(i int) {
	if p := c.procs[i]; p != nil {
		p.Signal(syscall.SIGTERM)
		p.Wait(10 * time.Second)
		c.procs[i] = nil
	}
}

// settled: conntrackd's internal cache is not easily read; give it time.
func (c *conntrackdImpl) settled(int) { time.Sleep(5 * time.Second) }

// ready: conntrackd has no bulk state machine; it resyncs at start.
func (c *conntrackdImpl) ready(i int) bool { return c.procs[i] != nil }

func (c *conntrackdImpl) pids() []int {
	var out []int
	for _, p := range c.procs {
		if p != nil {
			out = append(out, p.PID())
		} else {
			out = append(out, 0)
		}
	}
	return out
}
