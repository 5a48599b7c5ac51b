package main

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"

	"carpfw/carp"
	"carpfw/internal/lab"
)

// masterDown is 3 × (advbase + advskew/256) for advbase 1, advskew 100
// (fw2's), the current OpenBSD formula (carp.md §3.2).
const masterDown100 = 3 * (time.Second + 100*time.Second/256)

func TestElectionAndCrashFailover(t *testing.T) {
	fw1, fw2, client := pair(t)
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw2.waitState("carp0", carp.Backup, time.Second)
	if out, err := client.Run("ping", "-c1", "-W1", "10.66.0.1"); err != nil {
		t.Fatalf("VIP not reachable: %v\n%s", err, out)
	}
	if n := client.MustRun("ip", "neigh", "show", "10.66.0.1"); !strings.Contains(n, "00:00:5e:00:01:01") {
		t.Errorf("client reaches the VIP at %q, want the virtual MAC", n)
	}
	if hasAddr(fw2.h, "carp0", "10.66.0.1") {
		t.Error("BACKUP holds the virtual address")
	}
	if s := fw1.carpctl("carp0"); !strings.Contains(s, "\tcarp: MASTER carpdev eth0 vhid 1 advbase 1 advskew 0\n") || !strings.Contains(s, "\tstatus: master\n") {
		t.Errorf("carpctl carp0 on the master:\n%s", s)
	}

	// The master host crashes: fw2 takes over after its master-down
	// interval.
	fw1.crash()
	took := fw2.waitState("carp0", carp.Master, masterDown100+2*time.Second)
	t.Logf("fw2 MASTER %v after the crash (master-down %v)", took, masterDown100)
	if took > masterDown100+500*time.Millisecond {
		t.Errorf("takeover took %v, more than master-down %v + 0.5 s", took, masterDown100)
	}
	if out, err := client.Run("ping", "-c1", "-W2", "10.66.0.1"); err != nil {
		t.Errorf("VIP not reachable after failover: %v\n%s", err, out)
	}
}

func TestLinkDownDemotesAndReturnsAsBackup(t *testing.T) {
	fw1, fw2, _ := pair(t)
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw1.h.SetLinkDown("eth0")
	fw1.waitState("carp0", carp.Init, time.Second)
	if got := fw1.carpctl("-g", "carp"); got != "carp: carp demote count 1\n" {
		t.Errorf("after carpdev down: %q", got)
	}
	fw2.waitState("carp0", carp.Master, masterDown100+2*time.Second)
	if hasAddr(fw1.h, "carp0", "10.66.0.1") {
		t.Error("the INIT side still holds the virtual address")
	}
	fw1.h.SetLinkUp("eth0")
	fw1.waitState("carp0", carp.Backup, 2*time.Second)
	if got := fw1.carpctl("-g", "carp"); got != "carp: carp demote count 0\n" {
		t.Errorf("after carpdev up: %q", got)
	}
	// Without preemption fw1 stays BACKUP behind the slower fw2.
	fw1.holdState("carp0", carp.Backup, 4*time.Second)
}

func TestPreemption(t *testing.T) {
	for _, preempt := range []string{"0", "1"} {
		t.Run("preempt="+preempt, func(t *testing.T) {
			fw1, fw2, _ := pair(t)
			for _, f := range []*fw{fw1, fw2} {
				f.carpctl("carp0", "down")
				f.carpctl("sysctl", "net.inet.carp.preempt="+preempt)
			}
			fw2.carpctl("carp0", "up")
			fw2.waitState("carp0", carp.Master, 6*time.Second)
			fw1.carpctl("carp0", "up") // the better node comes late
			if preempt == "1" {
				fw1.waitState("carp0", carp.Master, 5*time.Second)
				fw2.waitState("carp0", carp.Backup, time.Second)
			} else {
				fw1.holdState("carp0", carp.Backup, 5*time.Second)
			}
		})
	}
}

func TestBowOut(t *testing.T) {
	fw1, fw2, _ := pair(t)
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw2.waitState("carp0", carp.Backup, time.Second)
	fw1.carpctl("carp0", "down")
	took := fw2.waitState("carp0", carp.Master, masterDown100)
	t.Logf("fw2 MASTER %v after bow-out (master-down %v)", took, masterDown100)
	if took > masterDown100/3 {
		t.Errorf("takeover after bow-out took %v, want well under master-down %v", took, masterDown100)
	}
}

func TestWrongPassIsCountedAndIgnored(t *testing.T) {
	fw1, fw2, client := pair(t)
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw2.waitState("carp0", carp.Backup, time.Second)
	// A third node with the wrong pass and the best timing.
	fw3 := newFW(t, client)
	fw3.carpctl("carp0", "vhid", "1", "pass", "wrong", "carpdev", "eth0", "advbase", "1", "advskew", "0", "inet", "10.66.0.1/24")
	fw1.holdState("carp0", carp.Master, 5*time.Second)
	fw2.holdState("carp0", carp.Backup, time.Second)
	for _, f := range []*fw{fw1, fw2} {
		if st := f.stats("carp0"); st.BadAuth == 0 {
			t.Errorf("%s: no advertisement counted as bad authentication: %+v", f.h, st)
		}
	}
	if s := fw1.carpctl("stats", "carp0"); !strings.Contains(s, "discarded for bad authentication") {
		t.Errorf("carpctl stats:\n%s", s)
	}
}

func TestIPv6Failover(t *testing.T) {
	fw1, fw2, client := pair(t, "inet6", "2001:db8:66::1/64")
	client.AddAddr("eth0", "2001:db8:66::10/64")
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw2.waitState("carp0", carp.Backup, time.Second)
	if out, err := client.Run("ping", "-6", "-c1", "-W2", "2001:db8:66::1"); err != nil {
		t.Fatalf("IPv6 VIP not reachable: %v\n%s", err, out)
	}
	fw1.crash()
	fw2.waitState("carp0", carp.Master, masterDown100+2*time.Second)
	if out, err := client.Run("ping", "-6", "-c1", "-W2", "2001:db8:66::1"); err != nil {
		t.Errorf("IPv6 VIP not reachable after failover: %v\n%s", err, out)
	}
}

// TestTTLNot255Ignored sends, from the client, an authentic advertisement
// whose demote byte would make the BACKUP take over, once with TTL 254
// (ignored and counted) and once with TTL 255 (obeyed: the control that
// shows the test can fail).
func TestTTLNot255Ignored(t *testing.T) {
	fw1, fw2, client := pair(t)
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	fw2.waitState("carp0", carp.Backup, time.Second)
	frame := func(ttl byte) []byte {
		var counter [8]byte
		counter[7] = ttl
		ad := carp.NewAdvertisement(1, 1, 0, 200, counter)
		ad.HMAC = carp.ComputeHMAC(carp.HMACInput{Pass: "secret", VHID: 1, Addrs: []netip.Addr{netip.MustParseAddr("10.66.0.1")}}, counter)
		payload, _ := ad.MarshalBinary()
		f, err := carp.AdvertFrame4(carp.VirtualMAC(1), nil, netip.MustParseAddr("10.66.0.10"), carp.Group4, 1, payload)
		if err != nil {
			t.Fatal(err)
		}
		ip := f[14:34]
		ip[8], ip[10], ip[11] = ttl, 0, 0
		sum := carp.Checksum(ip)
		ip[10], ip[11] = byte(sum>>8), byte(sum)
		return f
	}
	send := func(f []byte) {
		err := client.Do(func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			c, err := packet.Listen(ifi, packet.Raw, 0, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.WriteTo(f, &packet.Addr{HardwareAddr: net.HardwareAddr(f[:6])})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	before := fw2.stats("carp0").BadTTL
	for range 3 {
		send(frame(254))
		time.Sleep(50 * time.Millisecond)
	}
	fw2.holdState("carp0", carp.Backup, 500*time.Millisecond)
	if got := fw2.stats("carp0").BadTTL - before; got != 3 {
		t.Errorf("badttl counted %d, want 3", got)
	}
	send(frame(255))
	fw2.waitState("carp0", carp.Master, time.Second)
}

// TestGroupDemotionMovesBothLinks: with carp0 on the LAN and carp1 on the
// WAN, the LAN link failing on the master demotes the carp group, so its
// WAN interface yields too and both virtual addresses move.
func TestGroupDemotionMovesBothLinks(t *testing.T) {
	l := lab.New(t)
	lan, wan := l.Switch("lan"), l.Switch("wan")
	h1, h2 := l.Host("fw1"), l.Host("fw2")
	fws := []*fw{newFW(t, h1), newFW(t, h2)}
	for i, f := range fws {
		lan.Attach(f.h, "eth0")
		wan.Attach(f.h, "eth1")
		f.h.AddAddr("eth0", []string{"10.66.0.2/24", "10.66.0.3/24"}[i])
		f.h.AddAddr("eth1", []string{"10.67.0.2/24", "10.67.0.3/24"}[i])
		skew := []string{"0", "100"}[i]
		f.carpctl("carp0", "vhid", "1", "pass", "lan", "carpdev", "eth0", "advskew", skew, "inet", "10.66.0.1/24")
		f.carpctl("carp1", "vhid", "2", "pass", "wan", "carpdev", "eth1", "advskew", skew, "inet", "10.67.0.1/24")
	}
	fw1, fw2 := fws[0], fws[1]
	for _, ifn := range []string{"carp0", "carp1"} {
		fw1.waitState(ifn, carp.Master, 5*time.Second)
		fw2.waitState(ifn, carp.Backup, time.Second)
	}
	fw1.h.SetLinkDown("eth0")
	took := fw2.waitState("carp1", carp.Master, 2*time.Second)
	t.Logf("WAN moved %v after the LAN link went down", took)
	fw2.waitState("carp0", carp.Master, masterDown100+2*time.Second)
	fw1.waitState("carp1", carp.Backup, time.Second)
	if !hasAddr(fw2.h, "carp1", "10.67.0.1") || hasAddr(fw1.h, "carp1", "10.67.0.1") {
		t.Error("the WAN virtual address did not move")
	}
}
