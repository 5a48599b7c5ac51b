package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/nftables"
	"github.com/spf13/cobra"

	"carpfw/internal/cli"
	"carpfw/internal/nftload"
	"carpfw/rules"
)

// compileFile reads and compiles the -f file; diagnostics go to stderr
// as "file:line: message" lines.
func compileFile(cmd *cobra.Command, o *options) (*rules.Program, error) {
	f, name, err := openRules(o.file)
	if err != nil {
		return nil, cli.Errorf("%v", err)
	}
	data, err := io.ReadAll(f)
	if o.file != "-" {
		f.Close()
	}
	if err != nil {
		return nil, cli.Errorf("%s: %v", name, err)
	}
	stderr := cmd.ErrOrStderr()
	dir, _ := runDir() // carp interfaces' configurations, for (carpN)
	prog, err := nftload.Compile(nftload.Source{
		Name: name, Data: data, Defines: o.defines, Strict: o.strict,
		IfAddrs: nftload.HostIfAddrs(dir),
		Stderr:  func(s string) { fmt.Fprint(stderr, s) },
	})
	switch {
	case errors.Is(err, nftload.ErrSyntax):
		if o.noAction {
			return nil, cli.Exit(1)
		}
		return nil, cli.Errorf("%v", err)
	case err != nil:
		// The messages were printed one per line.
		if o.noAction {
			return nil, cli.Exit(1)
		}
		return nil, cli.Errorf("%v", nftload.ErrSyntax)
	}
	return prog, nil
}

// printNft implements -n --print-nft -f: compile and print the nft text.
func printNft(cmd *cobra.Command, o *options) error {
	prog, err := compileFile(cmd, o)
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), prog.Text())
	return nil
}

// loadFile implements -f: compile, then replace pfconf's table in one
// batch. A disabled pfconf stays disabled.
func loadFile(cmd *cobra.Command, o *options) error {
	prog, err := compileFile(cmd, o)
	if err != nil {
		return err
	}
	if o.printNft {
		fmt.Fprint(cmd.OutOrStdout(), prog.Text())
	}
	if o.verbose > 0 && prog.Ruleset != nil {
		// pfctl -v -f echoes the rules as it loads them.
		var w strings.Builder
		rules.PrintRuleset(&w, prog.Ruleset, 0, o.verbose > 1)
		fmt.Fprint(cmd.OutOrStdout(), w.String())
	}
	st, err := nftload.Status(newConn)
	if err != nil {
		return cli.Errorf("%v", err)
	}
	conn, err := newConn()
	if err != nil {
		return cli.Errorf("%v", err)
	}
	if err := nftload.Load(conn, prog, nftload.LoadOptions{Disabled: st.Loaded && !st.Enabled}); err != nil {
		return cli.Errorf("%v", err)
	}
	dir, err := runDir()
	saved := nftload.Record(prog, nil)
	if err == nil {
		err = nftload.Save(dir, saved)
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "pfconf: warning: state file: %v\n", err)
		return nil
	}
	followInterfaces(cmd, dir, len(saved.Dynamic))
	return nil
}

// newConn opens a fresh nftables connection in the calling namespace;
// each batch gets its own, so that no half-built batch is ever reused.
func newConn() (*nftables.Conn, error) { return nftload.Dial() }
