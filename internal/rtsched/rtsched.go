// Package rtsched moves every thread of the calling process between
// the real-time round-robin class (SCHED_RR, sched(7)) and the normal
// one (SCHED_OTHER).
//
// A state-sync daemon sleeps until the kernel reports a connection, and
// what matters is how soon it runs then: in the normal class a task that
// wakes next to busy ones (the connection's own endpoints, the packet
// path's softirq work) often waits behind them, or is preempted halfway
// (bench/pfsync: about one involuntary switch per connection, and a
// replication lag twice conntrackd's). conntrackd avoids that by running
// in SCHED_RR at priority 99 unless configured otherwise
// (conntrackd.conf(5), Scheduler: "Using a RT scheduler reduces the
// chances to overrun the Netlink buffer"); pfsync on OpenBSD runs in the
// kernel's network stack.
//
// Linux keeps the scheduling policy per thread, and a Go program's
// threads come and go under the runtime: Set applies the class to every
// thread listed in /proc/self/task, and a thread created later inherits
// it from the thread that creates it (clone(2) copies the policy; the
// flag that would reset it, SCHED_RESET_ON_FORK, is not set, so a
// worker must not start other programs while raised).
package rtsched

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Class is a scheduling class with its static priority.
type Class struct {
	Policy   uint32 // unix.SCHED_RR or unix.SCHED_NORMAL (SCHED_OTHER)
	Priority uint32 // 1–99 for SCHED_RR, 0 for SCHED_NORMAL
}

// Normal is the class every process starts in.
var Normal = Class{Policy: unix.SCHED_NORMAL}

// RoundRobin returns the SCHED_RR class at priority prio (1–99).
func RoundRobin(prio int) (Class, error) {
	if prio < 1 || prio > 99 {
		return Class{}, fmt.Errorf("real-time priority %d out of range 1–99", prio)
	}
	return Class{Policy: unix.SCHED_RR, Priority: uint32(prio)}, nil
}

func (c Class) String() string {
	if c.Policy == unix.SCHED_RR {
		return "SCHED_RR " + strconv.Itoa(int(c.Priority))
	}
	return "SCHED_OTHER"
}

// Set puts every thread of the process in class c (sched_setattr(2)).
// A thread that ended meanwhile is skipped; any other refusal (EPERM
// without CAP_SYS_NICE, or a cgroup with no real-time budget) is
// returned, and the threads already moved stay moved: the caller falls
// back with Set(Normal), which never needs a privilege.
func Set(c Class) error {
	// Threads the runtime starts during a pass inherit the class of
	// their creator, which may not have been moved yet: pass again
	// until a pass finds no thread it had not seen (bounded).
	seen := map[int]bool{}
	for range 4 {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("scheduling class: %w", err)
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || seen[tid] {
				continue
			}
			seen[tid], fresh = true, true
			attr := unix.SchedAttr{Policy: c.Policy, Priority: c.Priority}
			if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("scheduling class %v: %w", c, err)
			}
		}
		if !fresh {
			break
		}
	}
	return nil
}

// Of returns the class of thread tid (0: the calling thread).
func Of(tid int) (Class, error) {
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return Class{}, err
	}
	return Class{Policy: attr.Policy, Priority: attr.Priority}, nil
}
