package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carpfw/internal/cli"
	"carpfw/internal/lab"
)

// pfconf runs the command inside host h (nftables connections are made
// on the thread that Do switched into h's namespace).
func pfconf(t *testing.T, h *lab.Host, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := h.Do(func() error {
		code = cli.Run(newRootCmd(), args, &out, &errb)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func writeConf(t *testing.T, name, conf string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// deepAnchors nests n inline anchors: the kernel refuses jump chains
// deeper than its jump stack (NFT_JUMP_STACK_SIZE, 16) at commit time
// with EMLINK, a failure only the kernel finds.
func deepAnchors(n int) string {
	var w strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&w, "%sanchor \"a%d\" {\n", strings.Repeat(" ", i), i)
	}
	w.WriteString("pass all\n")
	for i := n - 1; i >= 0; i-- {
		w.WriteString(strings.Repeat(" ", i) + "}\n")
	}
	return w.String()
}

const rulesetA = `table <friends> { 10.0.0.0/8 !10.1.2.3 }
block return all
pass in proto tcp from <friends> to port 22
pass out all
`

// TestFailedLoadChangesNothing loads ruleset A, then tries rulesets that
// fail while parsing, while compiling and in the kernel, and requires
// the kernel's ruleset (nft list ruleset) to be A's every time; a table
// that pfconf does not own is never touched.
func TestFailedLoadChangesNothing(t *testing.T) {
	l := lab.New(t)
	h := l.Host("r")
	h.MustRun("nft", "add table inet other")
	h.MustRun("nft", "add chain inet other c { type filter hook input priority 10 ; }")
	h.MustRun("nft", "add rule inet other c tcp dport 9 counter drop")
	if code, _, errs := pfconf(t, h, "-f", writeConf(t, "a.conf", rulesetA)); code != 0 {
		t.Fatalf("loading A: exit %d: %s", code, errs)
	}
	want := h.MustRun("nft", "list", "ruleset")
	if !strings.Contains(want, "table inet pfconf") || !strings.Contains(want, "table inet other") {
		t.Fatalf("after A:\n%s", want)
	}
	for _, tc := range []struct {
		name, conf, stderr string
	}{
		{"bad, parse error", "pass in on\nblock all\n", "b.conf:1: syntax error\npfconf: Syntax error in config file: pf rules not loaded\n"},
		{"bad, compile error", "block all\npass in on lo inet from any to 192.0.2.0/24 af-to inet6 from 2001:db8::1\n",
			"b.conf:2: af-to is not supported on Linux\npfconf: Syntax error in config file: pf rules not loaded\n"},
		{"bad, compile error: queue", "queue std on lo bandwidth 10M default\nblock all\n",
			"b.conf:1: queue: not supported on Linux\npfconf: Syntax error in config file: pf rules not loaded\n"},
		{"bad, kernel error", deepAnchors(17), "pfconf: loading the ruleset: too many links\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := pfconf(t, h, "-f", writeConf(t, "b.conf", tc.conf))
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			if !strings.HasSuffix(errs, tc.stderr) || strings.Count(errs, "\n") != strings.Count(tc.stderr, "\n") {
				t.Errorf("stderr\n%s\nwant (after the directory)\n%s", errs, tc.stderr)
			}
			if got := h.MustRun("nft", "list", "ruleset"); got != want {
				t.Errorf("ruleset changed:\n%s\nwant\n%s", got, want)
			}
		})
	}
	// A good load still works after the failures.
	if code, _, errs := pfconf(t, h, "-f", writeConf(t, "c.conf", "pass all\n")); code != 0 {
		t.Fatalf("loading C: exit %d: %s", code, errs)
	}
	if got := h.MustRun("nft", "list", "ruleset"); got == want || !strings.Contains(got, "table inet other") {
		t.Errorf("after C:\n%s", got)
	}
}
