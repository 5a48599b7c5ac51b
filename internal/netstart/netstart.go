// Package netstart applies hostname.if(5) files for the ctl tools, as
// OpenBSD's netstart(8) does for ifconfig: files are chosen and ordered as
// netstart orders them, every line of a file is parsed and checked before
// the first one is applied, and the lines then run in order, ifconfig
// words through the tool's worker and "!command" lines through sh(1).
//
// A file with an error is reported ("hostname.carp0:3: vhid 300: too
// large") and not applied at all, so the interface it configures is left
// as it was; the other files are still applied, as netstart does.
package netstart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"carpfw/parser/hostnameif"
)

// Driver adapts netstart to one kind of pseudo-interface.
type Driver struct {
	Prog   string // "carpctl", for -n output
	Prefix string // "carp": files are hostname.<Prefix>N

	// Check parses and checks every line of ifname's file against the
	// interface's current configuration, without changing anything. It
	// may rewrite lines (carpctl adds the carpdev an old file omits) and
	// returns warnings to print. Errors name the file and line.
	Check func(ctx context.Context, file, ifname string, lines []hostnameif.Line) ([]hostnameif.Line, []string, error)

	// Apply applies one line's words to ifname.
	Apply func(ctx context.Context, ifname string, words []string) error
}

// Options select files and the mode.
type Options struct {
	Dir    string   // where hostname.* files are, "/etc"
	Names  []string // interfaces to apply; all files of the kind when empty
	DryRun bool     // print the commands instead of running them (netstart -n)
	Stdout io.Writer
	Stderr io.Writer
}

// Run applies the files. It returns an error when any file failed; the
// messages were already printed to opts.Stderr.
func Run(ctx context.Context, d Driver, opts Options) error {
	names := opts.Names
	if len(names) == 0 {
		var err error
		if names, err = Interfaces(opts.Dir, d.Prefix); err != nil {
			return err
		}
	}
	failed := 0
	for _, ifname := range names {
		if err := runFile(ctx, d, opts, ifname); err != nil {
			fmt.Fprintf(opts.Stderr, "%s: %v\n", d.Prog, err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files not applied", failed, len(names))
	}
	return nil
}

func runFile(ctx context.Context, d Driver, opts Options, ifname string) error {
	path := filepath.Join(opts.Dir, "hostname."+ifname)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	lines, errs := hostnameif.Parse(path, ifname, f)
	f.Close()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	lines, warnings, err := d.Check(ctx, path, ifname, lines)
	for _, w := range warnings {
		fmt.Fprintf(opts.Stderr, "%s: warning: %s\n", d.Prog, w)
	}
	if err != nil {
		return err
	}
	for _, l := range lines {
		switch {
		case opts.DryRun && l.Shell != "":
			fmt.Fprintln(opts.Stdout, l.Shell)
		case opts.DryRun:
			fmt.Fprintf(opts.Stdout, "%s %s %s\n", d.Prog, ifname, shellJoin(l.Words))
		case l.Shell != "":
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", l.Shell)
			cmd.Stdout, cmd.Stderr = opts.Stdout, opts.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(opts.Stderr, "%s: %s:%d: %s: %v\n", d.Prog, path, l.N, l.Shell, err)
			}
		default:
			if err := d.Apply(ctx, ifname, l.Words); err != nil {
				return fmt.Errorf("%s:%d: %w", path, l.N, err)
			}
		}
	}
	return nil
}

// Interfaces lists the interfaces dir has hostname.<prefix>N files for, in
// netstart's order: lexical by file name (carp0, carp1, carp10, carp2).
// Backup copies such as hostname.carp0.orig or hostname.carp0~ are not
// interface files and are skipped, as netstart skips them.
func Interfaces(dir, prefix string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^hostname\.(` + regexp.QuoteMeta(prefix) + `[0-9]+)$`)
	var names []string
	for _, e := range ents {
		if m := re.FindStringSubmatch(e.Name()); m != nil && !e.IsDir() {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names, nil
}

// shellJoin quotes words for a shell, as netstart -n would show them.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w != "" && !strings.ContainsAny(w, " \t\n\"'\\$`!*?[]{}()<>|&;#~") {
			q[i] = w
		} else {
			q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
