package main

import (
	"bytes"
	"strings"
	"testing"

	"carpfw/internal/cli"
)

func TestHelpDescribesRealFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli.Run(newRootCmd(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"--json", "--rundir", "syncdev iface", "syncif", "-syncpeer", "maxupd n", "defer, -defer", "netstart", "stats"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestBadInputIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad, unknown flag", []string{"--bogus"}, "pfsyncctl: unknown flag: --bogus\n"},
		{"bad, unknown word", []string{"pfsync0", "syncdev", "eth2", "bogus"}, "pfsyncctl: bogus: unknown keyword\n"},
		{"bad, maxupd range", []string{"pfsync0", "maxupd", "256"}, "pfsyncctl: maxupd 256: too large\n"},
		{"bad, IPv6 syncpeer", []string{"pfsync0", "syncpeer", "2001:db8::1"}, "pfsyncctl: syncpeer 2001:db8::1: invalid IPv4 address\n"},
		{"bad, not a pfsync name", []string{"carp0"}, "pfsyncctl: carp0: not a pfsync interface name (pfsyncN)\n"},
		{"bad, status of a missing interface", []string{"pfsync0"}, "pfsyncctl: pfsync0: no such interface\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CARPFW_RUNDIR", t.TempDir())
			var out, errb bytes.Buffer
			if code := cli.Run(newRootCmd(), tc.args, &out, &errb); code == 0 {
				t.Errorf("exit status 0, want non-zero")
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
			if errb.String() != tc.want {
				t.Errorf("stderr %q, want %q", errb.String(), tc.want)
			}
		})
	}
}
