package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carpfw/carp"
	"carpfw/internal/lab"
)

// TestCarppeerUnicast: with carppeer both sides advertise by unicast to
// each other, elect one master and fail over; a multicast listener (the
// client) sees no advertisement at all.
func TestCarppeerUnicast(t *testing.T) {
	fw1, fw2, client := pair(t)
	fw1.carpctl("carp0", "carppeer", "10.66.0.3")
	fw2.carpctl("carp0", "carppeer", "10.66.0.2")
	fw1.waitState("carp0", carp.Master, 6*time.Second)
	fw2.waitState("carp0", carp.Backup, 6*time.Second)
	if s := fw1.carpctl("carp0"); !strings.Contains(s, "advskew 0 carppeer 10.66.0.3\n") {
		t.Errorf("status lacks the carppeer:\n%s", s)
	}
	fw2.holdState("carp0", carp.Backup, 2*time.Second)
	if out, err := client.RunTimeout(10*time.Second, "timeout", "2", "tcpdump", "-i", "eth0", "-n", "-c", "1", "dst", "224.0.0.18"); err == nil && strings.Contains(out, "224.0.0.18") {
		t.Errorf("multicast advertisements seen with carppeer set:\n%s", out)
	}
	fw1.crash()
	fw2.waitState("carp0", carp.Master, masterDown100+2*time.Second)
}

// TestForcedState: a forced state is one-shot and the protocol goes on
// (carp.md §3.3). "state master" on the slower backup takes over until the
// better peer's next advertisement; "state backup" on the master steps
// down, and it takes over again when its master-down interval, shorter
// than the slower peer's, runs out.
func TestForcedState(t *testing.T) {
	fw1, fw2, _ := pair(t)
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw2.waitState("carp0", carp.Backup, time.Second)
	// fw2's MASTER lasts until fw1's next advertisement, at most 1 s: it
	// can be over before carpctl returns, so look at the transition count.
	before := fw2.stats("carp0").Preempt
	fw2.carpctl("carp0", "state", "master")
	for end := time.Now().Add(2 * time.Second); fw2.stats("carp0").Preempt == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("state master: fw2 never became MASTER\n%s", fw2.log("carp0"))
		}
	}
	// fw2 is slower: fw1 stays MASTER and fw2 yields at fw1's next
	// advertisement (carp.md §3.3).
	fw2.waitState("carp0", carp.Backup, 2*time.Second)
	fw1.waitState("carp0", carp.Master, time.Second)
	fw1.carpctl("carp0", "state", "backup")
	fw1.waitState("carp0", carp.Backup, time.Second)
	fw1.waitState("carp0", carp.Master, 3*time.Second+time.Second)
	fw2.holdState("carp0", carp.Backup, time.Second)
}

// TestNetstartSeed applies the seed's hostname.carp0 and hostname.carp1,
// copied verbatim from the OpenBSD firewalls (old one-line form without
// carpdev), on two firewalls with sis0 and sis1 links.
func TestNetstartSeed(t *testing.T) {
	seed, err := filepath.Abs("../../testdata/seed")
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(t)
	ext, in := l.Switch("ext"), l.Switch("int")
	h1, h2 := l.Host("fw1"), l.Host("fw2")
	fws := []*fw{newFW(t, h1), newFW(t, h2)}
	for i, f := range fws {
		ext.Attach(f.h, "sis0")
		in.Attach(f.h, "sis1")
		f.h.AddAddr("sis0", []string{"10.0.0.2/24", "10.0.0.3/24"}[i])
		f.h.AddAddr("sis1", []string{"192.168.0.2/24", "192.168.0.3/24"}[i])
	}
	out, err := fws[0].run("netstart", "-n", "--dir", seed)
	if err != nil {
		t.Fatalf("netstart -n: %v\n%s", err, out)
	}
	if !strings.Contains(out, "carpctl carp0 carpdev sis0 inet 10.0.0.1 netmask 255.255.255.0 broadcast 10.0.0.255 vhid 1 pass foo\n") ||
		!strings.Contains(out, "carpctl carp1 carpdev sis1 inet 192.168.0.1 netmask 255.255.255.0 broadcast 192.168.0.255 vhid 2 pass bar\n") ||
		!strings.Contains(out, "warning: "+seed+"/hostname.carp0:1: no carpdev; using sis0") {
		t.Errorf("netstart -n:\n%s", out)
	}
	for _, f := range fws {
		f.carpctl("netstart", "--dir", seed)
	}
	fws[1].carpctl("carp0", "advskew", "100")
	fws[1].carpctl("carp1", "advskew", "100")
	for _, ifn := range []string{"carp0", "carp1"} {
		fws[0].waitState(ifn, carp.Master, 6*time.Second)
		fws[1].waitState(ifn, carp.Backup, 6*time.Second)
	}
	if !hasAddr(h1, "carp0", "10.0.0.1") || !hasAddr(h1, "carp1", "192.168.0.1") {
		t.Error("the master lacks the seed's virtual addresses")
	}

	// A file with an error changes nothing, and says where the error is.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "hostname.carp0"), []byte("advskew 50\nvhid 300\n"), 0o640)
	out, err = fws[0].run("netstart", "--dir", bad, "carp0")
	if err == nil || !strings.Contains(out, bad+"/hostname.carp0:2: vhid 300: too large") {
		t.Errorf("bad file: %v\n%s", err, out)
	}
	if s := fws[0].carpctl("carp0"); !strings.Contains(s, "advskew 0\n") {
		t.Errorf("a bad file changed carp0:\n%s", s)
	}
}

// TestThreeNodes: on one switch, the fastest of three nodes is MASTER;
// when it dies the next fastest takes over and the third stays BACKUP.
func TestThreeNodes(t *testing.T) {
	fw1, fw2, h3 := pair(t)
	fw2.carpctl("carp0", "advskew", "50")
	fw3 := newFW(t, h3)
	fw3.carpctl("carp0", "vhid", "1", "pass", "secret", "carpdev", "eth0", "advskew", "100", "inet", "10.66.0.1/24")
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw2.waitState("carp0", carp.Backup, 5*time.Second)
	fw3.waitState("carp0", carp.Backup, 5*time.Second)
	fw1.killWorker("carp0")
	fw2.waitState("carp0", carp.Master, 3*(time.Second+50*time.Second/256)+2*time.Second)
	fw3.holdState("carp0", carp.Backup, 2*time.Second)
}
