package main

import (
	"bytes"
	"strings"
	"testing"

	"carpfw/internal/cli"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("CARPFW_RUNDIR", t.TempDir())
	var out, errb bytes.Buffer
	code = cli.Run(newRootCmd(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpDescribesRealFlags(t *testing.T) {
	code, out, _ := runCmd(t, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"-a, --all", "-g, --group", "--json", "--rundir", "vhid n", "advskew n", "carpdev iface", "-carppeer", "carpdemote", "netstart", "sysctl", "stats"} {
		if !strings.Contains(out, want) {
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
		{"bad, unknown flag", []string{"--bogus"}, "carpctl: unknown flag: --bogus\n"},
		{"bad, unknown short flag", []string{"-x"}, "carpctl: unknown shorthand flag: 'x' in -x\n"},
		{"bad, unknown word", []string{"carp0", "vhid", "1", "bogus"}, "carpctl: bogus: unknown keyword\n"},
		{"bad, vhid range", []string{"carp0", "vhid", "300"}, "carpctl: vhid 300: too large\n"},
		{"bad, not a carp name", []string{"eth0", "vhid", "1"}, "carpctl: eth0: not a carp interface name (carpN)\n"},
		{"bad, demotion range", []string{"-g", "carp", "carpdemote", "129"}, "carpctl: invalid carp demotion: 129\n"},
		{"bad, unknown subcommand flag", []string{"netstart", "--bogus"}, "carpctl: unknown flag: --bogus\n"},
		{"bad, status of a missing interface", []string{"carp7"}, "carpctl: carp7: no such interface\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, tc.args...)
			if code == 0 {
				t.Errorf("exit status 0, want non-zero")
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if errs != tc.want {
				t.Errorf("stderr %q, want %q", errs, tc.want)
			}
		})
	}
}

func TestGroupDemoteWithoutWorkers(t *testing.T) {
	t.Setenv("CARPFW_RUNDIR", t.TempDir())
	var out, errb bytes.Buffer
	run := func(args ...string) string {
		out.Reset()
		if code := cli.Run(newRootCmd(), args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	run("-g", "carp", "carpdemote", "50")
	run("-g", "carp", "carpdemote")
	if got := run("-g", "carp"); got != "carp: carp demote count 51\n" {
		t.Errorf("got %q", got)
	}
	run("-g", "carp", "-carpdemote", "51")
	if got := run("-g", "carp"); got != "carp: carp demote count 0\n" {
		t.Errorf("got %q", got)
	}
}
