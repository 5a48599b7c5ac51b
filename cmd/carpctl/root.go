package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"carpfw/carp"
	"carpfw/internal/cli"
)

// options are carpctl's global flags.
type options struct {
	all    bool   // -a: every carp interface
	group  bool   // -g: the operand is an interface group
	json   bool   // --json
	rundir string // --rundir, else $CARPFW_RUNDIR, else /run/carpfw/<netns>
}

const usageText = `carpctl [--json] [--rundir dir] carpN [parameters]
  carpctl [--json] [--rundir dir] -a
  carpctl [--rundir dir] -g group [[-]carpdemote [n]]
  carpctl netstart [-n] [--dir dir] [carpN ...]
  carpctl sysctl [net.inet.carp.name[=value] ...]
  carpctl stats [carpN]`

const longText = `carpctl configures carp(4) interfaces with ifconfig(8)'s words and shows them
in ifconfig's format. Each carpN is a macvlan with the virtual MAC
00:00:5e:00:01:<vhid> on its carpdev, run by one worker process that speaks
OpenBSD's CARP; the first command that names carpN starts it.

Parameters, in any order (addresses are applied after the other words):
  vhid n            virtual host id, 1-255
  advbase n         advertisement interval base in seconds, 0-254 (default 1)
  advskew n         skew added to advbase in 1/256 s, 0-254 (default 0)
  pass passphrase   HMAC key; the first 19 bytes are used, as on OpenBSD
  carpdev iface     the parent Ethernet interface
  carppeer addr     send advertisements to this IPv4 unicast peer
  -carppeer         send them to 224.0.0.18 again
  state state       force backup or master once; the protocol continues
  balancing none    (load balancing modes are not supported on Linux)
  lladdr mac        override the virtual MAC (folded into the HMAC)
  description text, -description
  group name, -group name
  inet [alias|-alias|delete] addr[/len] [netmask mask] [broadcast addr]
  inet6 [alias|-alias|delete] addr[/len] [prefixlen n]
  up, down          down sends a bow-out advertisement first
  create, destroy

With no parameters carpctl prints the interface's status; -a prints every
carp interface. -g group shows the group's demotion counter, and carpdemote n
(default 1, at most 128) raises it on every carp interface of the group at
once; -carpdemote n lowers it.`

func newRootCmd() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:                   usageText,
		DisableFlagsInUseLine: true,
		Short:                 "configure carp(4) interfaces, like ifconfig(8)",
		Long:                  longText,
		Example: `  carpctl carp0 vhid 1 advskew 100 pass foo carpdev eth0 inet 10.0.0.1 255.255.255.0 10.0.0.255
  carpctl carp0 inet6 2001:db8::1/64
  carpctl carp0 state backup
  carpctl -g carp carpdemote 50
  carpctl -a --json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, &o, args)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	// ifconfig's operands follow its flags; words after the interface name
	// such as -carppeer are parameters, not flags.
	f.SetInterspersed(false)
	f.BoolVarP(&o.all, "all", "a", false, "show every carp interface")
	f.BoolVarP(&o.group, "group", "g", false, "the operand names an interface group (carpdemote)")
	f.BoolVar(&o.json, "json", false, "print status as JSON")
	cmd.PersistentFlags().StringVar(&o.rundir, "rundir", "", "worker sockets and state `dir` (default $CARPFW_RUNDIR or /run/carpfw/<netns>)")
	cmd.AddCommand(newNetstartCmd(&o), newSysctlCmd(&o), newStatsCmd(&o), newWorkerCmd(&o))
	return cmd
}

func run(cmd *cobra.Command, o *options, args []string) error {
	switch {
	case o.all:
		if len(args) > 0 {
			return fmt.Errorf("-a takes no operand")
		}
		return cli.Errorf("-a: the CARP worker is not implemented yet")
	case o.group:
		if len(args) == 0 {
			return fmt.Errorf("-g: group name expected")
		}
		req, err := carp.ParseGroupRequest(args[0], args[1:])
		if err != nil {
			return err
		}
		return cli.Errorf("-g %s: group demotion is not implemented yet", req.Group)
	case len(args) == 0:
		return fmt.Errorf("interface name expected; see carpctl --help")
	}
	req, err := carp.ParseRequest(args[0], args[1:])
	if err != nil {
		return err
	}
	return cli.Errorf("%s: the CARP worker is not implemented yet", req.Name)
}
