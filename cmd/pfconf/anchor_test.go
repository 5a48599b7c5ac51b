package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestAnchorLoads: pfconf -a ANCHOR -f FILE loads rules into a named
// anchor of the loaded ruleset, in one atomic reload that keeps the main
// ruleset; -a ANCHOR -s rules prints them; a new main ruleset keeps them;
// -a ANCHOR -F rules removes them; a bad file changes nothing; and "load
// anchor" loads one at -f time (pfctl(8) -a, pf.conf(5) ANCHORS).
func TestAnchorLoads(t *testing.T) {
	c, r := runtimeLab(t)
	main := writeConf(t, "pf.conf", "block return all\npass in proto tcp to port 22\nanchor \"extra\"\n")
	extra := writeConf(t, "extra.conf", "pass in proto tcp to port 23\n")
	run := func(args ...string) (int, string, string) { return pfconf(t, r, append([]string{"-q"}, args...)...) }
	check := func(step string, want22, want23 bool) {
		t.Helper()
		for port, want := range map[int]bool{22: want22, 23: want23} {
			if err := connect(c, fmt.Sprintf("10.0.1.1:%d", port)); (err == nil) != want {
				t.Errorf("%s: port %d: %v, want pass %v", step, port, err, want)
			}
		}
	}
	if code, _, errs := run("-a", "extra", "-f", extra); code == 0 || !strings.Contains(errs, "no ruleset loaded") {
		t.Errorf("-a before a main ruleset: exit %d, %q", code, errs)
	}
	if code, _, errs := run("-f", main); code != 0 {
		t.Fatalf("main: exit %d: %s", code, errs)
	}
	check("main only", true, false)
	if code, _, errs := run("-a", "extra", "-f", extra); code != 0 {
		t.Fatalf("-a extra -f: exit %d: %s", code, errs)
	}
	check("anchor loaded", true, true)
	if code, out, errs := run("-a", "extra", "-s", "rules"); code != 0 || out != "pass in proto tcp from any to any port = 23 flags S/SA\n" {
		t.Errorf("-a extra -s rules: exit %d, %q, %q", code, out, errs)
	}
	bad := writeConf(t, "bad.conf", "pass in proto tcp to port\n")
	if code, _, errs := run("-a", "extra", "-f", bad); code == 0 || !strings.Contains(errs, "bad.conf:1: syntax error") {
		t.Errorf("-a extra -f bad: exit %d, %q", code, errs)
	}
	check("after a bad anchor file", true, true)

	// A table defined in an anchor is the anchor's (pf attaches it to
	// the anchor's ruleset): the main ruleset's <t> is another.
	mainT := writeConf(t, "pf-t.conf", "table <t> { 10.9.9.9 }\nblock return all\npass in proto tcp from <t> to port 22\nanchor \"extra\"\n")
	if code, _, errs := run("-f", mainT); code != 0 {
		t.Fatalf("main with <t>: exit %d: %s", code, errs)
	}
	tab := writeConf(t, "tab.conf", "table <t> { 10.0.1.2 }\npass in proto tcp from <t> to port 23\n")
	if code, _, errs := run("-a", "extra", "-f", tab); code != 0 {
		t.Fatalf("-a extra -f with a table: exit %d, %q", code, errs)
	}
	check("an anchor's own table", false, true)
	if code, out, errs := run("-a", "extra", "-t", "t", "-T", "show"); code != 0 || out != "   10.0.1.2\n" {
		t.Errorf("-a extra -t t -T show: exit %d, %q, %q", code, out, errs)
	}
	if code, out, errs := run("-t", "t", "-T", "show"); code != 0 || out != "   10.9.9.9\n" {
		t.Errorf("-t t -T show (the main ruleset's): exit %d, %q, %q", code, out, errs)
	}
	if code, out, errs := run("-s", "Tables"); code != 0 || out != "t\n" {
		t.Errorf("-s Tables: exit %d, %q, %q", code, out, errs)
	}
	if code, out, errs := run("-a", "extra", "-s", "Tables"); code != 0 || out != "t\n" {
		t.Errorf("-a extra -s Tables: exit %d, %q, %q", code, out, errs)
	}
	if code, out, errs := run("-a", "extra", "-s", "rules"); code != 0 || out != "pass in proto tcp from <t> to any port = 23 flags S/SA\n" {
		t.Errorf("-a extra -s rules with a table: exit %d, %q, %q", code, out, errs)
	}
	if code, _, errs := run("-a", "extra", "-t", "t", "-T", "delete", "10.0.1.2"); code != 0 {
		t.Errorf("-a extra -t t -T delete: exit %d, %q", code, errs)
	}
	check("the anchor's table emptied", false, false)
	if code, _, errs := run("-a", "extra", "-t", "t", "-T", "add", "10.0.1.0/24"); code != 0 {
		t.Errorf("-a extra -t t -T add: exit %d, %q", code, errs)
	}
	check("the anchor's table refilled", false, true)
	if code, _, errs := run("-a", "extra", "-f", extra); code != 0 {
		t.Fatalf("-a extra -f again: exit %d: %s", code, errs)
	}
	if code, _, errs := run("-f", main); code != 0 {
		t.Fatalf("main again: exit %d: %s", code, errs)
	}
	check("main and extra again", true, true)
	if code, _, errs := run("-f", main); code != 0 {
		t.Fatalf("main again: exit %d: %s", code, errs)
	}
	check("main reloaded", true, true)
	if code, _, errs := run("-a", "extra", "-F", "rules"); code != 0 {
		t.Fatalf("-a extra -F rules: exit %d: %s", code, errs)
	}
	check("anchor flushed", true, false)
	if code, _, errs := run("-a", "extra", "-s", "rules"); code == 0 || errs != "pfconf: Anchor does not exist.\n" {
		t.Errorf("-s rules of a flushed anchor: exit %d, %q", code, errs)
	}
	if code, _, errs := run("-a", "extra", "-s", "states"); code == 0 || !strings.Contains(errs, "-a applies to") {
		t.Errorf("-a with -s states: exit %d, %q", code, errs)
	}

	// load anchor at -f time.
	withLoad := writeConf(t, "pf2.conf", fmt.Sprintf("block return all\nanchor \"l\"\nload anchor \"l\" from %q\n", extra))
	if code, _, errs := run("-f", withLoad); code != 0 {
		t.Fatalf("load anchor: exit %d: %s", code, errs)
	}
	check("load anchor", false, true)

	// A wildcard: the children of relayd, in name order.
	wild := writeConf(t, "pf3.conf", "block return all\nanchor \"relayd/*\"\n")
	if code, _, errs := run("-f", wild); code != 0 {
		t.Fatalf("wildcard: exit %d: %s", code, errs)
	}
	check("wildcard, no children", false, false)
	if code, _, errs := run("-a", "relayd/ssh", "-f", writeConf(t, "ssh.conf", "pass in proto tcp to port 22\n")); code != 0 {
		t.Fatalf("-a relayd/ssh -f: exit %d: %s", code, errs)
	}
	check("wildcard, one child", true, false)
	// A child's quick rule ends the evaluation for the next child too.
	if code, _, errs := run("-a", "relayd/a", "-f", writeConf(t, "a.conf", "block return quick proto tcp to port 22\npass in proto tcp to port 23\n")); code != 0 {
		t.Fatalf("-a relayd/a -f: exit %d: %s", code, errs)
	}
	check("wildcard, relayd/a before relayd/ssh", false, true)
	if code, out, errs := run("-a", "relayd/ssh", "-s", "rules"); code != 0 || out != "pass in proto tcp from any to any port = 22 flags S/SA\n" {
		t.Errorf("-a relayd/ssh -s rules: exit %d, %q, %q", code, out, errs)
	}
	if code, _, errs := run("-a", "relayd/a", "-F", "rules"); code != 0 {
		t.Fatalf("-a relayd/a -F rules: exit %d: %s", code, errs)
	}
	check("wildcard, relayd/a flushed", true, false)
}
