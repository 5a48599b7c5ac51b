package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// procCounter numbers log files.
var procCounter atomic.Uint64

// StartOptions tunes Host.StartWith.
type StartOptions struct {
	// Env holds "KEY=value" entries added to the test's environment.
	Env []string
	// Dir is the working directory; empty means the test's.
	Dir string
}

// Proc is a program running in the background inside a host.
type Proc struct {
	host    *Host
	name    string
	args    []string
	pid     int
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process is reaped
	err     error         // Wait's result, set before done is closed
}

// Start starts name with args in the background inside the host, through
// "ip netns exec", which executes the program in place: the recorded PID
// is the program's own. Standard output and error go to a log file in the
// test's temporary directory. The process leads its own process group and
// gets SIGKILL if the test binary dies. It fails the test on error.
func (h *Host) Start(name string, args ...string) *Proc {
	h.lab.t.Helper()
	return h.StartWith(StartOptions{}, name, args...)
}

// StartWith is Start with options.
func (h *Host) StartWith(opts StartOptions, name string, args ...string) *Proc {
	h.lab.t.Helper()
	p, err := h.start(opts, name, args)
	if err != nil {
		h.fatalf("start %s: %v", name, err)
	}
	return p
}

func (h *Host) start(opts StartOptions, name string, args []string) (*Proc, error) {
	ip, err := ipPath()
	if err != nil {
		return nil, err
	}
	l := h.lab
	logPath := filepath.Join(l.tmp, fmt.Sprintf("%s-%s-%d.log",
		h.name, filepath.Base(name), procCounter.Add(1)))
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child holds its own copy

	cmd := exec.Command(ip, append([]string{"netns", "exec", h.ns, name}, args...)...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Dir = opts.Dir
	if len(opts.Env) > 0 {
		cmd.Env = append(os.Environ(), opts.Env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{host: h, name: name, args: args, logPath: logPath, cmd: cmd, done: make(chan struct{})}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("lab already cleaned up")
	}
	// Fork from a fresh goroutine, which no LockOSThread holds: the
	// parent-death signal fires when the forking thread exits.
	errc := make(chan error, 1)
	go func() { errc <- cmd.Start() }()
	if err := <-errc; err != nil {
		return nil, err
	}
	p.pid = cmd.Process.Pid
	l.procs = append(l.procs, p)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID returns the process id, which is also its process group id.
func (p *Proc) PID() int { return p.pid }

// Host returns the host the process runs in.
func (p *Proc) Host() *Host { return p.host }

// String describes the process as "h1: sleep 300 (pid 1234)".
func (p *Proc) String() string {
	return fmt.Sprintf("%s: %s (pid %d)", p.host.name,
		strings.Join(append([]string{p.name}, p.args...), " "), p.pid)
}

// Signal sends sig to the process (not to its group). It returns
// os.ErrProcessDone once the process has exited.
func (p *Proc) Signal(sig os.Signal) error {
	return p.cmd.Process.Signal(sig)
}

// Term sends SIGTERM to the process.
func (p *Proc) Term() error { return p.Signal(syscall.SIGTERM) }

// Kill sends SIGKILL to the process's whole process group. It is not an
// error if everything already exited.
func (p *Proc) Kill() error {
	err := syscall.Kill(-p.pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("lab: %v: kill: %w", p, err)
	}
	return nil
}

// Exited reports whether the process has exited (and was reaped).
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to exit. It returns nil for a
// zero exit status, an error wrapping *exec.ExitError for another exit,
// and an error if the process is still running after timeout.
func (p *Proc) Wait(timeout time.Duration) error {
	if !p.waitUntil(time.Now().Add(timeout)) {
		return fmt.Errorf("lab: %v: still running after %v", p, timeout)
	}
	if p.err != nil {
		return fmt.Errorf("lab: %v: %w", p, p.err)
	}
	return nil
}

// ExitCode returns the exit code, -1 while running or when killed by a
// signal.
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitUntil waits for the process to be reaped, up to deadline.
func (p *Proc) waitUntil(deadline time.Time) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		return false
	}
}

// exitStatus describes the process state for logs.
func (p *Proc) exitStatus() string {
	if !p.Exited() {
		return "running"
	}
	if p.err != nil {
		return p.err.Error()
	}
	return "exit status 0"
}

// Output returns what the process wrote so far to standard output and
// standard error.
func (p *Proc) Output() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return string(b)
}

// LogPath returns the path of the process's log file.
func (p *Proc) LogPath() string { return p.logPath }

// stopProcs sends SIGTERM to every running process, waits up to grace,
// SIGKILLs every process group, and waits for the processes to be reaped.
func stopProcs(procs []*Proc, grace time.Duration) []error {
	for _, p := range procs {
		if !p.Exited() {
			_ = p.Term()
		}
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		p.waitUntil(deadline)
	}
	// Every group, even of exited leaders: children may linger in it.
	for _, p := range procs {
		_ = p.Kill()
	}
	var errs []error
	deadline = time.Now().Add(grace)
	for _, p := range procs {
		if !p.waitUntil(deadline) {
			errs = append(errs, fmt.Errorf("%v: still running after SIGKILL", p))
		} else if err := p.waitGroupGone(deadline); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// waitGroupGone waits, up to deadline, until no live process is left in
// the process's group. Members that outlived the leader were reparented;
// once dead they stay zombies until init reaps them, which is no leak.
func (p *Proc) waitGroupGone(deadline time.Time) error {
	var live []string
	for range 1000 {
		if err := syscall.Kill(-p.pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		live = live[:0]
		for _, m := range groupMembers(p.pid) {
			if m.State != 'Z' {
				live = append(live, fmt.Sprintf("%d (%s)", m.PID, m.Comm))
			}
		}
		if len(live) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(live) > 0 {
		return fmt.Errorf("%v: process group still has %s after SIGKILL", p, strings.Join(live, ", "))
	}
	return nil
}
