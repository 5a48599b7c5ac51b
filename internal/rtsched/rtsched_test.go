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
