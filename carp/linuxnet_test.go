package carp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"carpfw/internal/lab"
)

// openNet opens a LinuxNet for carp0 on eth0 inside h.
func openNet(t *testing.T, h *lab.Host, vhid int) *LinuxNet {
	t.Helper()
	c := NewConfig("carp0")
	c.CarpDev, c.VHID = "eth0", vhid
	var n *LinuxNet
	if err := h.Do(func() (err error) {
		n, err = OpenLinuxNet(c, VirtualMAC(uint8(vhid)))
		return err
	}); err != nil {
		t.Fatalf("%s: %v", h, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// sendUntil sends frame from n every 100 ms until to receives an
// advertisement of family, for at most 3 s.
func sendUntil(t *testing.T, n, to *LinuxNet, frame []byte, family int) Inbound {
	t.Helper()
	for range 30 {
		if err := n.Send(frame); err != nil {
			t.Fatal(err)
		}
		timeout := time.After(100 * time.Millisecond)
	wait:
		for {
			select {
			case in := <-to.Inbound():
				if in.Family == family {
					return in
				}
			case <-timeout:
				break wait
			}
		}
	}
	t.Fatalf("no IPv%d advertisement received within 3 s", family)
	return Inbound{}
}

func TestLinuxNetAdvertisementsAndVIPs(t *testing.T) {
	l := lab.New(t)
	sw := l.Switch("lan")
	a, b, c := l.Host("a"), l.Host("b"), l.Host("client")
	for i, h := range []*lab.Host{a, b, c} {
		sw.Attach(h, "eth0")
		h.AddAddr("eth0", "10.88.0."+string(rune('1'+i))+"/24")
	}
	na := openNet(t, a, 7)
	nb := openNet(t, b, 7)

	if mac := a.LinkMAC("carp0"); mac.String() != "00:00:5e:00:01:07" {
		t.Errorf("carp0 MAC %v, want the virtual MAC", mac)
	}
	for _, n := range []*LinuxNet{na, nb} {
		select {
		case up := <-n.LinkEvents():
			if !up {
				t.Error("carpdev reported down at start")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no initial carpdev state")
		}
	}

	// IPv4: a sends, b receives with TTL 255 from a's carpdev address.
	var src4, src6 netip.Addr
	a.Do(func() error {
		src4, _ = na.Source(4)
		src6, _ = na.Source(6)
		return nil
	})
	ad := NewAdvertisement(7, 1, 0, 0, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	payload, _ := ad.MarshalBinary()
	f4, err := AdvertFrame4(VirtualMAC(7), nil, src4, Group4, 1, payload)
	if err != nil {
		t.Fatal(err)
	}
	// The first frames may precede the receiver's group membership taking
	// effect in the macvlan driver: send until one arrives, as a MASTER does.
	in := sendUntil(t, na, nb, f4, 4)
	if in.TTL != 255 || in.Src != src4 || in.Dst != Group4 || len(in.Payload) != 36 {
		t.Errorf("received %+v", in)
	}
	var got Advertisement
	if err := got.UnmarshalBinary(in.Payload); err != nil || got.VHID != 7 {
		t.Errorf("decoded %+v, %v", got, err)
	}
	// IPv6 from the link-local address.
	if !src6.IsValid() {
		t.Fatal("carpdev has no IPv6 link-local address")
	}
	f6, _ := AdvertFrame6(VirtualMAC(7), src6, payload)
	if in := sendUntil(t, na, nb, f6, 6); in.TTL != 255 || in.Src != src6 || len(in.Payload) != 36 {
		t.Errorf("received %+v", in)
	}

	// Virtual addresses: reachable through the virtual MAC while on a's
	// macvlan, not once removed.
	vip := []Address{{Prefix: netip.MustParsePrefix("10.88.0.100/24")}}
	a.Do(func() error { return na.AddVIPs(vip) })
	if out, err := c.Run("ping", "-c1", "-W1", "10.88.0.100"); err != nil {
		t.Fatalf("VIP not reachable while on the macvlan: %v\n%s", err, out)
	}
	if neigh := c.MustRun("ip", "neigh", "show", "10.88.0.100"); !strings.Contains(neigh, "00:00:5e:00:01:07") {
		t.Errorf("client's neighbour entry %q, want the virtual MAC", neigh)
	}
	a.Do(func() error { return na.DelVIPs(vip) })
	c.MustRun("ip", "neigh", "flush", "all")
	if _, err := c.Run("ping", "-c1", "-W1", "10.88.0.100"); err == nil {
		t.Error("VIP still answers after DelVIPs")
	}
	// The carpdev itself never answers for it (arp_ignore).
	for _, h := range []*lab.Host{a, b} {
		for _, p := range h.Addrs("eth0") {
			if p.Addr().String() == "10.88.0.100" {
				t.Errorf("%s: VIP on the carpdev", h)
			}
		}
	}

	// Gratuitous ARP updates the client's cache to the virtual MAC.
	c.MustRun("ip", "neigh", "replace", "10.88.0.100", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "stale")
	garp, _ := GratuitousARP(VirtualMAC(7), netip.MustParseAddr("10.88.0.100"))
	c.Sysctl("net.ipv4.conf.eth0.arp_accept", "1")
	if err := na.Send(garp); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(c.MustRun("ip", "neigh", "show", "10.88.0.100"), "00:00:5e:00:01:07") {
		if time.Now().After(deadline) {
			t.Fatalf("client's cache not updated by the gratuitous ARP: %s", c.MustRun("ip", "neigh", "show", "10.88.0.100"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Carpdev link down is reported.
	b.SetLinkDown("eth0")
	select {
	case up := <-nb.LinkEvents():
		if up {
			t.Error("carpdev down reported as up")
		}
	case <-time.After(2 * time.Second):
		t.Error("carpdev down not reported")
	}
}
