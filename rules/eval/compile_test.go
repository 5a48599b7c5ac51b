package eval

import (
	"math/rand"
	"testing"

	"carpfw/rules"
)

// TestRandomRulesetsCompile checks the promise of RandomRuleset: its
// rulesets use only features carpfw's nftables compiler accepts, so a
// differential test can load every one of them.
func TestRandomRulesetsCompile(t *testing.T) {
	h := testHost()
	for _, o := range []RandomOptions{{}, {Anchors: true, Rules: 12}, {NAT: true, Rules: 12}} {
		for seed := int64(0); seed < 200; seed++ {
			conf := RandomRuleset(rand.New(rand.NewSource(seed)), o)
			l := load(t, conf, nil)
			_, err := rules.Compile(l.Rules, rules.CompileOptions{Tables: l.Tables, Skip: l.Skip,
				Groups: GroupsOf(h), IfAddrs: IfAddrsOf(h)})
			if err != nil {
				t.Fatalf("seed %d anchors %v: %v\n%s", seed, o.Anchors, err, conf)
			}
		}
	}
}

func TestHostFuncs(t *testing.T) {
	h := testHost()
	if m, ok := GroupsOf(h)("egress"); !ok || len(m) != 1 || m[0] != "em0" {
		t.Errorf("ok, egress: got %v %v", m, ok)
	}
	if m, ok := GroupsOf(h)("em"); !ok || len(m) != 3 {
		t.Errorf("ok, driver group em: got %v %v", m, ok)
	}
	if _, ok := GroupsOf(h)("nosuch"); ok {
		t.Error("bad, unknown group found")
	}
	if got := IfAddrsOf(h)("em0"); len(got) != 2 || got[0].String() != "192.0.2.1/24" {
		t.Errorf("ok, em0 addresses: got %v", got)
	}
	if got := IfAddrsOf(nil)("em0"); got != nil {
		t.Errorf("bad, nil host has addresses: %v", got)
	}
}
