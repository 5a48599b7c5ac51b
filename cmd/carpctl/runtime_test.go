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
	"carpfw/internal/cli"
	"carpfw/internal/ctl"
	"carpfw/internal/lab"
)

// TestMain lets the test binary stand in for carpctl: with
// CARPCTL_TEST_MAIN=1 it is the command (and, through os.Executable, the
// keeper and worker it starts).
func TestMain(m *testing.M) {
	if os.Getenv("CARPCTL_TEST_MAIN") == "1" {
		cli.Main(newRootCmd())
	}
	os.Exit(m.Run())
}

// carpctlIn runs carpctl inside h with the default run directory.
func carpctlIn(h *lab.Host, args ...string) (string, error) {
	argv := append([]string{"-u", "CARPFW_RUNDIR", "CARPCTL_TEST_MAIN=1", os.Args[0]}, args...)
	return h.Run("env", argv...)
}

func mustCarpctl(t *testing.T, h *lab.Host, args ...string) string {
	t.Helper()
	out, err := carpctlIn(h, args...)
	if err != nil {
		t.Fatalf("%s: carpctl %s: %v", h, strings.Join(args, " "), err)
	}
	return out
}

// workerPID returns the PID of the worker under ifname's keeper in dir.
func workerPID(t *testing.T, dir, ifname string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ifname+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	keeper := strings.TrimSpace(string(b))
	kids, _ := filepath.Glob("/proc/" + keeper + "/task/*/children")
	for _, k := range kids {
		b, _ := os.ReadFile(k)
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, _ := strconv.Atoi(f[0])
			return pid
		}
	}
	return 0
}

// TestWorkersPerNamespace covers the runtime model of docs/ARCHITECTURE.md:
// one worker per carp interface and namespace, found with no flags; group
// demotion per host; a worker killed with SIGKILL is restarted with its
// configuration after the keeper withdrew the virtual addresses it left.
func TestWorkersPerNamespace(t *testing.T) {
	l := lab.New(t)
	sw := l.Switch("lan")
	h1, h2 := l.Host("h1"), l.Host("h2")
	sw.Attach(h1, "eth0")
	sw.Attach(h2, "eth0")
	h1.AddAddr("eth0", "10.77.1.2/24")
	h2.AddAddr("eth0", "10.77.1.3/24")
	dir1 := "/run/carpfw/netns-" + h1.NS()
	dir2 := "/run/carpfw/netns-" + h2.NS()
	t.Cleanup(func() { os.RemoveAll(dir1); os.RemoveAll(dir2) })

	mustCarpctl(t, h1, "carp0", "vhid", "1", "carpdev", "eth0", "pass", "x", "inet", "10.77.1.1", "255.255.255.0", "10.77.1.255")
	mustCarpctl(t, h2, "carp0", "vhid", "1", "carpdev", "eth0", "pass", "x", "advskew", "100", "inet", "10.77.1.1/24")

	s1 := mustCarpctl(t, h1, "carp0")
	s2 := mustCarpctl(t, h2, "carp0")
	t.Logf("h1:\n%sh2:\n%s", s1, s2)
	if !strings.Contains(s1, "carpdev eth0 vhid 1 advbase 1 advskew 0\n") ||
		!strings.Contains(s2, "carpdev eth0 vhid 1 advbase 1 advskew 100\n") {
		t.Fatal("each namespace should show its own worker's configuration")
	}
	for _, d := range []string{dir1, dir2} {
		if _, err := os.Stat(filepath.Join(d, "carp0.sock")); err != nil {
			t.Errorf("worker socket not in the namespace's run directory: %v", err)
		}
	}

	// A crash of the MASTER's worker: its macvlan still holds the virtual
	// address. The keeper must withdraw it, then restart the worker.
	waitMaster(t, dir1)
	if !hasAddr(h1, "carp0", "10.77.1.1") {
		t.Fatal("MASTER without its virtual address")
	}
	old := workerPID(t, dir1, "carp0")
	if old == 0 {
		t.Fatal("no worker under the keeper")
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var restarted int
	for time.Now().Before(deadline) {
		if p := workerPID(t, dir1, "carp0"); p != 0 && p != old {
			if _, err := carpctlIn(h1, "carp0"); err == nil {
				restarted = p
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if restarted == 0 {
		b, _ := os.ReadFile(filepath.Join(dir1, "carp0.log"))
		t.Fatalf("worker not restarted within 10 s; log:\n%s", b)
	}
	for _, a := range h1.Addrs("carp0") {
		if !a.Addr().IsLinkLocalUnicast() {
			t.Errorf("virtual address %v left after the crash", a)
		}
	}
	if s := mustCarpctl(t, h1, "carp0"); !strings.Contains(s, "advskew 0") || !strings.Contains(s, "inet 10.77.1.1 netmask 0xffffff00") {
		t.Errorf("restarted worker lost its configuration:\n%s", s)
	}
	log, _ := os.ReadFile(filepath.Join(dir1, "carp0.log"))
	t.Logf("keeper log:\n%s", log)

	// Group demotion is per host: h1's workers see it, h2's do not.
	mustCarpctl(t, h1, "-g", "carp", "carpdemote", "5")
	if got := mustCarpctl(t, h1, "-g", "carp"); got != "carp: carp demote count 5\n" {
		t.Errorf("h1 group: %q", got)
	}
	if got := mustCarpctl(t, h2, "-g", "carp"); got != "carp: carp demote count 0\n" {
		t.Errorf("h2 group (another host): %q", got)
	}
	if got := mustCarpctl(t, h1, "--json", "carp0"); !strings.Contains(got, `"demote": 5`) {
		t.Errorf("h1 worker does not see the group demotion: %s", got)
	}

	// destroy ends worker and keeper; the interface is gone.
	mustCarpctl(t, h1, "carp0", "destroy")
	mustCarpctl(t, h2, "carp0", "destroy")
	deadline = time.Now().Add(5 * time.Second)
	for lab.Alive(restarted) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if lab.Alive(restarted) {
		t.Error("worker still running after destroy")
	}
	if out, err := carpctlIn(h1, "carp0"); err == nil || !strings.Contains(out, "carp0: no such interface") {
		t.Errorf("after destroy: %q, %v", out, err)
	}
	if out, err := h1.Run("ip", "link", "show", "carp0"); err == nil {
		t.Errorf("the macvlan outlived destroy:\n%s", out)
	}
}

// waitMaster waits until carp0 in dir is MASTER.
func waitMaster(t *testing.T, dir string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		var st carp.Status
		if ctl.Call(context.Background(), dir, "carp0", carp.OpStatus, nil, &st) == nil && st.State == carp.Master {
			return
		}
	}
	t.Fatal("carp0 not MASTER within 10 s")
}
