package main

import (
	"strings"
	"testing"
	"time"

	"carpfw/carp"
)

// TestStreamSurvivesFailoverAndFailback: a TCP stream from the client to
// the server through the virtual addresses survives the master's crash
// (fw2 takes over with the state pfsync gave it) and the failback (fw1
// reboots with an empty conntrack table, gets the states by bulk update
// while demoted, then preempts), without a reset.
func TestStreamSurvivesFailoverAndFailback(t *testing.T) {
	testFailover(t, false)
}

// TestNATStreamSurvivesFailover is the same through source NAT to the WAN
// virtual address: the translation itself is replicated (CTA_NAT_SRC).
func TestNATStreamSurvivesFailover(t *testing.T) {
	testFailover(t, true)
}

func testFailover(t *testing.T, nat bool) {
	c := newCluster(t, clusterOpts{preempt: true, nat: nat})
	fw1, fw2 := c.fw[0], c.fw[1]
	c.startPfsync(0)
	c.startPfsync(1)
	waitBulkDone(t, fw1, fw2)
	c.startCarp(0, "0")
	c.startCarp(1, "100")
	fw1.waitCarp(carp.Master, 6*time.Second)
	fw2.waitCarp(carp.Backup, 2*time.Second)

	s := startStream(t, c.client, c.server, "10.20.0.100:5001")
	if _, ok := s.progresses(0, 5*time.Second); !ok {
		t.Fatal("no echo through fw1")
	}
	waitCT(t, fw2, 3*time.Second, "-p", "tcp", "--dport", "5001", "--state", "ESTABLISHED")
	if nat {
		out, _ := fw2.h.Run("conntrack", "-L", "-p", "tcp", "--dport", "5001")
		if !strings.Contains(out, "dst=10.20.0.1 ") {
			t.Errorf("fw2's copy is not translated to the WAN VIP:\n%s", out)
		}
	}

	n, _ := s.count()
	crashAt := time.Now()
	fw1.crash(true)
	took := fw2.waitCarp(carp.Master, 8*time.Second)
	t.Logf("fw2 MASTER %v after fw1's crash", took)
	d, ok := s.progresses(n, 20*time.Second)
	if !ok {
		t.Fatalf("the stream did not resume on fw2 within 20 s\n%s", c.diag(fw2))
	}
	s.mu.Lock()
	t.Logf("stream resumed %v after the crash (waited %v for 5 echoes); longest gap so far %v", time.Since(crashAt), d, s.gap)
	s.mu.Unlock()

	// Failback: fw1 comes back with an empty table. It must not take
	// over before its bulk update is complete.
	for _, ifname := range []string{"eth0", "eth1", "sync0"} {
		fw1.h.SetLinkUp(ifname)
	}
	if got := fw1.ctCount("-p", "tcp", "--dport", "5001"); got != 0 {
		t.Fatalf("fw1 has %d entries after the reboot", got)
	}
	fw1.pfsyncctl("pfsync0", "up")
	fw1.carpctl("carp0", "up")
	fw1.carpctl("carp1", "up")
	took = fw1.waitCarp(carp.Master, 15*time.Second)
	t.Logf("fw1 MASTER again %v after its restart", took)
	if st := fw1.stats(); st.BulkReceived != 1 {
		t.Errorf("fw1 took over without a complete bulk update: %+v", st)
	}
	n, _ = s.count()
	if _, ok := s.progresses(n, 20*time.Second); !ok {
		t.Fatalf("the stream did not resume on fw1 after the failback\n%s", c.diag(fw1))
	}
	s.mu.Lock()
	t.Logf("longest gap between echoes %v; %d echoes, no error", s.gap, s.n)
	s.mu.Unlock()
}

// TestStreamBreaksWithoutPfsync is the control: the same failover without
// pfsync must stall the stream, or the test above could not fail.
func TestStreamBreaksWithoutPfsync(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	fw1, fw2 := c.fw[0], c.fw[1]
	c.startCarp(0, "0")
	c.startCarp(1, "100")
	fw1.waitCarp(carp.Master, 6*time.Second)
	fw2.waitCarp(carp.Backup, 2*time.Second)
	s := startStream(t, c.client, c.server, "10.20.0.100:5001")
	if _, ok := s.progresses(0, 5*time.Second); !ok {
		t.Fatal("no echo through fw1")
	}
	n, _ := s.count()
	fw1.crash(true)
	fw2.waitCarp(carp.Master, 8*time.Second)
	time.Sleep(10 * time.Second)
	if m, _ := s.count(); m > n+2 {
		t.Fatalf("the stream went on through fw2 without pfsync (%d → %d echoes): the failover test proves nothing", n, m)
	}
	if got := fw2.ctCount("-p", "tcp", "--dport", "5001"); got != 0 {
		t.Errorf("fw2 has %d entries for the stream without pfsync", got)
	}
	t.Logf("without pfsync the stream stalled on fw2, as it must")
}

func waitBulkDone(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if n.stats().Bulk == "done" {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%s: bulk update not done: %+v\n%s", n.h, n.stats(), n.log("pfsync0"))
			}
		}
	}
}

// waitCT waits until n's conntrack table has an entry matching args.
func waitCT(t *testing.T, n *node, within time.Duration, args ...string) {
	t.Helper()
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if n.ctCount(args...) > 0 {
			return
		}
	}
	out, _ := n.h.Run("conntrack", "-L")
	t.Fatalf("%s: no conntrack entry %v within %v:\n%s\npfsync log:\n%s", n.h, args, within, out, n.log("pfsync0"))
}
