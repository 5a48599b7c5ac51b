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
// as "file:line: message" lines. The file is the main ruleset or, with
// -a, the ruleset of that anchor, compiled with the main ruleset last
// loaded (pf's anchors live inside the loaded ruleset). Rulesets loaded
// into other anchors earlier are kept. It returns what it compiled, for
// the state file.
func compileFile(cmd *cobra.Command, o *options) (*rules.Program, nftload.Source, error) {
	f, name, err := openRules(o.file)
	if err != nil {
		return nil, nftload.Source{}, cli.Errorf("%v", err)
	}
	data, err := io.ReadAll(f)
	if o.file != "-" {
		f.Close()
	}
	if err != nil {
		return nil, nftload.Source{}, cli.Errorf("%s: %v", name, err)
	}
	stderr := cmd.ErrOrStderr()
	dir, _ := runDir() // carp interfaces' configurations, for (carpN)
	src := nftload.Source{
		Name: name, Data: data, Defines: o.defines, Strict: o.strict,
		IfAddrs: nftload.HostIfAddrs(dir),
		Stderr:  func(s string) { fmt.Fprint(stderr, s) },
	}
	var prev nftload.Saved
	if dir != "" {
		prev, _ = nftload.ReadSaved(dir)
	}
	src.Anchors = prev.Anchors
	if o.anchor != "" {
		if prev.Main == nil {
			return nil, src, cli.Errorf("-a %s: no ruleset loaded by pfconf; load the main ruleset with -f first", o.anchor)
		}
		anchors := map[string]nftload.AnchorSource{}
		for k, v := range prev.Anchors {
			anchors[k] = v
		}
		anchors[o.anchor] = nftload.AnchorSource{Name: name, Data: string(data)}
		src.Anchors = anchors
		src.Name, src.Data, src.Defines = prev.Main.Name, []byte(prev.Main.Data), prev.Main.Defines
	}
	prog, err := nftload.Compile(src)
	switch {
	case errors.Is(err, nftload.ErrSyntax):
		if o.noAction {
			return nil, src, cli.Exit(1)
		}
		return nil, src, cli.Errorf("%v", err)
	case err != nil:
		// The messages were printed one per line.
		if o.noAction {
			return nil, src, cli.Exit(1)
		}
		return nil, src, cli.Errorf("%v", nftload.ErrSyntax)
	}
	return prog, src, nil
}

// printNft implements -n --print-nft -f: compile and print the nft text.
func printNft(cmd *cobra.Command, o *options) error {
	prog, _, err := compileFile(cmd, o)
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), prog.Text())
	return nil
}

// loadFile implements -f: compile, then replace pfconf's table in one
// batch. A disabled pfconf stays disabled.
func loadFile(cmd *cobra.Command, o *options) error {
	prog, src, err := compileFile(cmd, o)
	if err != nil {
		return err
	}
	if o.printNft {
		fmt.Fprint(cmd.OutOrStdout(), prog.Text())
	}
	if o.verbose > 0 && prog.Ruleset != nil {
		// pfctl -v -f echoes the rules as it loads them (with -a, the
		// anchor's).
		rs := prog.Ruleset
		if o.anchor != "" {
			rs = nftload.FindAnchor(rs, o.anchor)
		}
		var w strings.Builder
		rules.PrintRuleset(&w, rs, 0, o.verbose > 1)
		fmt.Fprint(cmd.OutOrStdout(), w.String())
	}
	return install(cmd, prog, src)
}

// install replaces pfconf's table with prog in one batch (a disabled
// pfconf stays disabled), records what was loaded in the state file and
// tells the (if) watcher.
func install(cmd *cobra.Command, prog *rules.Program, src nftload.Source) error {
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
	saved.Main = &nftload.MainSource{Name: src.Name, Data: string(src.Data), Defines: src.Defines}
	saved.Anchors = src.Anchors
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

// flushAnchor implements -a ANCHOR -F rules: the main ruleset is
// reloaded without the rules loaded into the anchor.
func flushAnchor(cmd *cobra.Command, o *options) error {
	dir, err := runDir()
	if err != nil {
		return cli.Errorf("%v", err)
	}
	saved, err := nftload.ReadSaved(dir)
	if err != nil {
		return cli.Errorf("%v", err)
	}
	if _, ok := saved.Anchors[o.anchor]; !ok || saved.Main == nil {
		return cli.Errorf("%v", errNoAnchor)
	}
	anchors := map[string]nftload.AnchorSource{}
	for k, v := range saved.Anchors {
		if k != o.anchor {
			anchors[k] = v
		}
	}
	stderr := cmd.ErrOrStderr()
	src := nftload.Source{Name: saved.Main.Name, Data: []byte(saved.Main.Data), Defines: saved.Main.Defines,
		Anchors: anchors, IfAddrs: nftload.HostIfAddrs(dir), Stderr: func(s string) { fmt.Fprint(stderr, s) }}
	prog, err := nftload.Compile(src)
	if err != nil {
		return cli.Errorf("%v", nftload.ErrSyntax)
	}
	return install(cmd, prog, src)
}

// newConn opens a fresh nftables connection in the calling namespace;
// each batch gets its own, so that no half-built batch is ever reused.
func newConn() (*nftables.Conn, error) { return nftload.Dial() }
