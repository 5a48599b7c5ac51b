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
	"carpfw/internal/demote"
	"carpfw/internal/rundir"
	"carpfw/internal/supervise"
)

// options are carpctl's global flags.
type options struct {
	all    bool   // -a: every carp interface
	group  bool   // -g: the operand is an interface group
	json   bool   // --json
	rundir string // --rundir, else $CARPFW_RUNDIR, else /run/carpfw/<netns>
}

// dir resolves and creates the run directory.
func (o *options) dir() (string, error) {
	d, err := rundir.Resolve(o.rundir)
	if err != nil {
		return "", err
	}
	return rundir.Ensure(d)
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
OpenBSD's CARP; the first command that configures carpN starts it, detached,
under a keeper that restarts it if it dies.

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
once; -carpdemote n lowers it.

Workers of one network namespace share a run directory, /run/carpfw/<netns>
by default, so "ip netns exec h1 carpctl carp0" and "ip netns exec h2 carpctl
carp0" reach different workers.`

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
			return run(cmd.Context(), cmd.OutOrStdout(), &o, args)
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

func run(ctx context.Context, out io.Writer, o *options, args []string) error {
	switch {
	case o.all:
		if len(args) > 0 {
			return fmt.Errorf("-a takes no operand")
		}
		return showAll(ctx, out, o)
	case o.group:
		if len(args) == 0 {
			return fmt.Errorf("-g: group name expected")
		}
		return groupDemote(out, o, args[0], args[1:])
	case len(args) == 0:
		return fmt.Errorf("interface name expected; see carpctl --help")
	}
	req, err := carp.ParseRequest(args[0], args[1:])
	if err != nil {
		return err
	}
	dir, err := o.dir()
	if err != nil {
		return err
	}
	var st carp.Status
	if req.IsEmpty() || req.Has("destroy") {
		// Showing or destroying an interface never creates it.
		err = ctl.Call(ctx, dir, req.Name, carp.OpConfigure, req, &st)
		if errors.Is(err, ctl.ErrNoWorker) {
			return fmt.Errorf("%s: no such interface", req.Name)
		}
	} else {
		err = supervise.CallOrStart(ctx, dir, req.Name, supervise.WorkerArgv(dir, req.Name, true), carp.OpConfigure, req, &st)
	}
	if err != nil || !req.IsEmpty() {
		return err
	}
	return printStatus(out, o, []carp.Status{st})
}

func showAll(ctx context.Context, out io.Writer, o *options) error {
	dir, err := o.dir()
	if err != nil {
		return err
	}
	names, err := ctl.Workers(dir, "carp")
	if err != nil {
		return err
	}
	var all []carp.Status
	for _, n := range names {
		var st carp.Status
		if err := ctl.Call(ctx, dir, n, carp.OpStatus, nil, &st); err != nil {
			if errors.Is(err, ctl.ErrNoWorker) {
				continue // a socket left by a crashed worker
			}
			return err
		}
		all = append(all, st)
	}
	return printStatus(out, o, all)
}

func printStatus(out io.Writer, o *options, sts []carp.Status) error {
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if len(sts) == 1 && !o.all {
			return enc.Encode(sts[0])
		}
		return enc.Encode(sts)
	}
	for _, st := range sts {
		carp.WriteIfconfig(out, st)
	}
	return nil
}

// groupDemote implements "-g group [[-]carpdemote [n]]".
func groupDemote(out io.Writer, o *options, group string, words []string) error {
	req, err := carp.ParseGroupRequest(group, words)
	if err != nil {
		return err
	}
	dir, err := o.dir()
	if err != nil {
		return err
	}
	l, err := demote.Open(dir)
	if err != nil {
		return err
	}
	if req.Delta != 0 {
		_, err := l.Add(req.Group, "admin", req.Delta)
		return err
	}
	n, err := l.Group(req.Group)
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(out).Encode(map[string]any{"group": req.Group, "demote": n})
	}
	fmt.Fprintf(out, "%s: carp demote count %d\n", req.Group, n)
	return nil
}
