package nftload

import (
	"net/netip"
	"testing"

	"carpfw/rules"
)

func iv(a, b string) rules.Interval {
	return rules.Interval{From: netip.MustParseAddr(a), To: netip.MustParseAddr(b)}
}

func TestIntervalArithmetic(t *testing.T) {
	a := []rules.Interval{iv("10.0.0.0", "10.0.0.255"), iv("10.0.2.0", "10.0.2.255")}
	u := union(a, []rules.Interval{iv("10.0.1.0", "10.0.1.255")})
	if len(u) != 1 || u[0] != iv("10.0.0.0", "10.0.2.255") {
		t.Errorf("union: %v", u)
	}
	s := subtract(u, []rules.Interval{iv("10.0.1.5", "10.0.1.5")})
	if len(s) != 2 || s[0] != iv("10.0.0.0", "10.0.1.4") || s[1] != iv("10.0.1.6", "10.0.2.255") {
		t.Errorf("subtract: %v", s)
	}
	ps := prefixes(iv("10.0.0.0", "10.0.1.4"))
	want := []string{"10.0.0.0/24", "10.0.1.0/30", "10.0.1.4/32"}
	if len(ps) != len(want) {
		t.Fatalf("prefixes: %v", ps)
	}
	for i := range ps {
		if ps[i].String() != want[i] {
			t.Errorf("prefix %d: %v, want %s", i, ps[i], want[i])
		}
	}
	if !covers(s, netip.MustParsePrefix("10.0.0.128/25")) || covers(s, netip.MustParsePrefix("10.0.1.5/32")) {
		t.Errorf("covers wrong on %v", s)
	}
	back := elemsToIntervals([][]byte{{10, 0, 2, 0}, {10, 0, 3, 0}, {10, 0, 0, 0}, {10, 0, 1, 0}, {192, 0, 2, 0}},
		[]bool{false, true, false, true, false})
	if len(back) != 3 || back[0] != iv("10.0.0.0", "10.0.0.255") || back[2] != iv("192.0.2.0", "255.255.255.255") {
		t.Errorf("elemsToIntervals: %v", back)
	}
}
