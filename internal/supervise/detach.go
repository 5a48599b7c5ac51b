// Package supervise starts workers detached from the ctl tool that needs
// them and keeps them running.
//
// The process tree of one pseudo-interface started by a ctl tool is
//
//	carpctl carp0 vhid 1 ...            exits once the worker answers
//	└─ carpctl worker --supervise carp0  the keeper: new session, no tty
//	   └─ carpctl worker carp0           the worker: sockets, netlink
//
// Under a service manager the manager plays the keeper's part and runs
// "carpctl worker carp0" in the foreground.
package supervise

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// readyPoll is how often Detach asks whether the worker is ready: a
// worker answers some 50 ms after its keeper starts, and every
// millisecond of waiting is one more before, say, a bulk update starts.
const readyPoll = 2 * time.Millisecond

// Detach starts argv in a new session with stdin from /dev/null and its
// output appended to logPath, then waits until ready reports true. On
// timeout, or when the process exits first, it returns an error that
// quotes the end of the log.
func Detach(argv []string, logPath string, ready func() bool, timeout time.Duration) error {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("worker log: %w", err)
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ready() {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("worker exited (%v)%s", err, logTail(logPath))
		case <-time.After(readyPoll):
		}
	}
	return fmt.Errorf("worker did not start within %v%s", timeout, logTail(logPath))
}

// logTail returns the last lines of a log for an error message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return ": " + string(b)
}
