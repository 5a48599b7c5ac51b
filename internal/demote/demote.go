// Package demote keeps the interface-group demotion counters that OpenBSD
// holds in the kernel (struct ifg_group's ifg_carp_demoted, sys/net/if.c)
// and that every carp worker of a host must see at once.
//
// On Linux the workers are separate processes, so the counters live in
// files under the run directory of the network namespace:
//
//	<rundir>/demote/<group>     one line per contributor: "<source> <n>"
//
// A contributor is whoever raised the counter: "admin" for
// `carpctl -g G carpdemote N`, "carp0" for carp0's carpdev link going down,
// "pfsync0" for pfsync's +32 while its bulk update runs. A group's counter
// is the sum of its contributions, clamped to 0..255. Workers set their own
// contribution to an absolute value, so a restarted worker replaces what
// its predecessor left instead of adding to it. Writers hold an flock(2) on
// <rundir>/demote/.lock and replace the file by rename(2), so readers never
// see half a file. Readers learn about changes through inotify(7) (Watch)
// and a newly started worker simply reads the files.
package demote

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Max is the largest counter value; the demote byte of a CARP header.
const Max = 255

// Ledger is the set of group counters of one run directory.
type Ledger struct{ dir string }

// Open returns the ledger kept under rundir, creating its directory.
func Open(rundir string) (*Ledger, error) {
	dir := filepath.Join(rundir, "demote")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("demote: %w", err)
	}
	return &Ledger{dir: dir}, nil
}

// Dir is the directory that holds the group files (what Watch watches).
func (l *Ledger) Dir() string { return l.dir }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

func checkName(kind, s string) error {
	if !nameRE.MatchString(s) || s == "." || s == ".." {
		return fmt.Errorf("demote: invalid %s name %q", kind, s)
	}
	return nil
}

// Contributions returns every contribution to group, by source.
func (l *Ledger) Contributions(group string) (map[string]int, error) {
	if err := checkName("group", group); err != nil {
		return nil, err
	}
	return l.read(group)
}

// Group returns the counter of group: the sum of its contributions,
// clamped to 0..Max. A group nobody has demoted counts 0.
func (l *Ledger) Group(group string) (int, error) {
	c, err := l.Contributions(group)
	if err != nil {
		return 0, err
	}
	return clamp(sum(c)), nil
}

// Effective returns the demotion a carp interface in groups advertises:
// the sum of the groups' counters, capped at Max (carp_group_demote_count
// in sys/netinet/ip_carp.c).
func (l *Ledger) Effective(groups []string) (int, error) {
	total := 0
	for _, g := range groups {
		n, err := l.Group(g)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return min(total, Max), nil
}

// Set makes source's contribution to group exactly n (0 removes it).
func (l *Ledger) Set(group, source string, n int) error {
	if err := checkName("source", source); err != nil {
		return err
	}
	_, err := l.update(group, func(c map[string]int) error {
		c[source] = n
		return nil
	})
	return err
}

// Add changes source's contribution to group by delta and returns the
// group's new counter. Like the kernel's SIOCSIFGATTR it refuses a change
// that would take the counter outside 0..Max.
func (l *Ledger) Add(group, source string, delta int) (int, error) {
	if err := checkName("source", source); err != nil {
		return 0, err
	}
	return l.update(group, func(c map[string]int) error {
		if t := sum(c) + delta; t < 0 || t > Max {
			return fmt.Errorf("demote: group %s: counter would be %d, outside 0..%d", group, t, Max)
		}
		c[source] += delta
		return nil
	})
}

// update runs fn on group's contributions under the ledger lock and
// writes the result back.
func (l *Ledger) update(group string, fn func(map[string]int) error) (int, error) {
	if err := checkName("group", group); err != nil {
		return 0, err
	}
	lock, err := os.OpenFile(filepath.Join(l.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, fmt.Errorf("demote: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return 0, fmt.Errorf("demote: lock: %w", err)
	}
	c, err := l.read(group)
	if err != nil {
		return 0, err
	}
	if err := fn(c); err != nil {
		return 0, err
	}
	return clamp(sum(c)), l.write(group, c)
}

func (l *Ledger) read(group string) (map[string]int, error) {
	c := map[string]int{}
	b, err := os.ReadFile(filepath.Join(l.dir, group))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("demote: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		src, val, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(val)
		if !ok || err != nil {
			continue // a line this version does not understand
		}
		c[src] = n
	}
	return c, nil
}

func (l *Ledger) write(group string, c map[string]int) error {
	srcs := make([]string, 0, len(c))
	for s, n := range c {
		if n != 0 {
			srcs = append(srcs, s)
		}
	}
	sort.Strings(srcs)
	var b bytes.Buffer
	for _, s := range srcs {
		fmt.Fprintf(&b, "%s %d\n", s, c[s])
	}
	tmp, err := os.CreateTemp(l.dir, "."+group+".*")
	if err != nil {
		return fmt.Errorf("demote: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("demote: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("demote: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("demote: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(l.dir, group)); err != nil {
		return fmt.Errorf("demote: %w", err)
	}
	return nil
}

func sum(c map[string]int) int {
	t := 0
	for _, n := range c {
		t += n
	}
	return t
}

func clamp(n int) int { return max(0, min(n, Max)) }
