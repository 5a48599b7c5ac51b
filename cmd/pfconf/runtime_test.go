package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"carpfw/internal/lab"
	"carpfw/internal/rundir"
)

// runtimeLab is a client c (10.0.1.2) wired to host r (10.0.1.1), where
// pfconf runs; r answers TCP on port 22 and 23.
func runtimeLab(t *testing.T) (c, r *lab.Host) {
	l := lab.New(t)
	c, r = l.Host("c"), l.Host("r")
	l.Link(c, "eth0", r, "r0")
	c.AddAddr("eth0", "10.0.1.2/24")
	r.AddAddr("r0", "10.0.1.1/24")
	for _, port := range []string{":22", ":23"} {
		ln, err := r.Listen("tcp", port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				k, err := ln.Accept()
				if err != nil {
					return
				}
				k.Write([]byte("hi\n"))
				time.Sleep(50 * time.Millisecond)
				k.Close()
			}
		}()
	}
	// The state file lives in the namespace's run directory.
	t.Cleanup(func() {
		r.Do(func() error {
			if dir, err := rundir.Resolve(""); err == nil && strings.HasPrefix(dir, rundir.Base+"/") {
				os.RemoveAll(dir)
			}
			return nil
		})
	})
	return c, r
}

func connect(c *lab.Host, addr string) error {
	k, err := c.DialTimeout("tcp", addr, 700*time.Millisecond)
	if err != nil {
		return err
	}
	defer k.Close()
	k.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	_, err = k.Read(make([]byte, 8))
	return err
}

const runtimeConf = `table <bad> { 10.9.0.0/16 }
block return all
pass in proto tcp to port 22 label "ssh"
block in quick from <bad>
`

// TestRuntimeCommands drives -f, -s rules -v, -s labels, -s states,
// -s Tables, -T show/add/test/delete/replace/flush, -d/-e and -F with
// real traffic, checking pfctl's formats, messages and exit statuses.
func TestRuntimeCommands(t *testing.T) {
	c, r := runtimeLab(t)
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errs := pfconf(t, r, args...)
		if code != want {
			t.Fatalf("pfconf %s: exit %d, want %d; stderr %q", strings.Join(args, " "), code, want, errs)
		}
		return out, errs
	}
	run(0, "-f", writeConf(t, "pf.conf", runtimeConf))
	if err := connect(c, "10.0.1.1:22"); err != nil {
		t.Fatalf("ssh should pass: %v", err)
	}
	if err := connect(c, "10.0.1.1:23"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("telnet should get a RST from block return: %v", err)
	}
	out, _ := run(0, "-s", "rules", "-v")
	lines := strings.Split(out, "\n")
	if lines[0] != "block return all" || lines[3] != `pass in proto tcp from any to any port = 22 flags S/SA label "ssh"` {
		t.Errorf("-s rules -v:\n%s", out)
	}
	if !strings.HasPrefix(lines[4], "  [ Evaluations: 1  ") || !strings.Contains(lines[4], "Packets: 1  ") {
		t.Errorf("ssh rule counters: %q", lines[4])
	}
	out, _ = run(0, "-sl")
	if !strings.HasPrefix(out, "ssh 1 1 ") {
		t.Errorf("-s labels: %q", out)
	}
	out, _ = run(0, "-ss")
	if !strings.Contains(out, "all tcp 10.0.1.1:22 <- 10.0.1.2:") {
		t.Errorf("-s states: %q", out)
	}
	out, _ = run(0, "-sT")
	if out != "bad\n" {
		t.Errorf("-s Tables: %q", out)
	}
	_, errs := run(0, "-t", "bad", "-T", "add", "10.9.1.0/24", "192.0.2.1")
	if errs != "1/2 addresses added.\n" {
		t.Errorf("-T add: %q", errs)
	}
	out, _ = run(0, "-t", "bad", "-T", "show")
	if out != "   10.9.0.0/16\n   192.0.2.1\n" {
		t.Errorf("-T show: %q", out)
	}
	_, errs = run(2, "-t", "bad", "-T", "test", "192.0.2.1", "192.0.2.2")
	if errs != "1/2 addresses match.\n" {
		t.Errorf("-T test: %q", errs)
	}
	run(0, "-t", "bad", "-T", "test", "10.9.3.4")
	run(0, "-t", "bad", "-T", "add", "10.0.1.2")
	if err := connect(c, "10.0.1.1:22"); err == nil {
		t.Errorf("client in <bad> still connects")
	}
	_, errs = run(0, "-t", "bad", "-T", "delete", "10.0.1.2")
	if errs != "1/1 addresses deleted.\n" {
		t.Errorf("-T delete: %q", errs)
	}
	if err := connect(c, "10.0.1.1:22"); err != nil {
		t.Errorf("client removed from <bad> cannot connect: %v", err)
	}
	_, errs = run(0, "-t", "bad", "-T", "replace", "10.9.0.0/16", "192.0.2.1")
	if errs != "no changes.\n" {
		t.Errorf("-T replace: %q", errs)
	}
	_, errs = run(0, "-t", "bad", "-T", "flush")
	if errs != "2 addresses deleted.\n" {
		t.Errorf("-T flush: %q", errs)
	}
	_, errs = run(255, "-t", "nope", "-T", "show")
	if errs != "pfconf: Table does not exist\n" {
		t.Errorf("-T show of a missing table: %q", errs)
	}
	// -d keeps the ruleset but stops filtering; -e restores it.
	_, errs = run(0, "-d")
	if errs != "pf disabled\n" {
		t.Errorf("-d: %q", errs)
	}
	run(1, "-d")
	if err := connect(c, "10.0.1.1:23"); err != nil {
		t.Errorf("disabled pf still blocks: %v", err)
	}
	out, _ = run(0, "-sr")
	if !strings.HasPrefix(out, "block return all\n") {
		t.Errorf("rules lost by -d: %q", out)
	}
	_, errs = run(0, "-e")
	if errs != "pf enabled\n" {
		t.Errorf("-e: %q", errs)
	}
	run(1, "-e")
	if err := connect(c, "10.0.1.1:23"); err == nil {
		t.Errorf("enabled pf passes telnet")
	}
	_, errs = run(0, "-F", "rules")
	if errs != "rules cleared\n" {
		t.Errorf("-F rules: %q", errs)
	}
	if err := connect(c, "10.0.1.1:23"); err != nil {
		t.Errorf("no rules, still blocked: %v", err)
	}
	out, _ = run(0, "-sT")
	if out != "bad\n" {
		t.Errorf("-F rules lost the tables: %q", out)
	}
	_, errs = run(0, "-F", "states")
	if errs != "2 states cleared\n" { // the two ssh connections that passed
		t.Errorf("-F states: %q", errs)
	}
	if out, _ := run(0, "-ss"); out != "" {
		t.Errorf("states after -F states: %q", out)
	}
	_, errs = run(0, "-F", "all")
	if errs != "rules cleared\n0 states cleared\n1 tables deleted.\n" {
		t.Errorf("-F all: %q", errs)
	}
	if out := r.MustRun("nft", "list", "ruleset"); strings.Contains(out, "pfconf") {
		t.Errorf("-F all left:\n%s", out)
	}
}

// TestNoSyncMark checks that a state created by a no-sync rule carries
// the no-sync bit in its conntrack mark (rules.CtNoSync), and one from a
// plain rule does not.
func TestNoSyncMark(t *testing.T) {
	c, r := runtimeLab(t)
	conf := "block all\npass in proto tcp to port 22 keep state (no-sync)\npass in proto tcp to port 23\n"
	if code, _, errs := pfconf(t, r, "-f", writeConf(t, "pf.conf", conf)); code != 0 {
		t.Fatalf("load: %s", errs)
	}
	for _, p := range []string{":22", ":23"} {
		if err := connect(c, "10.0.1.1"+p); err != nil {
			t.Fatalf("connect %s: %v", p, err)
		}
	}
	out := r.MustRun("conntrack", "-L", "-p", "tcp")
	var saw22, saw23 bool
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "dport=22 "):
			saw22 = true
			if !strings.Contains(line, "mark=2147483649") { // 0x80000001: no-sync | inbound state
				t.Errorf("no-sync state: %s", line)
			}
		case strings.Contains(line, "dport=23 "):
			saw23 = true
			if !strings.Contains(line, "mark=1 ") {
				t.Errorf("plain state: %s", line)
			}
		}
	}
	if !saw22 || !saw23 {
		t.Errorf("conntrack lacks the states:\n%s", out)
	}
}
