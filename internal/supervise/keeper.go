package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Keeper runs a worker as its child and restarts it when it dies of a
// signal or exits non-zero. A worker that exits 0 (destroyed, or told to
// stop) ends the keeper too.
type Keeper struct {
	Argv []string  // the worker's command line
	Log  io.Writer // the keeper's own messages

	// Cleanup runs after every abnormal exit, before the restart: it must
	// undo what a dead worker may have left active in the kernel (a carp
	// worker's virtual addresses), so that the address is never active on
	// two hosts while the new worker waits, as BACKUP, for a master-down
	// interval.
	Cleanup func()

	// Backoff is the pause before a restart (default 1 s); Burst restarts
	// within Window (default 5 in 60 s) make the keeper give up.
	Backoff time.Duration
	Burst   int
	Window  time.Duration
}

// Run keeps the worker running until ctx ends (the worker then gets
// SIGTERM and Run waits for it), the worker exits 0, or it fails too often.
func (k *Keeper) Run(ctx context.Context) error {
	backoff, burst, window := k.Backoff, k.Burst, k.Window
	if backoff == 0 {
		backoff = time.Second
	}
	if burst == 0 {
		burst = 5
	}
	if window == 0 {
		window = time.Minute
	}
	var failures []time.Time
	for {
		err := k.runOnce(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(k.Log, "%s: worker died: %v\n", k.name(), err)
		if k.Cleanup != nil {
			k.Cleanup()
		}
		now := time.Now()
		failures = append(failures, now)
		for len(failures) > 0 && now.Sub(failures[0]) > window {
			failures = failures[1:]
		}
		if len(failures) >= burst {
			return fmt.Errorf("%s: worker died %d times in %v, giving up", k.name(), len(failures), window)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		fmt.Fprintf(k.Log, "%s: restarting worker\n", k.name())
	}
}

func (k *Keeper) name() string { return k.Argv[len(k.Argv)-1] }

// runOnce starts the worker and waits for it. The worker gets SIGTERM if
// the keeper itself dies (PR_SET_PDEATHSIG), so it can withdraw cleanly.
func (k *Keeper) runOnce(ctx context.Context) error {
	cmd := exec.Command(k.Argv[0], k.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitError(err)
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		return nil
	}
}

func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 0 {
		return nil
	}
	return err
}
