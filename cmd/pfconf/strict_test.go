package main

import (
	"bytes"
	"strings"
	"testing"

	"carpfw/internal/cli"
)

// TestPrintNftAndStrict checks -n --print-nft (no netlink) and the
// warning/error classification with and without --strict.
func TestPrintNftAndStrict(t *testing.T) {
	t.Setenv("PFCONF_HOST", "openbsd-regress")
	conf := writeConf(t, "pf.conf", "block all\npass in proto tcp to port 22 modulate state\n")
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		out, errs  string
		outContain string
	}{
		{"ok, print-nft with a warning", []string{"-n", "--print-nft", "-f", conf}, 0, "", "pf.conf:2: warning: modulate state is kept as keep state on Linux\n", "table inet pfconf {"},
		{"bad, strict print-nft", []string{"-n", "--print-nft", "--strict", "-f", conf}, 1, "", "pf.conf:2: modulate state is kept as keep state on Linux\n", ""},
		{"bad, strict check", []string{"-n", "--strict", "-f", conf}, 1, "", "pf.conf:2: modulate state is kept as keep state on Linux\n", ""},
		{"ok, plain check ignores Linux", []string{"-n", "-f", conf}, 0, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.Run(newRootCmd(), tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if got := strings.ReplaceAll(errb.String(), conf, "pf.conf"); got != tc.errs {
				t.Errorf("stderr %q, want %q", got, tc.errs)
			}
			if tc.outContain != "" && !strings.Contains(out.String(), tc.outContain) {
				t.Errorf("stdout lacks %q:\n%s", tc.outContain, out.String())
			}
			if tc.outContain == "" && out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}
