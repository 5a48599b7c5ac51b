package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// namePrefix starts every namespace name this package creates.
const namePrefix = "cf"

// stopGrace is how long clean-up waits after SIGTERM before SIGKILL.
const stopGrace = 2 * time.Second

// labCounter numbers the labs of this process.
var labCounter atomic.Uint64

// Lab is a set of hosts and switches (network namespaces) owned by one test.
// It is torn down by the test's clean-up.
type Lab struct {
	t      testing.TB
	prefix string
	tmp    string

	mu     sync.Mutex
	names  map[string]bool // full namespace names in use
	nss    []*Host         // hosts and switch namespaces, in creation order
	procs  []*Proc
	closed bool
}

// New returns an empty lab for t, or skips t when not running as root.
// It first deletes stale namespaces left by dead test processes, and
// registers a t.Cleanup that tears the lab down.
func New(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := ipPath(); err != nil {
		t.Fatalf("lab: %v", err)
	}
	l := &Lab{
		t: t,
		prefix: namePrefix + strconv.FormatInt(int64(os.Getpid()), 36) +
			"-" + strconv.FormatUint(labCounter.Add(1), 36),
		// TempDir before Cleanup: clean-ups run last-in first-out, so the
		// logs still exist when l.cleanup prints them.
		tmp:   t.TempDir(),
		names: make(map[string]bool),
	}
	for _, msg := range sweepStale() {
		t.Logf("lab: %s", msg)
	}
	t.Cleanup(l.cleanup)
	return l
}

// Prefix returns the lab's unique name prefix, such as "cf1k3f-2".
func (l *Lab) Prefix() string { return l.prefix }

// Hosts returns the lab's hosts in creation order (switches excluded).
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	var hs []*Host
	for _, h := range l.nss {
		if !h.isSwitch {
			hs = append(hs, h)
		}
	}
	return hs
}

// Procs returns every process started in the lab, in start order.
func (l *Lab) Procs() []*Proc {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.procs)
}

// cleanup stops the processes, reports their output when the test failed,
// and deletes the namespaces.
func (l *Lab) cleanup() {
	l.mu.Lock()
	l.closed = true
	procs := slices.Clone(l.procs)
	nss := slices.Clone(l.nss)
	l.mu.Unlock()

	for _, err := range stopProcs(procs, stopGrace) {
		l.t.Errorf("lab: %v", err)
	}
	if l.t.Failed() {
		for _, p := range procs {
			l.t.Logf("lab: host %s: %s (pid %d, %s) output:\n%s",
				p.host.name, p.name, p.pid, p.exitStatus(), p.Output())
		}
	}
	for _, h := range slices.Backward(nss) {
		if err := h.destroy(); err != nil {
			l.t.Errorf("lab: %v", err)
		}
	}
}

// addNS creates and records the namespace of a host or switch.
func (l *Lab) addNS(name string, isSwitch bool) *Host {
	l.t.Helper()
	what := "host"
	full := l.prefix + "-" + name
	if isSwitch {
		what = "switch"
		full = l.prefix + "-sw-" + name
	}
	if err := checkName(name); err != nil {
		l.t.Fatalf("lab: %s %q: %v", what, name, err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.t.Fatalf("lab: %s %s: lab already cleaned up", what, name)
	}
	if l.names[full] {
		l.mu.Unlock()
		l.t.Fatalf("lab: %s %s: namespace %s already exists in this lab", what, name, full)
	}
	l.names[full] = true
	l.mu.Unlock()

	h, err := newHost(l, name, full, isSwitch)
	if h != nil {
		l.mu.Lock()
		l.nss = append(l.nss, h)
		l.mu.Unlock()
	}
	if err != nil {
		l.t.Fatalf("lab: %s %s: %v", what, name, err)
	}
	return h
}

// checkName accepts host and switch names that make sane namespace names.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 64 {
		return errors.New("name longer than 64 characters")
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("character %q not allowed (use letters, digits, - _ .)", c)
		}
	}
	return nil
}

var (
	ipOnce sync.Once
	ipBin  string
	ipErr  error
)

// ipPath locates the iproute2 ip binary, also outside $PATH.
func ipPath() (string, error) {
	ipOnce.Do(func() {
		if p, err := exec.LookPath("ip"); err == nil {
			ipBin = p
			return
		}
		for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				ipBin = p
				return
			}
		}
		ipErr = errors.New("iproute2 ip binary not found")
	})
	return ipBin, ipErr
}
