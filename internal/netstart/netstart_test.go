package netstart

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carpfw/parser/hostnameif"
)

func TestInterfacesOrderAndBackups(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"hostname.carp10", "hostname.carp2", "hostname.carp0", "hostname.carp0.orig", "hostname.carp1~", "hostname.em0", "hostname.pfsync0"} {
		os.WriteFile(filepath.Join(dir, n), []byte("up\n"), 0o640)
	}
	got, err := Interfaces(dir, "carp")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "carp0 carp10 carp2" {
		t.Errorf("got %v, want netstart's lexical order without backups", got)
	}
}

func TestRunChecksWholeFileFirst(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hostname.carp0"), []byte("vhid 1\n!echo configured $if\n"), 0o640)
	os.WriteFile(filepath.Join(dir, "hostname.carp1"), []byte("vhid 2\nbogus\n"), 0o640)
	var applied []string
	d := Driver{
		Prog: "carpctl", Prefix: "carp",
		Check: func(_ context.Context, file, ifname string, lines []hostnameif.Line) ([]hostnameif.Line, []string, error) {
			for _, l := range lines {
				if len(l.Words) > 0 && l.Words[0] == "bogus" {
					return nil, nil, errors.New(file + ":2: bogus: unknown keyword")
				}
			}
			return lines, nil, nil
		},
		Apply: func(_ context.Context, ifname string, words []string) error {
			applied = append(applied, ifname+" "+strings.Join(words, " "))
			return nil
		},
	}
	var out, errb bytes.Buffer
	err := Run(context.Background(), d, Options{Dir: dir, Stdout: &out, Stderr: &errb})
	if err == nil {
		t.Error("a bad file must make Run fail")
	}
	if strings.Join(applied, ";") != "carp0 vhid 1" {
		t.Errorf("applied %q: carp1's good first line must not be applied", applied)
	}
	if out.String() != "configured carp0\n" {
		t.Errorf("shell line output %q", out.String())
	}
	if !strings.Contains(errb.String(), "carpctl: "+dir+"/hostname.carp1:2: bogus: unknown keyword\n") {
		t.Errorf("stderr %q", errb.String())
	}

	// -n prints the commands, quoted for a shell, and applies nothing.
	applied = nil
	out.Reset()
	os.WriteFile(filepath.Join(dir, "hostname.carp0"), []byte("description \"it's ours\" vhid 1\n"), 0o640)
	if err := Run(context.Background(), d, Options{Dir: dir, Names: []string{"carp0"}, DryRun: true, Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatal(err)
	}
	if want := "carpctl carp0 description 'it'\\''s ours' vhid 1\n"; out.String() != want || applied != nil {
		t.Errorf("dry run printed %q (want %q), applied %v", out.String(), want, applied)
	}
}
