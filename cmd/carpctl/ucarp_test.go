package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"carpfw/carp"
	"carpfw/internal/lab"
)

// TestUcarpInterop runs Debian's ucarp as the peer for one IPv4 virtual
// address with the same pass and vhid, the only setup in which ucarp and
// OpenBSD's CARP compute the same HMAC (carp.md §2.5): carpctl and ucarp
// elect one master and fail over in both directions.
func TestUcarpInterop(t *testing.T) {
	ucarp, err := exec.LookPath("ucarp")
	if err != nil {
		t.Fatal("ucarp not installed (make deps installs it):", err)
	}
	l := lab.New(t)
	sw := l.Switch("lan")
	h1, h2, client := l.Host("fw1"), l.Host("fw2"), l.Host("client")
	for i, h := range []*lab.Host{h1, h2, client} {
		sw.Attach(h, "eth0")
		h.AddAddr("eth0", []string{"10.66.0.2/24", "10.66.0.3/24", "10.66.0.10/24"}[i])
	}
	dir := t.TempDir()
	up, down := filepath.Join(dir, "up.sh"), filepath.Join(dir, "down.sh")
	os.WriteFile(up, []byte("#!/bin/sh\nip addr add 10.66.0.1/24 dev \"$1\"\n"), 0o755)
	os.WriteFile(down, []byte("#!/bin/sh\nip addr del 10.66.0.1/24 dev \"$1\" 2>/dev/null\nexit 0\n"), 0o755)
	ucarpMaster := func() bool { return hasAddr(h2, "eth0", "10.66.0.1") }
	waitUcarp := func(want bool, timeout time.Duration) time.Duration {
		start := time.Now()
		for time.Since(start) < timeout {
			if ucarpMaster() == want {
				return time.Since(start)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("ucarp MASTER=%v not reached within %v", want, timeout)
		return 0
	}

	fw1 := newFW(t, h1)
	fw1.carpctl("carp0", "vhid", "7", "pass", "shared", "carpdev", "eth0", "advskew", "0", "inet", "10.66.0.1/24")
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	uc := h2.Start(ucarp, "--interface=eth0", "--srcip=10.66.0.3", "--vhid=7", "--pass=shared",
		"--addr=10.66.0.1", "--advbase=1", "--advskew=100", "--shutdown",
		"--upscript="+up, "--downscript="+down)

	// ucarp hears carpctl's advertisements (same HMAC) and stays BACKUP;
	// carpctl accepts ucarp's (none counted as bad authentication).
	time.Sleep(5 * time.Second)
	if ucarpMaster() {
		t.Fatalf("ucarp took the address while carpctl was MASTER; ucarp output:\n%s", uc.Output())
	}
	fw1.holdState("carp0", carp.Master, time.Second)
	if st := fw1.stats("carp0"); st.BadAuth != 0 {
		t.Errorf("carpctl rejected ucarp's advertisements: %+v", st)
	}

	// carpctl's host crashes: ucarp takes over.
	fw1.crash()
	took := waitUcarp(true, 6*time.Second)
	t.Logf("ucarp MASTER %v after carpctl's host crashed", took)
	if out, err := client.Run("ping", "-c1", "-W2", "10.66.0.1"); err != nil {
		t.Errorf("VIP not reachable through ucarp: %v\n%s", err, out)
	}
	// carpctl's host comes back: its worker hears ucarp and, without
	// preemption, stays BACKUP behind it.
	fw1.h.SetLinkUp("eth0")
	fw1.carpctl("carp0", "up")
	fw1.waitState("carp0", carp.Backup, 5*time.Second)
	fw1.holdState("carp0", carp.Backup, 3*time.Second)

	// ucarp stops (its downscript removes the address): carpctl takes over.
	uc.Term()
	uc.Wait(5 * time.Second)
	took = fw1.waitState("carp0", carp.Master, 5*time.Second)
	t.Logf("carpctl MASTER %v after ucarp stopped", took)
	waitUcarp(false, time.Second)
	if out, err := client.Run("ping", "-c1", "-W2", "10.66.0.1"); err != nil {
		t.Errorf("VIP not reachable through carpctl: %v\n%s", err, out)
	}
}
