package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"carpfw/carp"
	"carpfw/internal/supervise"
)

func newWorkerCmd(o *options) *cobra.Command {
	var supervised bool
	cmd := &cobra.Command{
		Use:   "worker [--supervise] carpN",
		Short: "run the CARP worker for carpN in the foreground (for a service manager)",
		Long: `worker runs the CARP worker of carpN in the foreground, logging to stderr, until
SIGTERM or "carpctl carpN destroy". With --supervise it runs a keeper that
starts the worker, and after a crash withdraws the virtual addresses the dead
worker left and starts it again (what carpctl does when it detaches).`,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !carp.ValidName(name) {
				return fmt.Errorf("%s: not a carp interface name (carpN)", name)
			}
			dir, err := o.dir()
			if err != nil {
				return err
			}
			run := func(ctx context.Context) error { return carp.NewWorker(dir, name, os.Stderr).Run(ctx) }
			return supervise.RunWorker(dir, name, supervised, run, func() {
				if err := carp.RemoveVirtualAddrs(name); err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&supervised, "supervise", false, "run a keeper that restarts the worker when it dies")
	return cmd
}
