package supervise

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"carpfw/internal/ctl"
)

// startTimeout bounds how long a ctl tool waits for a new worker.
const startTimeout = 10 * time.Second

// StartWorker starts the keeper of ifname, detached, with argv (which must
// end in ifname), and returns once the worker answers on its socket.
func StartWorker(dir, ifname string, argv []string) error {
	ready := func() bool {
		c, err := net.Dial("unix", ctl.SocketPath(dir, ifname))
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	return Detach(argv, ctl.LogPath(dir, ifname), ready, startTimeout)
}

// CallOrStart sends a request to ifname's worker, starting the worker
// first (through argv) if none runs.
func CallOrStart(ctx context.Context, dir, ifname string, argv []string, op string, body, out any) error {
	err := ctl.Call(ctx, dir, ifname, op, body, out)
	if !errors.Is(err, ctl.ErrNoWorker) {
		return err
	}
	if err := StartWorker(dir, ifname, argv); err != nil {
		return err
	}
	return ctl.Call(ctx, dir, ifname, op, body, out)
}

// SignalContext returns a context that ends on SIGTERM or SIGINT, for
// workers and keepers.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

// WritePID records the running process in path; the file is removed by
// the returned function.
func WritePID(path string) (func(), error) {
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// WorkerArgv is the command line that runs ifname's worker with this
// executable's hidden "worker" subcommand: under a keeper when supervised
// (what a ctl tool starts), else the worker itself (what the keeper, or a
// service manager, runs).
func WorkerArgv(dir, ifname string, supervised bool) []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	argv := []string{exe, "worker", "--rundir", dir}
	if supervised {
		argv = append(argv, "--supervise")
	}
	return append(argv, ifname)
}

// RunWorker is the hidden "worker" subcommand of the ctl tools: it runs
// ifname's worker (run) in the foreground until SIGTERM or SIGINT or, when
// supervised, a keeper that starts this executable's worker, restarts it
// when it dies and calls cleanup (may be nil) after every crash.
func RunWorker(dir, ifname string, supervised bool, run func(ctx context.Context) error, cleanup func()) error {
	ctx, cancel := SignalContext()
	defer cancel()
	if !supervised {
		stop := startProfile(ifname)
		defer stop()
		return run(ctx)
	}
	done, err := WritePID(ctl.PIDPath(dir, ifname))
	if err != nil {
		return err
	}
	defer done()
	k := &Keeper{Argv: WorkerArgv(dir, ifname, false), Log: os.Stderr, Cleanup: cleanup}
	return k.Run(ctx)
}
