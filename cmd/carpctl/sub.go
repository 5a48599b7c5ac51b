package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"carpfw/carp"
	"carpfw/internal/cli"
)

func newNetstartCmd(o *options) *cobra.Command {
	var dir string
	var dry bool
	cmd := &cobra.Command{
		Use:   "netstart [-n] [--dir dir] [carpN ...]",
		Short: "apply /etc/hostname.carpN files, as OpenBSD's netstart(8) does",
		Long: `netstart reads dir/hostname.carpN for the named interfaces (every such file when
none is named, in netstart's order) and applies each line as carpctl
parameters; "!command" lines run with $if replaced by the interface name.
A file with an error names the file and line and changes nothing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if !carp.ValidName(a) {
					return fmt.Errorf("%s: not a carp interface name (carpN)", a)
				}
			}
			return cli.Errorf("netstart: not implemented yet")
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "/etc", "read hostname.carpN files from `dir`")
	cmd.Flags().BoolVarP(&dry, "noaction", "n", false, "print the commands instead of running them")
	return cmd
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
