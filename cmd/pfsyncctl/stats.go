package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"carpfw/internal/ctl"
	"carpfw/pfsync"
)

func newStatsCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats [--json] [pfsync0]",
		Short: "show pfsync counters, like netstat -s -p pfsync",
		Long: `stats prints the counters of the pfsync worker as OpenBSD's netstat -s -p pfsync
does (packets received and why some were dropped, packets sent), then this
implementation's own: states in the table, the bulk update and the carp
demotion it holds, records sent per action, conntrack events and the
reconciliations that repaired missed ones.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "pfsync0"
			if len(args) == 1 {
				name = args[0]
			}
			if !pfsync.ValidName(name) {
				return fmt.Errorf("%s: not a pfsync interface name (pfsyncN)", name)
			}
			dir, err := o.dir()
			if err != nil {
				return err
			}
			var st pfsync.Stats
			if err := ctl.Call(cmd.Context(), dir, name, pfsync.OpStats, nil, &st); errors.Is(err, ctl.ErrNoWorker) {
				return fmt.Errorf("%s: no such interface", name)
			} else if err != nil {
				return err
			}
			if o.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			pfsync.WriteNetstat(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print the counters as JSON")
	return cmd
}
