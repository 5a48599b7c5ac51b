package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"carpfw/internal/supervise"
	"carpfw/pfsync"
)

func newWorkerCmd(o *options) *cobra.Command {
	var supervised bool
	cmd := &cobra.Command{
		Use:   "worker [--supervise] pfsync0",
		Short: "run the pfsync worker in the foreground (for a service manager)",
		Long: `worker runs the pfsync worker in the foreground, logging to stderr, until
SIGTERM or "pfsyncctl pfsync0 destroy". With --supervise it runs a keeper
that restarts the worker when it dies (what pfsyncctl does when it detaches).`,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !pfsync.ValidName(name) {
				return fmt.Errorf("%s: not a pfsync interface name (pfsyncN)", name)
			}
			dir, err := o.dir()
			if err != nil {
				return err
			}
			busyProcs := 0
			if !supervised && os.Getenv("GOMAXPROCS") == "" {
				// One goroutine owns the state and the others mostly
				// wait in system calls: a second P only adds thread
				// wake-ups to every hand-off (bench/pfsync: CPU per
				// connection), except while busy (a bulk transfer, a burst of events).
				// GOMAXPROCS in the environment overrides.
				busyProcs = runtime.GOMAXPROCS(1)
			}
			rtprio, err := rtPriority()
			if err != nil {
				return err
			}
			run := func(ctx context.Context) error {
				w := pfsync.NewWorker(dir, name, os.Stderr)
				w.BusyProcs = busyProcs
				w.HugeHeap = pfsync.DefaultHugeHeap
				w.RTPriority = rtprio
				return w.Run(ctx)
			}
			return supervise.RunWorker(dir, name, supervised, run, nil)
		},
	}
	cmd.Flags().BoolVar(&supervised, "supervise", false, "run a keeper that restarts the worker when it dies")
	return cmd
}

// rtPriorityEnv overrides the worker's real-time priority; 0 keeps it in
// the normal scheduling class.
const rtPriorityEnv = "CARPFW_PFSYNC_RTPRIO"

func rtPriority() (int, error) {
	v, ok := os.LookupEnv(rtPriorityEnv)
	if !ok || v == "" {
		return pfsync.DefaultRTPriority, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 99 {
		return 0, fmt.Errorf("%s=%q: want 0 (normal scheduling) or a real-time priority 1-99", rtPriorityEnv, v)
	}
	return n, nil
}
