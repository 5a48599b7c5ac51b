package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"carpfw/internal/cli"
	"carpfw/internal/hostinv"
	"carpfw/parser"
)

// parseOnly implements -n -f: parse the file, print it with -v, load
// nothing. Diagnostics go to stderr as they are found; printed text goes
// to stdout in one piece at the end, as pfctl's buffered stdout does when
// it is not a terminal (so a merged stream shows diagnostics first). The
// ruleset optimiser is not implemented: -o basic behaves as -o none.
func parseOnly(cmd *cobra.Command, o *options) error {
	f, name, err := openRules(o.file)
	if err != nil {
		return cli.Errorf("%v", err)
	}
	data, err := io.ReadAll(f)
	if f != nil && o.file != "-" {
		f.Close()
	}
	if err != nil {
		return cli.Errorf("%s: %v", name, err)
	}
	var out bytes.Buffer
	stderr := cmd.ErrOrStderr()
	cfg := parser.Config{
		Inventory: hostinv.FromEnv(),
		Verbose:   o.verbose,
		Defines:   o.defines,
		Anchor:    o.anchor,
		Stdout:    func(s string) { out.WriteString(s) },
		Stderr:    func(s string) { fmt.Fprint(stderr, s) },
	}
	errs := parser.Check(name, data, cfg)
	cmd.OutOrStdout().Write(out.Bytes())
	if errs > 0 {
		return cli.Exit(1)
	}
	return nil
}
