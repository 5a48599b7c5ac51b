package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// runTimeout bounds every command run to completion.
const runTimeout = 30 * time.Second

// command runs argv to completion and returns its combined output. The
// child runs in its own process group, gets SIGKILL if the test binary
// dies, and its whole group is killed after timeout.
//
// The fork happens on a fresh goroutine: such a goroutine is never locked
// to a thread, and parent-death signals follow the forking thread, which
// must therefore not be a thread that Go may discard (see Host.Do).
func command(timeout time.Duration, argv ...string) (string, error) {
	type result struct {
		out []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = stopGrace
		out, err := cmd.CombinedOutput()
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v: %w", timeout, err)
		}
		ch <- result{out, err}
	}()
	r := <-ch
	return string(r.out), r.err
}

// runIP runs the ip binary with args and folds its output into the error.
func runIP(args ...string) error {
	ip, err := ipPath()
	if err != nil {
		return err
	}
	out, err := command(runTimeout, append([]string{ip}, args...)...)
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out))
	}
	return nil
}

// killNamespacePIDs sends SIGKILL to every process living in the named
// namespace, such as daemons that a command run with Host.Run left behind.
func killNamespacePIDs(ns string) {
	ip, err := ipPath()
	if err != nil {
		return
	}
	out, err := command(runTimeout, ip, "netns", "pids", ns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		var pid int
		// Never ourselves: /proc/<pid>/ns/net shows the main thread's
		// namespace, which is the host's while Host.Do runs there.
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
