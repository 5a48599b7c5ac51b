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

	"carpfw/internal/cli"
	"carpfw/internal/ctl"
	"carpfw/internal/lab"
	"carpfw/internal/nftload"
	"carpfw/internal/rundir"
)

// TestMain: the (if) watcher that pfconf -f detaches is this test binary
// run again (os.Executable); with PFCONF_TEST_MAIN=1 it is the command.
func TestMain(m *testing.M) {
	if os.Getenv("PFCONF_TEST_MAIN") == "1" {
		cli.Main(newRootCmd())
	}
	os.Setenv("PFCONF_TEST_MAIN", "1")
	os.Exit(m.Run())
}

// watcherDir is h's run directory, where pfconf keeps its state file and
// the watcher its socket and PID file.
func watcherDir(t *testing.T, h *lab.Host) string {
	var dir string
	if err := h.Do(func() (err error) { dir, err = rundir.Resolve(""); return }); err != nil {
		t.Fatal(err)
	}
	return dir
}

// watcherPID returns the PID of h's watcher keeper, 0 if none runs.
func watcherPID(dir string) int {
	b, err := os.ReadFile(ctl.PIDPath(dir, nftload.WatcherName))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid > 0 && syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// stopWatcher ends h's watcher, if a test left one running.
func stopWatcher(t *testing.T, dir string) {
	pid := watcherPID(dir)
	if pid == 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if watcherPID(dir) == 0 {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("watcher %d did not stop on SIGTERM", pid)
}

// eventually retries try (every 100 ms, at most 4 s) until it returns
// nil, and returns its last error.
func eventually(try func() error) error {
	var err error
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err = try(); err == nil {
			return nil
		}
	}
	return err
}

// TestDynamicAddressFollowsInterface: rules on (r0) and (egress) follow
// the interfaces' addresses and the default route after the load, with no
// further pfconf command, as pf's dynamic addresses do; a flush that
// leaves no (if) address stops the watcher.
func TestDynamicAddressFollowsInterface(t *testing.T) {
	c, r := runtimeLab(t)
	dir := watcherDir(t, r)
	t.Cleanup(func() { stopWatcher(t, dir) })
	conf := writeConf(t, "pf.conf", "block return all\npass in on r0 proto tcp to (r0) port 22\npass in on r0 proto tcp to (egress) port 23\n")
	if code, _, errs := pfconf(t, r, "-f", conf); code != 0 || errs != "" {
		t.Fatalf("load: exit %d: %s", code, errs)
	}
	if watcherPID(dir) == 0 {
		t.Fatalf("no watcher runs after loading (if) rules; log:\n%s", readLog(dir))
	}
	if err := connect(c, "10.0.1.1:22"); err != nil {
		t.Fatalf("to (r0) at load time: %v", err)
	}
	if err := connect(c, "10.0.1.1:23"); err == nil {
		t.Fatalf("to (egress) with no default route passed")
	}

	// A new address of r0 is in (r0) at once.
	r.AddAddr("r0", "10.0.1.5/24")
	if err := eventually(func() error { return connect(c, "10.0.1.5:22") }); err != nil {
		t.Fatalf("to (r0) at a new address: %v\nlog:\n%s", err, readLog(dir))
	}
	// Moved to another interface, it is no longer r0's: blocked, though r
	// still answers for it.
	r.DelAddr("r0", "10.0.1.5/24")
	r.AddAddr("lo", "10.0.1.5/32")
	if err := eventually(func() error {
		if connect(c, "10.0.1.5:22") == nil {
			return os.ErrExist
		}
		return nil
	}); err != nil {
		t.Fatalf("to 10.0.1.5 after it left r0: still passes\nlog:\n%s", readLog(dir))
	}
	// A default route through r0 puts r0 in the egress group.
	r.AddRoute("default", "10.0.1.2")
	if err := eventually(func() error { return connect(c, "10.0.1.1:23") }); err != nil {
		t.Fatalf("to (egress) after the default route: %v\nlog:\n%s", err, readLog(dir))
	}
	var st nftload.WatchStatus
	if err := ctl.Call(context.Background(), dir, nftload.WatcherName, nftload.OpStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Addresses["if_egress_4"], " "); got != "10.0.1.1/32" {
		t.Errorf("watcher status: (egress) holds %q, want 10.0.1.1/32 (%+v)", got, st)
	}

	// Nothing left to follow: the watcher stops.
	if code, _, errs := pfconf(t, r, "-q", "-F", "all"); code != 0 {
		t.Fatalf("-F all: exit %d: %s", code, errs)
	}
	if err := eventually(func() error {
		if watcherPID(dir) != 0 {
			return os.ErrExist
		}
		return nil
	}); err != nil {
		t.Errorf("the watcher still runs after -F all\nlog:\n%s", readLog(dir))
	}
}

func readLog(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, nftload.WatcherName+".log"))
	return string(b)
}
