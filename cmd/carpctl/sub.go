package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"carpfw/carp"
	"carpfw/internal/cli"
	"carpfw/internal/ctl"
	"carpfw/internal/link"
	"carpfw/internal/netstart"
	"carpfw/internal/supervise"
	"carpfw/parser/hostnameif"
)

func newNetstartCmd(o *options) *cobra.Command {
	opts := netstart.Options{}
	cmd := &cobra.Command{
		Use:   "netstart [-n] [--dir dir] [carpN ...]",
		Short: "apply /etc/hostname.carpN files, as OpenBSD's netstart(8) does",
		Long: `netstart reads dir/hostname.carpN for the named interfaces (every such file when
none is named, in netstart's order: carp0, carp1, carp10, carp2) and applies
each line as carpctl parameters, after netstart's rewriting of inet and inet6
lines; "!command" lines run with $if replaced by the interface name. Every
line of a file is checked before the first is applied: a file with an error
names the file and line and changes nothing. A file without carpdev (the old
one-line form) gets the interface that has an address on the virtual
address's subnet, with a warning.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if !carp.ValidName(a) {
					return fmt.Errorf("%s: not a carp interface name (carpN)", a)
				}
			}
			dir, err := o.dir()
			if err != nil {
				return err
			}
			opts.Names, opts.Stdout, opts.Stderr = args, cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := netstart.Run(cmd.Context(), carpNetstart(dir), opts); err != nil {
				return cli.Exit(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "/etc", "read hostname.carpN files from `dir`")
	cmd.Flags().BoolVarP(&opts.DryRun, "noaction", "n", false, "print the commands instead of running them")
	return cmd
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
messages, default 2). Workers read them from /etc/sysctl.conf at start.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.Errorf("sysctl: not implemented yet")
		},
	}
}

func newStatsCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "stats [carpN]",
		Short: "show CARP counters, like netstat -s -p carp",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.Errorf("stats: not implemented yet")
		},
	}
}
