package nftload

import "testing"

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
		return RefreshDynamic(conn, sets, nil)
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
