package lab

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where "ip netns" keeps named namespaces.
const netnsDir = "/run/netns"

// rootNS is the network namespace the process started in, opened while
// package initialisation runs on the main thread, before any Host.Do.
var rootNS, rootNSErr = netns.Get()

// State lists what exists on the machine, for leak checks: take one
// before and one after a test and compare with Added.
type State struct {
	// Namespaces holds the named network namespaces (/run/netns), sorted.
	Namespaces []string
	// RootLinks holds the interface names of the root network namespace
	// (the namespace the test process started in), sorted.
	RootLinks []string
	// Procs holds every process of the machine, sorted by PID.
	Procs []ProcEntry
}

// ProcEntry describes one process in a State.
type ProcEntry struct {
	PID  int
	PGID int
	Comm string
	// State is the state letter of /proc/<pid>/stat: 'R', 'S', 'Z'...
	State byte
}

// Snapshot lists the named network namespaces, the interfaces of the root
// namespace and the processes.
func Snapshot() (State, error) {
	var s State
	var err error
	if s.Namespaces, err = listNamespaces(); err != nil {
		return s, err
	}
	if s.RootLinks, err = listRootLinks(); err != nil {
		return s, err
	}
	if s.Procs, err = listProcs(); err != nil {
		return s, err
	}
	return s, nil
}

// Added returns what s holds and before does not. Processes are told
// apart by PID and command name.
func (s State) Added(before State) State {
	var d State
	for _, n := range s.Namespaces {
		if !slices.Contains(before.Namespaces, n) {
			d.Namespaces = append(d.Namespaces, n)
		}
	}
	for _, n := range s.RootLinks {
		if !slices.Contains(before.RootLinks, n) {
			d.RootLinks = append(d.RootLinks, n)
		}
	}
	type key struct {
		pid  int
		comm string
	}
	old := make(map[key]bool, len(before.Procs))
	for _, p := range before.Procs {
		old[key{p.PID, p.Comm}] = true
	}
	for _, p := range s.Procs {
		if !old[key{p.PID, p.Comm}] {
			d.Procs = append(d.Procs, p)
		}
	}
	return d
}

// String summarises the state on three lines; processes are counted, not
// listed.
func (s State) String() string {
	return fmt.Sprintf("namespaces (%d): %s\nroot links (%d): %s\nprocesses: %d",
		len(s.Namespaces), strings.Join(s.Namespaces, " "),
		len(s.RootLinks), strings.Join(s.RootLinks, " "), len(s.Procs))
}

// Alive reports whether a process with the given PID exists (zombies
// included), by kill(pid, 0).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func listNamespaces() ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: list namespaces: %w", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names, nil
}

func listRootLinks() ([]string, error) {
	if rootNSErr != nil {
		return nil, fmt.Errorf("lab: root namespace: %w", rootNSErr)
	}
	h, err := netlink.NewHandleAt(rootNS, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("lab: netlink in root namespace: %w", err)
	}
	defer h.Close()
	lns, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("lab: list root links: %w", err)
	}
	var names []string
	for _, ln := range lns {
		names = append(names, ln.Attrs().Name)
	}
	slices.Sort(names)
	return names, nil
}

// groupMembers returns the processes of process group pgid.
func groupMembers(pgid int) []ProcEntry {
	ps, err := listProcs()
	if err != nil {
		return nil
	}
	var members []ProcEntry
	for _, p := range ps {
		if p.PGID == pgid {
			members = append(members, p)
		}
	}
	return members
}

func listProcs() ([]ProcEntry, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("lab: list processes: %w", err)
	}
	var ps []ProcEntry
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		if p, ok := parseStat(pid, string(b)); ok {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b ProcEntry) int { return a.PID - b.PID })
	return ps, nil
}

// parseStat reads comm and the process group from /proc/<pid>/stat:
// "pid (comm) state ppid pgrp ...", where comm may hold spaces and ")".
func parseStat(pid int, stat string) (ProcEntry, bool) {
	open := strings.IndexByte(stat, '(')
	closing := strings.LastIndexByte(stat, ')')
	if open < 0 || closing < open {
		return ProcEntry{}, false
	}
	f := strings.Fields(stat[closing+1:])
	if len(f) < 3 || f[0] == "" {
		return ProcEntry{}, false
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return ProcEntry{}, false
	}
	return ProcEntry{PID: pid, PGID: pgid, Comm: stat[open+1 : closing], State: f[0][0]}, true
}
