package nftload

import (
	"fmt"
	"net/netip"
	"testing"

	"carpfw/carp"
	"carpfw/internal/ctl"
)

// TestRefreshDynamic: a rule "to (r0)" follows a new address of r0
// once the (if) sets are refreshed, as pf follows interface addresses.
func TestRefreshDynamic(t *testing.T) {
	tp := newTopo(t)
	if err := tp.load("block all\npass in on r0 to (r0)\n", nil); err != nil {
		t.Fatal(err)
	}
	tp.r.AddAddr("r0", "10.0.1.5/24")
	if got, _ := tcp(tp.c, "10.0.1.5:2222"); got != drop {
		t.Fatalf("new address before refresh: %s, want drop", got)
	}
	var sets []DynSet
	err := tp.r.Do(func() error {
		prog, err := Compile(Source{Name: "pf.conf", Data: []byte("pass in on r0 to (r0)\n")})
		if err != nil {
			return err
		}
		sets = DynSets(prog)
		conn, err := Dial()
		if err != nil {
			return err
		}
		return RefreshDynamic(conn, sets, nil, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 {
		t.Errorf("dynamic sets: %+v", sets)
	}
	if got, _ := tcp(tp.c, "10.0.1.5:2222"); got != pass {
		t.Errorf("new address after refresh: %s, want pass", got)
	}
	if got, _ := tcp(tp.c, rtrIn+":2222"); got != pass {
		t.Errorf("old address after refresh: %s, want pass", got)
	}
}

// TestSourceHashSticky: with source-hash the same client is always
// translated to the same pool address.
func TestSourceHashSticky(t *testing.T) {
	tp := newTopo(t)
	if err := tp.load("pass out on r1 from 10.0.1.0/24 nat-to { 10.0.2.1, 10.0.2.9 } source-hash\n", nil); err != nil {
		t.Fatal(err)
	}
	first := ""
	for i := 0; i < 4; i++ {
		got, seen := tcp(tp.c, srv+":22")
		if got != pass || (seen != "10.0.2.1" && seen != "10.0.2.9") {
			t.Fatalf("probe %d: %s, seen as %q", i, got, seen)
		}
		if first == "" {
			first = seen
		}
		if seen != first {
			t.Errorf("probe %d seen as %s, earlier as %s", i, seen, first)
		}
	}
}

// TestHostIfAddrsCarp: (carp0) holds carp0's virtual addresses from its
// worker's configuration in every carp state, as on OpenBSD where a
// BACKUP's carp0 keeps its address; other names ask the kernel.
func TestHostIfAddrsCarp(t *testing.T) {
	dir := t.TempDir()
	cfg := carp.NewConfig("carp0")
	cfg.Addrs = []carp.Address{{Prefix: netip.MustParsePrefix("192.0.2.10/24")}, {Prefix: netip.MustParsePrefix("2001:db8::10/64")}}
	if err := ctl.SaveState(dir, "carp0", cfg); err != nil {
		t.Fatal(err)
	}
	addrs := HostIfAddrs(dir)
	if got := fmt.Sprint(addrs("carp0")); got != "[192.0.2.10/24 2001:db8::10/64]" {
		t.Errorf("carp0: %s", got)
	}
	if got := addrs("carp1"); len(got) != 0 {
		t.Errorf("carp1 (no worker, no interface): %v", got)
	}
	d := DynSet{Set: "if_carp0_4", If: "carp0"}
	if got := fmt.Sprint(DynSetPrefixes(d, nil, addrs)); got != "[192.0.2.10/32]" {
		t.Errorf("(carp0) inet set: %s", got)
	}
}
