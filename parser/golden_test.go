package parser_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"carpfw/internal/hostinv"
	"carpfw/parser"
)

var update = flag.Bool("update", false, "rewrite testdata/pf/*.want from the current output")

// run parses src as pfconf -nv does and returns what a user sees with
// stdout and stderr merged: diagnostics first, then the printed rules.
func run(t testing.TB, name string, src []byte) (out string, errs int) {
	var stdout, stderr strings.Builder
	errs = parser.Check(name, src, parser.Config{
		Inventory: hostinv.OpenBSDRegress(),
		Verbose:   1,
		Stdout:    func(s string) { stdout.WriteString(s) },
		Stderr:    func(s string) { stderr.WriteString(s) },
	})
	return stderr.String() + stdout.String(), errs
}

// TestGolden checks every testdata/pf/*.conf against its .want file and,
// for files without errors, that printing is a fixed point: the printed
// rules parse back to the same text.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../testdata/pf/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, conf := range files {
		name := strings.TrimSuffix(filepath.Base(conf), ".conf")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			got, errs := run(t, "stdin", src)
			wantFile := strings.TrimSuffix(conf, ".conf") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s: output mismatch (-want +got):\n%s", name, diff)
			}
			if errs > 0 {
				return
			}
			again, errs := run(t, "stdin", []byte(got))
			if errs > 0 {
				t.Fatalf("%s: printed rules do not parse:\n%s", name, again)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("%s: print → parse → print is not a fixed point (-first +second):\n%s", name, diff)
			}
		})
	}
}
