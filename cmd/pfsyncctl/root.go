package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"carpfw/internal/ctl"
	"carpfw/internal/link"
	"carpfw/internal/netstart"
	"carpfw/internal/rundir"
	"carpfw/internal/supervise"
	"carpfw/parser/hostnameif"
	"carpfw/pfsync"
)

// options are pfsyncctl's global flags.
type options struct {
	json   bool
	rundir string
}

func (o *options) dir() (string, error) {
	d, err := rundir.Resolve(o.rundir)
	if err != nil {
		return "", err
	}
	return rundir.Ensure(d)
}

const usageText = `pfsyncctl [--json] [--rundir dir] pfsync0 [parameters]
  pfsyncctl netstart [-n] [--dir dir] [pfsync0]
  pfsyncctl stats [pfsync0]`

const longText = `pfsyncctl configures pfsync(4) with ifconfig(8)'s words and shows it in
ifconfig's format. A worker process replicates the Linux conntrack table to
the peer firewalls over OpenBSD's pfsync protocol (version 6) and applies the
states they send; the first command that configures pfsync0 starts it,
detached, under a keeper that restarts it if it dies.

Parameters, in any order:
  syncdev iface     send and receive on iface (syncif is the old spelling)
  -syncdev          unset it (-syncif)
  syncpeer addr     send to this IPv4 unicast peer instead of 224.0.0.240
  -syncpeer         send to 224.0.0.240 again
  maxupd n          TCP updates of one state collapsed before a send, 0-255
                    (default 128)
  defer, -defer     hold a state's first packet until a peer acknowledges it
  up, down          up needs a syncdev; while it is up syncdev and syncpeer
                    cannot change
  create, destroy

While pfsync0 is up and its bulk update from the peer is pending, the carp
group is demoted by 32 (and by 1 while the syncdev link is down), so this
host does not take over before it has the states.`

func newRootCmd() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:                   usageText,
		DisableFlagsInUseLine: true,
		Short:                 "configure pfsync(4) state replication, like ifconfig(8)",
		Long:                  longText,
		Example: `  pfsyncctl pfsync0 syncdev eth2 up
  pfsyncctl pfsync0 syncpeer 10.0.0.2 maxupd 64
  pfsyncctl pfsync0
  pfsyncctl netstart`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), cmd.OutOrStdout(), &o, args)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // -syncpeer after the name is a parameter
	f.BoolVar(&o.json, "json", false, "print status as JSON")
	cmd.PersistentFlags().StringVar(&o.rundir, "rundir", "", "worker sockets and state `dir` (default $CARPFW_RUNDIR or /run/carpfw/<netns>)")
	cmd.AddCommand(newNetstartCmd(&o), newStatsCmd(&o), newWorkerCmd(&o))
	return cmd
}

func run(ctx context.Context, out io.Writer, o *options, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("interface name expected; see pfsyncctl --help")
	}
	req, err := pfsync.ParseRequest(args[0], args[1:])
	if err != nil {
		return err
	}
	dir, err := o.dir()
	if err != nil {
		return err
	}
	var st pfsync.Status
	if req.IsEmpty() {
		err = ctl.Call(ctx, dir, req.Name, pfsync.OpStatus, nil, &st)
		if errors.Is(err, ctl.ErrNoWorker) {
			return fmt.Errorf("%s: no such interface", req.Name)
		}
	} else {
		err = supervise.CallOrStart(ctx, dir, req.Name, supervise.WorkerArgv(dir, req.Name, true), pfsync.OpConfigure, req, &st)
	}
	if err != nil || !req.IsEmpty() {
		return err
	}
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	pfsync.WriteIfconfig(out, st)
	return nil
}

func newNetstartCmd(o *options) *cobra.Command {
	checkName := func(name string) error {
		if !pfsync.ValidName(name) {
			return fmt.Errorf("%s: not a pfsync interface name (pfsyncN)", name)
		}
		return nil
	}
	return netstart.Command("netstart [-n] [--dir dir] [pfsync0]",
		"apply /etc/hostname.pfsync0, as OpenBSD's netstart(8) does",
		`netstart reads dir/hostname.pfsyncN (e.g. "up syncif sis2") and applies each
line as pfsyncctl parameters; "!command" lines run with $if replaced by the
interface name. Every line is checked before the first is applied: a file
with an error names the file and line and changes nothing.`, "pfsync", checkName, o.dir, pfsyncNetstart)
}

// pfsyncNetstart adapts netstart to pfsync interfaces in run directory dir.
func pfsyncNetstart(dir string) netstart.Driver {
	return netstart.Driver{
		Prog:   "pfsyncctl",
		Prefix: "pfsync",
		Check: func(ctx context.Context, file, ifname string, lines []hostnameif.Line) ([]hostnameif.Line, []string, error) {
			cfg := pfsync.NewConfig(ifname)
			var st pfsync.Status
			switch err := ctl.Call(ctx, dir, ifname, pfsync.OpStatus, nil, &st); {
			case err == nil:
				cfg = st.Config
			case !errors.Is(err, ctl.ErrNoWorker):
				return nil, nil, err
			}
			return lines, nil, pfsync.CheckLines(cfg, file, lines, link.Exists)
		},
		Apply: func(ctx context.Context, ifname string, words []string) error {
			req, err := pfsync.ParseRequest(ifname, words)
			if err != nil {
				return err
			}
			return supervise.CallOrStart(ctx, dir, ifname, supervise.WorkerArgv(dir, ifname, true), pfsync.OpConfigure, req, nil)
		},
	}
}
