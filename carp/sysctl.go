package carp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"carpfw/internal/ctl"
)

// Sysctl holds the net.inet.carp variables of OpenBSD (carp.md §3.7) that
// carp workers honour. On Linux they are not kernel variables: workers read
// them from sysctl.conf(5)-style files at start and when carpctl sysctl
// changes them.
type Sysctl struct {
	Allow   bool `json:"allow"`   // net.inet.carp.allow: process incoming advertisements
	Preempt bool `json:"preempt"` // net.inet.carp.preempt: a faster backup takes over
	Log     int  `json:"log"`     // net.inet.carp.log: syslog priorities up to this are logged
}

// DefaultSysctl is OpenBSD's default: allow 1, preempt 0, log 2 (LOG_CRIT).
func DefaultSysctl() Sysctl { return Sysctl{Allow: true, Log: int(LogCrit)} }

// SysctlNames are the variables, in the order carpctl sysctl prints them.
var SysctlNames = []string{"net.inet.carp.allow", "net.inet.carp.log", "net.inet.carp.preempt"}

// Get returns the value of name as sysctl(8) prints it.
func (s Sysctl) Get(name string) (string, error) {
	switch name {
	case "net.inet.carp.allow":
		return b01(s.Allow), nil
	case "net.inet.carp.preempt":
		return b01(s.Preempt), nil
	case "net.inet.carp.log":
		return strconv.Itoa(s.Log), nil
	}
	return "", fmt.Errorf("%s: unknown variable (one of %s)", name, strings.Join(SysctlNames, ", "))
}

// Set changes name to value, with sysctl(8)'s range checks.
func (s *Sysctl) Set(name, value string) error {
	n, err := strconv.Atoi(value)
	if err != nil {
		return fmt.Errorf("%s: %s: invalid value", name, value)
	}
	switch name {
	case "net.inet.carp.allow", "net.inet.carp.preempt":
		if n != 0 && n != 1 {
			return fmt.Errorf("%s: %s: value must be 0 or 1", name, value)
		}
		if name == "net.inet.carp.allow" {
			s.Allow = n == 1
		} else {
			s.Preempt = n == 1
		}
	case "net.inet.carp.log":
		if n < 0 || n > 7 {
			return fmt.Errorf("%s: %s: value must be 0..7", name, value)
		}
		s.Log = n
	default:
		_, err := s.Get(name)
		return err
	}
	return nil
}

// Read applies the net.inet.carp lines of a sysctl.conf(5) file to
// s; other variables and comments are skipped. A bad line is an error
// naming the file and line; the lines before it stay applied.
func (s *Sysctl) Read(name string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		k = strings.TrimSpace(k)
		if !ok || !strings.HasPrefix(k, "net.inet.carp.") {
			continue
		}
		if err := s.Set(k, strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}

// LoadSysctl returns the defaults overridden by each existing file in turn.
func LoadSysctl(paths ...string) (Sysctl, error) {
	s := DefaultSysctl()
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return s, err
		}
		err = s.Read(p, f)
		f.Close()
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// SysctlCommand is carpctl sysctl: with no args it returns every
// variable as "name=value"; names return their values; "name=value" args
// set them in the run directory's carp.sysctl, after which every running
// carp worker of dir rereads its settings. Nothing is written if any
// argument is bad.
func SysctlCommand(ctx context.Context, dir string, args []string) ([]string, error) {
	s, err := LoadSysctl("/etc/sysctl.conf", SysctlPath(dir))
	if err != nil {
		return nil, err
	}
	names, set := args, false
	if len(names) == 0 {
		names = SysctlNames
	}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			if err := s.Set(k, v); err != nil {
				return nil, err
			}
			set = true
		} else if _, err := s.Get(a); err != nil {
			return nil, err
		}
	}
	if set {
		var b strings.Builder
		for _, n := range SysctlNames {
			v, _ := s.Get(n)
			fmt.Fprintf(&b, "%s=%s\n", n, v)
		}
		if err := os.WriteFile(SysctlPath(dir), []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		workers, _ := ctl.Workers(dir, "carp")
		for _, w := range workers {
			if err := ctl.Call(ctx, dir, w, OpSysctl, nil, nil); err != nil && !errors.Is(err, ctl.ErrNoWorker) {
				return nil, err
			}
		}
	}
	var out []string
	for _, a := range names {
		k, _, _ := strings.Cut(a, "=")
		v, _ := s.Get(k)
		out = append(out, k+"="+v)
	}
	return out, nil
}
