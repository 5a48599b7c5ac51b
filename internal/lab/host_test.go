package lab_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"carpfw/internal/lab"
)

// threadNS returns the network namespace inode of the calling thread.
func threadNS() (uint64, error) {
	link, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		return 0, err
	}
	var ino uint64
	if _, err := fmt.Sscanf(link, "net:[%d]", &ino); err != nil {
		return 0, fmt.Errorf("parse %q: %w", link, err)
	}
	return ino, nil
}

func TestDoRunsInTheHostAndRestores(t *testing.T) {
	l := lab.New(t)
	h := l.Host("h1")
	hostIno := inode(t, "/run/netns/"+h.NS())
	runtime.LockOSThread()
	rootIno, err := threadNS()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	if rootIno == hostIno {
		t.Fatal("host namespace is the root namespace")
	}

	// Many Do calls, while other goroutines check that no thread stays in
	// the host's namespace once Do has returned.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 50 {
		wg.Go(func() {
			errs <- h.Do(func() error {
				ino, err := threadNS()
				if err == nil && ino != hostIno {
					err = fmt.Errorf("inside Do in namespace %d, want %d", ino, hostIno)
				}
				return err
			})
		})
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ino, err := threadNS()
			if err == nil && ino != rootIno {
				err = fmt.Errorf("thread outside Do in namespace %d, want %d", ino, rootIno)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	// A panic inside Do reaches the caller, and the host stays usable.
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want boom", v)
			}
		}()
		h.Do(func() error { panic("boom") })
		t.Error("Do returned after a panic")
	}()
	if err := h.Do(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := fmt.Errorf("mine")
	if err := h.Do(func() error { return want }); err != want {
		t.Fatalf("Do returned %v, want fn's error", err)
	}
}

func TestSysctlAndRoutes(t *testing.T) {
	l := lab.New(t)
	root, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	// a -- r -- b, r routing between 10.1.0.0/24 and 10.2.0.0/24.
	a, r, b := l.Host("a"), l.Host("r"), l.Host("b")
	l.Link(a, "eth0", r, "eth0")
	l.Link(r, "eth1", b, "eth0")
	a.AddAddr("eth0", "10.1.0.1/24")
	r.AddAddr("eth0", "10.1.0.254/24")
	r.AddAddr("eth1", "10.2.0.254/24")
	b.AddAddr("eth0", "10.2.0.1/24")
	a.AddAddr("eth0", "fd01::1/64")
	r.AddAddr("eth0", "fd01::fe/64")
	r.AddAddr("eth1", "fd02::fe/64")
	b.AddAddr("eth0", "fd02::1/64")
	a.AddRoute("default", "10.1.0.254")
	a.AddRoute("default", "fd01::fe")
	b.AddRoute("10.1.0.0/24", "10.2.0.254")
	b.AddRoute("fd01::/64", "fd02::fe")

	if _, err := a.Run("ping", "-c1", "-W1", "10.2.0.1"); err == nil {
		t.Fatal("ping through r without forwarding succeeded")
	}
	r.Sysctl("net.ipv4.ip_forward", "1")
	r.Sysctl("net.ipv6.conf.all.forwarding", "1")
	if got := r.ReadSysctl("net.ipv4.ip_forward"); got != "1" {
		t.Fatalf("r: ip_forward = %q, want 1", got)
	}
	if got := a.ReadSysctl("net/ipv4/ip_forward"); got != "0" {
		t.Fatalf("a: ip_forward = %q, want 0", got)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(now) != string(root) {
		t.Fatalf("root ip_forward changed from %q to %q", root, now)
	}
	a.MustRun("ping", "-c1", "-W2", "10.2.0.1")
	a.MustRun("ping", "-6", "-c1", "-W2", "fd02::1")

	a.DelAddr("eth0", "fd01::1/64")
	for _, p := range a.Addrs("eth0") {
		if p.String() == "fd01::1/64" {
			t.Fatal("fd01::1/64 still on a eth0 after DelAddr")
		}
	}
}

func TestCrash(t *testing.T) {
	l := lab.New(t)
	h1, h2 := l.Host("h1"), l.Host("h2")
	l.Link(h1, "eth0", h2, "eth0")
	l.Link(h1, "eth1", h2, "eth1")
	h1.AddAddr("eth0", "10.3.0.1/24")
	h2.AddAddr("eth0", "10.3.0.2/24")
	h2.MustRun("ping", "-c1", "-W1", "10.3.0.1")
	p := h1.Start("sh", "-c", "sleep 300 & sleep 300")
	other := h2.Start("sleep", "300")

	h1.Crash()

	if !p.Exited() {
		t.Fatalf("%v: running after Crash", p)
	}
	if other.Exited() {
		t.Fatalf("%v (other host): exited after h1's Crash", other)
	}
	for _, ifname := range []string{"eth0", "eth1"} {
		if out := h1.MustRun("ip", "-o", "link", "show", ifname); !strings.Contains(out, "state DOWN") {
			t.Fatalf("h1 %s after Crash: %s", ifname, out)
		}
	}
	if out := h1.MustRun("ip", "-o", "link", "show", "lo"); strings.Contains(out, "state DOWN") {
		t.Fatalf("h1 lo after Crash: %s", out)
	}
	if _, err := h2.Run("ping", "-c1", "-W1", "10.3.0.1"); err == nil {
		t.Fatal("h2 pings h1 after h1's Crash")
	}
}

func TestRunAndStartOptions(t *testing.T) {
	l := lab.New(t)
	h := l.Host("h1")
	start := time.Now()
	_, err := h.RunTimeout(300*time.Millisecond, "sleep", "10")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("RunTimeout: %v, want a time-out", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("RunTimeout took %v", d)
	}
	if _, err := h.Run("sh", "-c", "echo oops >&2; exit 2"); err == nil || !strings.Contains(err.Error(), "oops") ||
		!strings.HasPrefix(err.Error(), "lab: host h1: run sh -c") {
		t.Fatalf("Run of a failing command: %v", err)
	}
	dir := t.TempDir()
	p := h.StartWith(lab.StartOptions{Env: []string{"LABVAR=xyz"}, Dir: dir}, "sh", "-c", `echo "$LABVAR"; pwd; echo err >&2`)
	if err := p.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Output(), "xyz\n"+dir+"\nerr\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if b, err := os.ReadFile(p.LogPath()); err != nil || string(b) != p.Output() {
		t.Fatalf("log file %s: %q, %v", p.LogPath(), b, err)
	}
	missing := h.Start("/nonexistent/prog")
	if err := missing.Wait(5 * time.Second); err == nil || !strings.Contains(missing.Output(), "/nonexistent/prog") {
		t.Fatalf("%v: wait: %v, output %q", missing, err, missing.Output())
	}
	q := h.Start("sleep", "300")
	if err := q.Term(); err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(5 * time.Second); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("wait after Term: %v", err)
	}
	if err := q.Term(); err != os.ErrProcessDone {
		t.Fatalf("Term of an exited process: %v, want os.ErrProcessDone", err)
	}
	if err := q.Kill(); err != nil {
		t.Fatalf("Kill of an exited process: %v", err)
	}
	if len(l.Procs()) != 3 || len(l.Hosts()) != 1 {
		t.Fatalf("lab has %d procs and %d hosts, want 3 and 1", len(l.Procs()), len(l.Hosts()))
	}
}

// recorder is a testing.TB whose Fatal methods record the message and end
// the goroutine, so that setup errors can be checked.
type recorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.msg = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.mu.Lock()
	r.msg = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// fatal runs fn in a goroutine of its own and returns the Fatal message.
func (r *recorder) fatal(fn func()) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := r.msg
	r.msg = ""
	return msg
}

func TestSetupErrorsNameHostAndOperation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	rec := &recorder{TB: t}
	l := lab.New(rec)
	h1, h2 := l.Host("h1"), l.Host("h2")
	l.Link(h1, "eth0", h2, "eth0")
	h1.AddAddr("eth0", "10.0.0.1/24")
	for _, tc := range []struct {
		fn   func()
		want string
	}{
		{func() { h1.AddAddr("eth0", "10.0.0.1/24") }, "lab: host h1: add address 10.0.0.1/24 on eth0: file exists"},
		{func() { h1.AddAddr("eth9", "10.0.0.2/24") }, "lab: host h1: add address 10.0.0.2/24 on eth9: interface eth9: Link not found"},
		{func() { l.Link(h1, "averyverylongname", h2, "eth1") }, `lab: host h1: link averyverylongname to h2 eth1: interface name "averyverylongname" longer than 15 characters`},
		{func() { l.Link(h1, "eth0", h2, "eth1") }, "lab: host h1: link eth0 to h2 eth1: file exists"},
		{func() { l.Host("h1") }, "lab: host h1: namespace " + l.Prefix() + "-h1 already exists in this lab"},
		{func() { l.Host("bad/name") }, `lab: host "bad/name": character '/' not allowed (use letters, digits, - _ .)`},
		{func() { h2.AddRoute("10.9.0.0/16", "10.0.0.1") }, "lab: host h2: add route 10.9.0.0/16 via 10.0.0.1: network is unreachable"},
		{func() { h1.SetLinkDown("nope") }, "lab: host h1: interface nope: Link not found"},
	} {
		if got := rec.fatal(tc.fn); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
