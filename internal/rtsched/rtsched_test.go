package rtsched

import (
	"os"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// classes returns the class of every thread of the process.
func classes(t *testing.T) map[int]Class {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]Class{}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		if c, err := Of(tid); err == nil {
			out[tid] = c
		}
	}
	return out
}

// TestSetMovesEveryThreadAndBack: after Set(RR 7) every thread, and a
// thread started afterwards, is in SCHED_RR 7; after Set(Normal) every
// thread is back in SCHED_NORMAL.
func TestSetMovesEveryThreadAndBack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE)")
	}
	rr, err := RoundRobin(7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Set(Normal) })
	if err := Set(rr); err != nil {
		t.Fatalf("Set(%v): %v", rr, err)
	}
	// A goroutine locked to its thread while another is locked forces
	// the runtime to start a new thread: it inherits the class.
	done := make(chan Class)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c, err := Of(0)
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	if c := <-done; c != rr {
		t.Errorf("a thread of the raised process runs in %v, want %v", c, rr)
	}
	for tid, c := range classes(t) {
		if c != rr {
			t.Errorf("thread %d in %v after Set(%v)", tid, c, rr)
		}
	}
	if err := Set(Normal); err != nil {
		t.Fatalf("Set(Normal): %v", err)
	}
	for tid, c := range classes(t) {
		if c.Policy != unix.SCHED_NORMAL {
			t.Errorf("thread %d in %v after Set(Normal)", tid, c)
		}
	}
}

func TestRoundRobinRange(t *testing.T) {
	for _, p := range []int{0, -1, 100} {
		if _, err := RoundRobin(p); err == nil {
			t.Errorf("RoundRobin(%d) accepted", p)
		}
	}
	c, err := RoundRobin(99)
	if err != nil || c.String() != "SCHED_RR 99" {
		t.Errorf("RoundRobin(99) = %v, %v", c, err)
	}
}

// TestBackgroundStaysNormal: a goroutine in Background runs in the normal
// class while the rest of the process is in SCHED_RR, and a later Set
// does not move it.
func TestBackgroundStaysNormal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE)")
	}
	rr, err := RoundRobin(7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Set(Normal) })
	if err := Set(rr); err != nil {
		t.Fatalf("Set(%v): %v", rr, err)
	}
	check, checked := make(chan struct{}), make(chan Class)
	go func() {
		done, err := Background()
		defer done()
		if err != nil {
			t.Error(err)
		}
		for range check {
			c, _ := Of(0)
			checked <- c
		}
	}()
	for i := range 2 {
		check <- struct{}{}
		if c := <-checked; c != Normal {
			t.Errorf("check %d: the background thread runs in %v, want %v", i, c, Normal)
		}
		if err := Set(rr); err != nil { // must leave it alone
			t.Fatal(err)
		}
	}
	close(check)
	normal := 0
	for _, c := range classes(t) {
		if c == Normal {
			normal++
		}
	}
	if normal > 1 {
		t.Errorf("%d threads in the normal class besides the background one's, want none", normal-1)
	}
}
