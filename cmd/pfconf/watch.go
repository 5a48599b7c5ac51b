package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/spf13/cobra"

	"carpfw/internal/ctl"
	"carpfw/internal/nftload"
	"carpfw/internal/rundir"
	"carpfw/internal/supervise"
)

// newWorkerCmd is the hidden "worker" subcommand: the (if) watcher of
// this network namespace (nftload.Watcher), which pfconf -f starts,
// detached under a keeper, when the loaded ruleset has (if) addresses.
func newWorkerCmd() *cobra.Command {
	var supervised bool
	var dirFlag string
	cmd := &cobra.Command{
		Use:   "worker [--supervise] [--rundir dir] pfwatch",
		Short: "keep the loaded ruleset's (if) addresses current (started by pfconf -f)",
		Long: `worker runs the (if) watcher in the foreground, logging to stderr: on every
address, link or route change in the network namespace it rewrites the sets
of the ruleset's (if) addresses whose interfaces changed, as pf follows an
interface's addresses. pfconf -f starts it, detached, when the ruleset has
(if) addresses, and a load or flush that leaves none stops it. With
--supervise it runs a keeper that restarts it when it dies.`,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != nftload.WatcherName {
				return fmt.Errorf("%s: the watcher is named %s", args[0], nftload.WatcherName)
			}
			dir, err := rundir.Resolve(dirFlag)
			if err == nil {
				dir, err = rundir.Ensure(dir)
			}
			if err != nil {
				return err
			}
			run := func(ctx context.Context) error {
				w := &nftload.Watcher{Dir: dir, Log: log.New(os.Stderr, "", log.LstdFlags)}
				return w.Run(ctx)
			}
			return supervise.RunWorker(dir, nftload.WatcherName, supervised, run, nil)
		},
	}
	cmd.Flags().BoolVar(&supervised, "supervise", false, "run a keeper that restarts the worker when it dies")
	cmd.Flags().StringVar(&dirFlag, "rundir", "", "run directory (default: per network namespace under /run/carpfw)")
	return cmd
}

// followInterfaces tells this namespace's (if) watcher that the state
// file changed, starting it when the loaded ruleset has (if) sets; the
// watcher stops by itself when it has none left. A watcher that cannot
// start is a warning: the ruleset is loaded, with the addresses its
// interfaces had at load time.
func followInterfaces(cmd *cobra.Command, dir string, dynamic int) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var err error
	if dynamic > 0 {
		argv := supervise.WorkerArgv(dir, nftload.WatcherName, true)
		err = supervise.CallOrStart(ctx, dir, nftload.WatcherName, argv, nftload.OpReload, nil, nil)
	} else if err = ctl.Call(ctx, dir, nftload.WatcherName, nftload.OpReload, nil, nil); errors.Is(err, ctl.ErrNoWorker) {
		err = nil
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "pfconf: warning: (if) addresses will not follow interface changes: %v\n", err)
	}
}
