package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"carpfw/carp"
	"carpfw/internal/ctl"
	"carpfw/internal/lab"
)

// fw is one firewall of a CARP test: a lab host, its run directory, and
// carpctl (this test binary, see TestMain) run inside it.
type fw struct {
	t   *testing.T
	h   *lab.Host
	dir string
}

func newFW(t *testing.T, h *lab.Host) *fw {
	return &fw{t: t, h: h, dir: t.TempDir()}
}

// carpctl runs carpctl with args inside the host and fails the test on error.
func (f *fw) carpctl(args ...string) string {
	f.t.Helper()
	out, err := f.run(args...)
	if err != nil {
		f.t.Fatalf("%s: carpctl %s: %v", f.h, strings.Join(args, " "), err)
	}
	return out
}

func (f *fw) run(args ...string) (string, error) {
	argv := append([]string{"CARPFW_RUNDIR=" + f.dir, "CARPCTL_TEST_MAIN=1", os.Args[0]}, args...)
	return f.h.Run("env", argv...)
}

// status asks the worker of ifname directly, as carpctl does.
func (f *fw) status(ifname string) carp.Status {
	f.t.Helper()
	var st carp.Status
	if err := ctl.Call(context.Background(), f.dir, ifname, carp.OpStatus, nil, &st); err != nil {
		f.t.Fatalf("%s: status of %s: %v", f.h, ifname, err)
	}
	return st
}

func (f *fw) stats(ifname string) carp.Stats {
	f.t.Helper()
	var st carp.Stats
	if err := ctl.Call(context.Background(), f.dir, ifname, carp.OpStats, nil, &st); err != nil {
		f.t.Fatalf("%s: stats of %s: %v", f.h, ifname, err)
	}
	return st
}

// waitState waits, polling every 10 ms, until ifname is in state want,
// and returns how long it took.
func (f *fw) waitState(ifname string, want carp.State, timeout time.Duration) time.Duration {
	f.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		var st carp.Status
		if err := ctl.Call(context.Background(), f.dir, ifname, carp.OpStatus, nil, &st); err == nil && st.State == want {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatalf("%s: %s not %s within %v (now %s)\nlog:\n%s", f.h, ifname, want, timeout, f.status(ifname).State, f.log(ifname))
	return 0
}

// holdState checks that ifname stays in state want for d.
func (f *fw) holdState(ifname string, want carp.State, d time.Duration) {
	f.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st := f.status(ifname).State; st != want {
			f.t.Fatalf("%s: %s became %s, want it to stay %s\nlog:\n%s", f.h, ifname, st, want, f.log(ifname))
		}
	}
}

func (f *fw) log(ifname string) string {
	b, _ := os.ReadFile(filepath.Join(f.dir, ifname+".log"))
	return string(b)
}

// killWorker sends SIGKILL to ifname's worker (not its keeper).
func (f *fw) killWorker(ifname string) {
	f.t.Helper()
	pid := workerPID(f.t, f.dir, ifname)
	if pid == 0 {
		f.t.Fatalf("%s: no worker for %s", f.h, ifname)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		f.t.Fatal(err)
	}
}

// crash simulates the host dying: its links go down and its carp
// workers and keepers get SIGKILL, so nothing restarts them. (Killing only
// a worker lets its keeper restart it after 1 s, and the restarted worker,
// if faster, may win the election again before the slower peer's
// master-down interval runs out: correct, but not a failover.)
func (f *fw) crash() {
	f.t.Helper()
	for _, ifn := range f.h.Interfaces() {
		if ifn != "lo" && !strings.HasPrefix(ifn, "carp") {
			f.h.SetLinkDown(ifn)
		}
	}
	pids, _ := filepath.Glob(filepath.Join(f.dir, "*.pid"))
	for _, p := range pids {
		name := strings.TrimSuffix(filepath.Base(p), ".pid")
		if w := workerPID(f.t, f.dir, name); w != 0 {
			syscall.Kill(w, syscall.SIGKILL)
		}
		b, _ := os.ReadFile(p)
		if keeper, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && keeper > 0 {
			syscall.Kill(keeper, syscall.SIGKILL)
		}
	}
}

// hasAddr reports whether ifname in h holds addr.
func hasAddr(h *lab.Host, ifname, addr string) bool {
	for _, p := range h.Addrs(ifname) {
		if p.Addr().String() == addr {
			return true
		}
	}
	return false
}

// pair builds fw1 and fw2 and a client on one switch (10.66.0.0/24), with
// carp0 on both: vhid 1, pass secret, VIP 10.66.0.1; fw1 advskew 0, fw2
// advskew 100, plus extra words for both.
func pair(t *testing.T, extra ...string) (fw1, fw2 *fw, client *lab.Host) {
	l := lab.New(t)
	sw := l.Switch("lan")
	h1, h2, c := l.Host("fw1"), l.Host("fw2"), l.Host("client")
	for i, h := range []*lab.Host{h1, h2, c} {
		sw.Attach(h, "eth0")
		h.AddAddr("eth0", []string{"10.66.0.2/24", "10.66.0.3/24", "10.66.0.10/24"}[i])
	}
	fw1, fw2 = newFW(t, h1), newFW(t, h2)
	for i, f := range []*fw{fw1, fw2} {
		args := append([]string{"carp0", "vhid", "1", "pass", "secret", "carpdev", "eth0", "advskew", []string{"0", "100"}[i]}, extra...)
		if len(extra) == 0 {
			args = append(args, "inet", "10.66.0.1/24")
		}
		f.carpctl(args...)
	}
	return fw1, fw2, c
}
