package lab_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"carpfw/internal/lab"
)

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for range int(timeout/(20*time.Millisecond)) + 1 {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// inode returns the inode of path (following links): for /run/netns/x
// and /proc/<pid>/ns/net, the namespace's identity.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

// serve answers every connection on ln with "ack <host> <line>".
func serve(t *testing.T, h *lab.Host, ln net.Listener) {
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				fmt.Fprintf(c, "ack %s %s", h.Name(), line)
			})
		}
	})
}

// exchange dials addr from h, sends a line and checks the answer of peer.
func exchange(t *testing.T, h, peer *lab.Host, addr string) {
	t.Helper()
	c, err := h.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("%s -> %s (%s): %v", h.Name(), peer.Name(), addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := "hello from " + h.Name() + "\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("%s -> %s: write: %v", h.Name(), peer.Name(), err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if want := "ack " + peer.Name() + " " + msg; got != want || err != nil {
		t.Fatalf("%s -> %s: got %q, %v; want %q", h.Name(), peer.Name(), got, err, want)
	}
	if la := c.LocalAddr().(*net.TCPAddr); !la.IP.Equal(net.ParseIP(hostIP(h, strings.Contains(addr, "[")))) {
		t.Fatalf("%s -> %s: local address %v, want the host's own", h.Name(), peer.Name(), la)
	}
}

// hostIP returns the test address of host "hN": 10.77.0.N or fd77::N.
func hostIP(h *lab.Host, v6 bool) string {
	n := strings.TrimPrefix(h.Name(), "h")
	if v6 {
		return "fd77::" + n
	}
	return "10.77.0." + n
}

func TestLabLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	before, err := lab.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before:\n%s", before)

	var (
		prefix string
		nss    []string
		pids   []int
	)
	ok := t.Run("topology", func(t *testing.T) {
		l := lab.New(t)
		prefix = l.Prefix()
		sw := l.Switch("lan")
		nss = append(nss, sw.NS())
		hosts := []*lab.Host{l.Host("h1"), l.Host("h2"), l.Host("h3")}
		for _, h := range hosts {
			nss = append(nss, h.NS())
			sw.Attach(h, "eth0")
			h.AddAddr("eth0", hostIP(h, false)+"/24")
			h.AddAddr("eth0", hostIP(h, true)+"/64")
		}
		t.Logf("lab %s: switch %s, hosts %s %s %s", prefix, sw.NS(), hosts[0].NS(), hosts[1].NS(), hosts[2].NS())
		if got := hosts[1].Addrs("eth0"); len(got) < 2 || got[0].String() != "10.77.0.2/24" {
			t.Fatalf("h2 eth0 addresses: %v", got)
		}
		if mac := hosts[0].LinkMAC("eth0"); len(mac) != 6 {
			t.Fatalf("h1 eth0 MAC: %v", mac)
		}

		// TCP between every pair, both ways, over IPv4 and IPv6 (no DAD wait).
		for _, h := range hosts {
			for _, v6 := range []bool{false, true} {
				addr := net.JoinHostPort(hostIP(h, v6), "5000")
				ln, err := h.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("%s: listen %s: %v", h.Name(), addr, err)
				}
				serve(t, h, ln)
			}
		}
		for _, h := range hosts {
			for _, peer := range hosts {
				if peer != h {
					exchange(t, h, peer, net.JoinHostPort(hostIP(peer, false), "5000"))
					exchange(t, h, peer, net.JoinHostPort(hostIP(peer, true), "5000"))
				}
			}
		}

		// Background processes, running in their host's namespace.
		for _, h := range hosts {
			p := h.Start("sleep", "300")
			pids = append(pids, p.PID())
			if !waitFor(5*time.Second, func() bool {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.PID()))
				return string(b) == "sleep\n"
			}) {
				t.Fatalf("%v: not running sleep", p)
			}
			if got, want := inode(t, fmt.Sprintf("/proc/%d/ns/net", p.PID())), inode(t, "/run/netns/"+h.NS()); got != want {
				t.Fatalf("%v: in namespace %d, want %d", p, got, want)
			}
			if p.Exited() {
				t.Fatalf("%v: exited: %v", p, p.Wait(0))
			}
		}
		hello := hosts[0].Start("sh", "-c", "echo hello; sleep 300")
		pids = append(pids, hello.PID())
		if !waitFor(5*time.Second, func() bool { return hello.Output() == "hello\n" }) {
			t.Fatalf("%v: output %q, want %q", hello, hello.Output(), "hello\n")
		}
		short := hosts[1].Start("sh", "-c", "echo bye; exit 3")
		if err := short.Wait(5 * time.Second); err == nil || short.ExitCode() != 3 {
			t.Fatalf("%v: wait: %v, exit code %d; want exit status 3", short, err, short.ExitCode())
		}

		// Commands.
		if out, err := hosts[0].Run("ping", "-c1", "-W1", "10.77.0.2"); err != nil {
			t.Fatal(err)
		} else if !strings.Contains(out, "1 received") {
			t.Fatalf("ping h1 -> h2: %s", out)
		}
		if _, err := hosts[0].Run("ping", "-c1", "-W1", "10.77.0.99"); err == nil {
			t.Fatal("ping of a missing address succeeded")
		}

		// A link failure: h3's cable goes down.
		hosts[2].SetLinkDown("eth0")
		start := time.Now()
		if c, err := hosts[0].DialTimeout("tcp", "10.77.0.3:5000", time.Second); err == nil {
			c.Close()
			t.Fatal("h1 -> h3 with h3's link down: dial succeeded")
		} else {
			t.Logf("h1 -> h3 with h3's link down: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("dial with 1 s timeout took %v", time.Since(start))
		}
		if c, err := hosts[2].DialTimeout("tcp", "10.77.0.1:5000", time.Second); err == nil {
			c.Close()
			t.Fatal("h3 -> h1 with h3's link down: dial succeeded")
		}
		hosts[2].SetLinkUp("eth0")
		if !waitFor(5*time.Second, func() bool {
			c, err := hosts[0].DialTimeout("tcp", "10.77.0.3:5000", time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		}) {
			t.Fatal("h1 -> h3 after the link came back: dial fails")
		}
	})
	if !ok {
		return
	}

	after, err := lab.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after:\n%s", after)
	added := after.Added(before)
	var newProcs []string
	for _, p := range added.Procs {
		newProcs = append(newProcs, fmt.Sprintf("%d:%s:%c", p.PID, p.Comm, p.State))
	}
	t.Logf("added since before: namespaces %q, root links %q, processes %v", added.Namespaces, added.RootLinks, newProcs)

	for _, ns := range after.Namespaces {
		if strings.HasPrefix(ns, prefix+"-") {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	for _, ns := range nss {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s still exists", ns)
		}
	}
	if len(added.RootLinks) > 0 {
		t.Errorf("root namespace gained interfaces %q", added.RootLinks)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("process %d still exists: kill(pid, 0) = %v", pid, err)
		}
		for _, p := range after.Procs {
			// A zombie waits for init to reap it: dead, no leak.
			if p.PGID == pid && p.State != 'Z' {
				t.Errorf("process %d (%s) of process group %d still exists", p.PID, p.Comm, pid)
			}
		}
	}
	t.Logf("checked: namespaces %q gone, processes %v gone", nss, pids)
}

func TestParallelLabsAreDistinct(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	var (
		mu       sync.Mutex
		prefixes = map[string]string{}
		nss      = map[string]string{}
	)
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				l := lab.New(t)
				a, b := l.Host("a"), l.Host("b") // same names in every lab
				l.Link(a, "eth0", b, "eth0")
				a.AddAddr("eth0", "10.78.0.1/24")
				b.AddAddr("eth0", "10.78.0.2/24")
				a.MustRun("ping", "-c1", "-W1", "10.78.0.2")
				p := b.Start("sleep", "300")
				mu.Lock()
				defer mu.Unlock()
				if other, dup := prefixes[l.Prefix()]; dup {
					t.Errorf("prefix %s also used by %s", l.Prefix(), other)
				}
				prefixes[l.Prefix()] = t.Name()
				for _, ns := range []string{a.NS(), b.NS()} {
					if other, dup := nss[ns]; dup {
						t.Errorf("namespace %s also used by %s", ns, other)
					}
					nss[ns] = t.Name()
				}
				t.Logf("lab %s: %s %s, %v", l.Prefix(), a.NS(), b.NS(), p)
			})
		}
	})
	if len(prefixes) != 4 || len(nss) != 8 {
		t.Fatalf("got %d prefixes and %d namespaces, want 4 and 8", len(prefixes), len(nss))
	}
}

func TestNewSweepsStaleNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	pidMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// A pid above pid_max never exists: the creator of "stale" is dead.
	stale := "cf" + strconv.FormatInt(int64(pidMax+1), 36) + "-0-stale" + strconv.Itoa(os.Getpid())
	// Our own pid is alive; "cf-..." does not have our name format.
	keep := "cf" + strconv.FormatInt(int64(os.Getpid()), 36) + "-zz-keep"
	foreign := "cf-foreign-" + strconv.Itoa(os.Getpid())
	for _, ns := range []string{keep, foreign} {
		if out, err := ipCmd("netns", "add", ns); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
		}
		t.Cleanup(func() { ipCmd("netns", "del", ns) })
	}
	// The stale namespace holds a process still running, as after SIGKILL
	// of a test binary whose children ignored it. The process enters it
	// under a name no sweeper matches; the stale name is attached only
	// then, since a concurrent test binary may sweep it at once.
	tmp := "cf-sweeptest-" + strconv.Itoa(os.Getpid())
	if out, err := ipCmd("netns", "add", tmp); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", tmp, err, out)
	}
	t.Cleanup(func() { ipCmd("netns", "del", tmp) })
	sleeper := exec.Command("ip", "netns", "exec", tmp, "sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	reaped := make(chan struct{})
	go func() {
		waitErr = sleeper.Wait()
		close(reaped)
	}()
	t.Cleanup(func() {
		sleeper.Process.Kill()
		<-reaped
	})
	if !waitFor(5*time.Second, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", sleeper.Process.Pid))
		return string(b) == "sleep\n"
	}) {
		t.Fatal("sleep did not start")
	}
	if out, err := ipCmd("netns", "attach", stale, strconv.Itoa(sleeper.Process.Pid)); err != nil {
		t.Fatalf("ip netns attach %s: %v: %s", stale, err, out)
	}
	t.Cleanup(func() { ipCmd("netns", "del", stale) })
	ipCmd("netns", "del", tmp)

	lab.New(t)

	if _, err := os.Stat("/run/netns/" + stale); err == nil {
		t.Errorf("stale namespace %s not deleted", stale)
	}
	for _, ns := range []string{keep, foreign} {
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			t.Errorf("namespace %s deleted: %v", ns, err)
		}
	}
	select {
	case <-reaped:
		t.Logf("process in the stale namespace: %v", waitErr)
	case <-time.After(5 * time.Second):
		t.Error("process in the stale namespace not killed")
	}
}

func ipCmd(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	return string(out), err
}
