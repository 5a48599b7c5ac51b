package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"carpfw/carp"
	"carpfw/internal/ctl"
	"carpfw/internal/link"
	"carpfw/internal/netstart"
	"carpfw/internal/supervise"
	"carpfw/parser/hostnameif"
)

func newNetstartCmd(o *options) *cobra.Command {
	checkName := func(name string) error {
		if !carp.ValidName(name) {
			return fmt.Errorf("%s: not a carp interface name (carpN)", name)
		}
		return nil
	}
	return netstart.Command("netstart [-n] [--dir dir] [carpN ...]",
		"apply /etc/hostname.carpN files, as OpenBSD's netstart(8) does",
		`netstart reads dir/hostname.carpN for the named interfaces (every such file when
none is named, in netstart's order: carp0, carp1, carp10, carp2) and applies
each line as carpctl parameters, after netstart's rewriting of inet and inet6
lines; "!command" lines run with $if replaced by the interface name. Every
line of a file is checked before the first is applied: a file with an error
names the file and line and changes nothing. A file without carpdev (the old
one-line form) gets the interface that has an address on the virtual
address's subnet, with a warning.`, "carp", checkName, o.dir, carpNetstart)
}

// carpNetstart adapts netstart to carp interfaces in run directory dir.
func carpNetstart(dir string) netstart.Driver {
	return netstart.Driver{
		Prog:   "carpctl",
		Prefix: "carp",
		Check: func(ctx context.Context, file, ifname string, lines []hostnameif.Line) ([]hostnameif.Line, []string, error) {
			cfg := carp.NewConfig(ifname)
			var st carp.Status
			switch err := ctl.Call(ctx, dir, ifname, carp.OpStatus, nil, &st); {
			case err == nil:
				cfg = st.Config
			case !errors.Is(err, ctl.ErrNoWorker):
				return nil, nil, err
			}
			return carp.CheckLines(cfg, file, lines, link.Exists, link.OnSubnet)
		},
		Apply: func(ctx context.Context, ifname string, words []string) error {
			req, err := carp.ParseRequest(ifname, words)
			if err != nil {
				return err
			}
			return supervise.CallOrStart(ctx, dir, ifname, supervise.WorkerArgv(dir, ifname, true), carp.OpConfigure, req, nil)
		},
	}
}

func newSysctlCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "sysctl [net.inet.carp.name[=value] ...]",
		Short: "show or set net.inet.carp.allow, preempt and log",
		Long: `sysctl shows or sets the CARP variables OpenBSD keeps under net.inet.carp:
allow (process incoming advertisements, default 1), preempt (a backup with a
faster advertisement takes over, default 0) and log (syslog level of
messages, default 2). Workers read them from /etc/sysctl.conf, then from the
run directory's carp.sysctl, which this command writes; every running carp
worker of the namespace takes a change at once.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := o.dir()
			if err != nil {
				return err
			}
			return carpSysctl(cmd.Context(), cmd.OutOrStdout(), dir, args)
		},
	}
}

// carpSysctl shows names (all when none) or sets name=value pairs.
func carpSysctl(ctx context.Context, out io.Writer, dir string, args []string) error {
	lines, err := carp.SysctlCommand(ctx, dir, args)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return err
}

func newStatsCmd(o *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats [carpN]",
		Short: "show CARP counters, like netstat -s -p carp",
		Long: `stats prints the counters of carpN, or their sum over every carp interface of
the namespace, in the layout of OpenBSD's netstat -s -p carp.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := o.dir()
			if err != nil {
				return err
			}
			names := args
			if len(names) == 0 {
				names, _ = ctl.Workers(dir, "carp")
			}
			var sum carp.Stats
			for _, n := range names {
				var st carp.Stats
				if err := ctl.Call(cmd.Context(), dir, n, carp.OpStats, nil, &st); err != nil {
					if errors.Is(err, ctl.ErrNoWorker) && len(args) == 0 {
						continue
					}
					if errors.Is(err, ctl.ErrNoWorker) {
						return fmt.Errorf("%s: no such interface", n)
					}
					return err
				}
				sum = sum.Add(st)
			}
			if asJSON || o.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(sum)
			}
			carp.WriteNetstat(cmd.OutOrStdout(), sum)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counters as JSON")
	return cmd
}
