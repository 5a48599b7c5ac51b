package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"carpfw/internal/cli"
	"carpfw/internal/nftload"
	"carpfw/internal/rundir"
	"carpfw/rules"
)

// runtimeCmds runs the actions of one invocation in pfctl's order:
// -d, -s, -F, -T, -f, -e (pfctl.c main). With -n only -f (and -T test)
// happen.
func runtimeCmds(cmd *cobra.Command, o *options) error {
	if o.disable {
		if err := enable(cmd, o, false); err != nil {
			return err
		}
	}
	if o.show != "" {
		if err := show(cmd, o); err != nil {
			return err
		}
	}
	if o.flush != "" {
		if err := flush(cmd, o); err != nil {
			return err
		}
	}
	if o.tableCmd != "" {
		if err := tableCmd(cmd, o); err != nil {
			return err
		}
	}
	if o.file != "" {
		if err := loadFile(cmd, o); err != nil {
			return err
		}
	}
	if o.enable {
		return enable(cmd, o, true)
	}
	return nil
}

// info prints an informational message on stderr unless -q.
func info(cmd *cobra.Command, o *options, format string, a ...any) {
	if !o.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", a...)
	}
}

// runDir is where the state file lives.
func runDir() (string, error) { return rundir.Resolve("") }

// enable implements -e and -d (pfctl: "pf enabled", "pf already
// enabled", "pf disabled", "pf not enabled").
func enable(cmd *cobra.Command, o *options, on bool) error {
	st, err := nftload.Status(newConn)
	if err != nil {
		return cli.Errorf("%v", err)
	}
	switch {
	case on && st.Loaded && st.Enabled:
		return cli.Errorf("pf already enabled")
	case !on && !st.Enabled:
		return cli.Errorf("pf not enabled")
	case on && !st.Loaded:
		return cli.Errorf("no ruleset loaded; load one with -f")
	}
	conn, err := newConn()
	if err != nil {
		return cli.Errorf("%v", err)
	}
	if err := nftload.SetEnabled(conn, on); err != nil {
		return cli.Errorf("%v", err)
	}
	if on {
		info(cmd, o, "pf enabled")
	} else {
		info(cmd, o, "pf disabled")
	}
	return nil
}

// flush implements -F rules|states|Tables|all.
func flush(cmd *cobra.Command, o *options) error {
	switch o.flush {
	case "rules":
		if o.anchor != "" {
			if err := flushAnchor(cmd, o); err != nil {
				return err
			}
			info(cmd, o, "rules cleared")
			return nil
		}
		if err := flushRules(); err != nil {
			return cli.Errorf("%v", err)
		}
		if dir, err := runDir(); err == nil {
			if saved, err := nftload.ReadSaved(dir); err == nil {
				followInterfaces(cmd, dir, len(saved.Dynamic))
			}
		}
		info(cmd, o, "rules cleared")
	case "states":
		n, err := nftload.FlushStates()
		if err != nil {
			return cli.Errorf("%v", err)
		}
		info(cmd, o, "%d states cleared", n)
	case "Tables":
		n, err := flushTables()
		if err != nil {
			return cli.Errorf("%v", err)
		}
		info(cmd, o, "%d tables deleted.", n)
	case "all":
		conn, err := newConn()
		if err != nil {
			return cli.Errorf("%v", err)
		}
		names, err := nftload.TableNames(conn)
		if err != nil {
			return cli.Errorf("%v", err)
		}
		if _, err := nftload.Flush(newConn); err != nil {
			return cli.Errorf("%v", err)
		}
		if dir, err := runDir(); err == nil && nftload.Save(dir, nftload.Saved{}) == nil {
			followInterfaces(cmd, dir, 0)
		}
		n, err := nftload.FlushStates()
		if err != nil {
			return cli.Errorf("%v", err)
		}
		info(cmd, o, "rules cleared")
		info(cmd, o, "%d states cleared", n)
		info(cmd, o, "%d tables deleted.", len(names))
	default:
		return cli.Errorf("-F %s: not implemented", o.flush)
	}
	return nil
}

// flushRules reloads pfconf's table with no rules, keeping the tables'
// contents (pfctl -F rules leaves tables alone).
func flushRules() error {
	conn, err := newConn()
	if err != nil {
		return err
	}
	names, err := nftload.TableNames(conn)
	if err != nil {
		return err
	}
	prog, err := rules.Compile(&rules.Ruleset{}, rules.CompileOptions{})
	if err != nil {
		return err
	}
	for _, n := range names {
		c, err := nftload.ReadTable(conn, n)
		if err != nil {
			return err
		}
		for _, af := range []int{rules.AFInet, rules.AFInet6} {
			var ents []rules.TableEntry
			for _, p := range c.Prefixes() {
				ents = append(ents, rules.TableEntry{Prefix: p})
			}
			key := rules.KeyIPv4
			if af == rules.AFInet6 {
				key = rules.KeyIPv6
			}
			prog.Sets = append(prog.Sets, &rules.Set{Name: rules.TableSetName(n, af), Key: key, Interval: true,
				Table: n, Elems: rules.IntervalElems(ents, af)})
		}
	}
	st, err := nftload.Status(newConn)
	if err != nil {
		return err
	}
	w, err := newConn()
	if err != nil {
		return err
	}
	if err := nftload.Load(w, prog, nftload.LoadOptions{Disabled: st.Loaded && !st.Enabled}); err != nil {
		return err
	}
	if dir, err := runDir(); err == nil {
		// The anchors loaded with -a stay, unreachable until a main
		// ruleset calls them again, as in pf.
		prev, _ := nftload.ReadSaved(dir)
		saved := nftload.Record(prog, nil)
		saved.Main = &nftload.MainSource{Name: "pf.conf"}
		saved.Anchors = prev.Anchors
		nftload.Save(dir, saved)
	}
	return nil
}

// flushTables empties every table (rules keep referring to them, as to
// pf's implicitly created empty tables).
func flushTables() (int, error) {
	conn, err := newConn()
	if err != nil {
		return 0, err
	}
	names, err := nftload.TableNames(conn)
	if err != nil {
		return 0, err
	}
	for _, n := range names {
		w, err := newConn()
		if err != nil {
			return 0, err
		}
		if err := nftload.WriteTable(w, n, nftload.Contents{}, false); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// tableCmd implements -t table -T command [address ...] with pfctl's
// messages and exit statuses (2 when -T test does not match all, 255 for
// a failed table operation).
func tableCmd(cmd *cobra.Command, o *options) error {
	name := nftload.ScopedTable(o.anchor, o.table)
	if o.tableCmd == "show" {
		conn, err := newConn()
		if err != nil {
			return cli.Errorf("%v", err)
		}
		c, err := nftload.ReadTable(conn, name)
		if err != nil {
			return &cli.ExitError{Code: 255, Err: err}
		}
		showTable(cmd.OutOrStdout(), c)
		return nil
	}
	addrs, err := nftload.ParseAddrs(o.tableArgs)
	if err != nil {
		return cli.Errorf("%v", err)
	}
	res, err := nftload.TableCommand(newConn, name, o.tableCmd, addrs)
	if err != nil {
		if errors.Is(err, nftload.ErrNoTable) {
			return &cli.ExitError{Code: 255, Err: err}
		}
		return &cli.ExitError{Code: 255, Err: err}
	}
	if res.Created {
		info(cmd, o, "1 table created.")
	}
	switch o.tableCmd {
	case "test":
		info(cmd, o, "%d/%d addresses match.", res.Matched, res.Requested)
		if res.Matched < res.Requested {
			return cli.Exit(2)
		}
	case "add":
		info(cmd, o, "%d/%d addresses added.", res.Added, res.Requested)
	case "delete":
		info(cmd, o, "%d/%d addresses deleted.", res.Deleted, res.Requested)
	case "flush":
		info(cmd, o, "%d addresses deleted.", res.Deleted)
	case "replace":
		if res.Added > 0 {
			info(cmd, o, "%d addresses added.", res.Added)
		}
		if res.Deleted > 0 {
			info(cmd, o, "%d addresses deleted.", res.Deleted)
		}
		if res.Added == 0 && res.Deleted == 0 {
			info(cmd, o, "no changes.")
		}
	}
	return nil
}

// showTable prints a table's entries as pfctl -T show does: a feedback
// column, a negation column, then the address with a prefix length only
// when it is shorter than a host's. Entries are the table's effective
// membership as CIDR blocks (negated entries are already subtracted).
func showTable(w io.Writer, c nftload.Contents) {
	var b strings.Builder
	for _, p := range c.Prefixes() {
		if p.IsSingleIP() {
			fmt.Fprintf(&b, "   %s\n", p.Addr())
		} else {
			fmt.Fprintf(&b, "   %s\n", p)
		}
	}
	io.WriteString(w, b.String())
}
