package eval

import (
	"math/rand"
	"strings"
	"testing"

	"carpfw/rules"
)

// printed renders a loaded ruleset the way pfctl -nv prints it.
func printed(l *Loaded) string {
	var w strings.Builder
	for _, t := range l.Tables {
		rules.PrintTable(&w, t)
	}
	rules.PrintRuleset(&w, l.Rules, 0, false)
	return w.String()
}

// TestPrintedFormEvaluatesAlike checks that a random ruleset and its
// pfctl-printed form decide every packet of a random sequence (with
// replies, so states come into play) the same way.
func TestPrintedFormEvaluatesAlike(t *testing.T) {
	opts := []RandomOptions{{}, {Anchors: true, Rules: 12}, {NoTables: true, NoMatch: true, Interfaces: []string{"em0", "em1", "em2"}}, {NAT: true, Anchors: true}}
	for seed := int64(0); seed < 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		o := opts[seed%int64(len(opts))]
		conf := RandomRuleset(r, o)
		l1 := load(t, conf, nil)
		text := printed(l1)
		l2 := load(t, text, nil)
		if again := printed(l2); again != text {
			t.Fatalf("seed %d: printing is not stable:\n%s\n---\n%s", seed, text, again)
		}
		e1, e2 := l1.New(testHost()), l2.New(testHost())
		for i := 0; i < 60; i++ {
			p := RandomPacket(r, o)
			pkts := []Packet{p}
			if r.Intn(2) == 0 {
				pkts = append(pkts, Reply(p))
			}
			for _, q := range pkts {
				v1, v2 := e1.Eval(q), e2.Eval(q)
				if v1.String() != v2.String() {
					t.Fatalf("seed %d packet %v:\n%s\n gives %s\nprinted\n%s\n gives %s", seed, q, conf, v1, text, v2)
				}
			}
		}
	}
}

// TestRandomRulesetsDecide makes sure random rulesets are useful: they
// parse, and over many packets both verdicts, states, stateful replies,
// returns and non-default rules all occur.
func TestRandomRulesetsDecide(t *testing.T) {
	seen := map[string]int{}
	for seed := int64(0); seed < 200; seed++ {
		r := rand.New(rand.NewSource(seed))
		e := load(t, RandomRuleset(r, RandomOptions{}), nil).New(testHost())
		for i := 0; i < 40; i++ {
			p := RandomPacket(r, RandomOptions{})
			v := e.Eval(p)
			seen[map[int]string{rules.ActionPass: "pass", rules.ActionBlock: "block"}[v.Action]]++
			if v.State != nil && !v.StateMatch {
				seen["keep"]++
				if Reply := e.Eval(Reply(p)); Reply.StateMatch {
					seen["reply by state"]++
				}
			}
			if v.Return != ReturnNone {
				seen["return"]++
			}
			if v.RuleNr < 0 {
				seen["default"]++
			}
			if v.Quick {
				seen["quick"]++
			}
		}
	}
	for _, k := range []string{"pass", "block", "keep", "reply by state", "return", "default", "quick"} {
		if seen[k] < 20 {
			t.Errorf("only %d verdicts with %q: %v", seen[k], k, seen)
		}
	}
}

func TestReply(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"ok, syn gets syn-ack", "out em0 tcp 10.0.0.1:1000 > 192.0.2.1:80 S", "in on em0 proto 6 192.0.2.1:80 > 10.0.0.1:1000 flags SA"},
		{"ok, echo gets echo reply", "in em0 icmp 10.0.0.1 > 192.0.2.1 type=8 id=4", "out on em0 proto 1 192.0.2.1 > 10.0.0.1 icmp 0/0 id 4"},
	} {
		if got := Reply(pkt(tc.in)).String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRandomRulesetOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  RandomOptions
		never []string
	}{
		{"ok, defaults use no anchors and no translation", RandomOptions{}, []string{"anchor", "nat-to", "rdr-to", "inet6"}},
		{"ok, No* options switch features off", RandomOptions{NoTables: true, NoReturn: true, NoState: true, NoMatch: true, NoQuick: true, NoFlags: true},
			[]string{"<t>", "return", "no state", "match", "quick", "flags"}},
		{"ok, interfaces are the given ones", RandomOptions{Interfaces: []string{"vio3"}}, []string{"em0", "em1"}},
	} {
		for seed := int64(0); seed < 100; seed++ {
			conf := RandomRuleset(rand.New(rand.NewSource(seed)), tc.opts)
			for _, bad := range tc.never {
				if strings.Contains(conf, bad) {
					t.Fatalf("%s: seed %d has %q:\n%s", tc.name, seed, bad, conf)
				}
			}
			load(t, conf, nil)
		}
	}
}

// reversedQuick is the first-match form of a ruleset without quick,
// match rules or anchors: the rules in reverse order, each quick.
func reversedQuick(rs *rules.Ruleset) *rules.Ruleset {
	out := &rules.Ruleset{}
	for i := len(rs.Rules) - 1; i >= 0; i-- {
		r := *rs.Rules[i]
		r.Quick = true
		r.Nr = len(out.Rules)
		out.Rules = append(out.Rules, &r)
	}
	return out
}

// TestLastMatchIsReversedFirstMatch checks the evaluator against an
// independent formulation of pf's rule: without quick, the last matching
// rule wins, which is the first matching rule of the reversed ruleset
// with every rule quick.
func TestLastMatchIsReversedFirstMatch(t *testing.T) {
	o := RandomOptions{NoQuick: true, NoMatch: true, Rules: 10}
	for seed := int64(0); seed < 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		conf := RandomRuleset(r, o)
		l := load(t, conf, nil)
		n := len(l.Rules.Rules)
		e1 := l.New(testHost())
		l2 := *l
		l2.Rules = reversedQuick(l.Rules)
		e2 := l2.New(testHost())
		for i := 0; i < 60; i++ {
			p := RandomPacket(r, o)
			for _, q := range []Packet{p, Reply(p)} {
				v1, v2 := e1.Eval(q), e2.Eval(q)
				nr := v2.RuleNr
				if nr >= 0 && !v2.StateMatch {
					nr = n - 1 - nr
				}
				if v1.Outcome() != v2.Outcome() || (!v1.StateMatch && v1.RuleNr != nr) {
					t.Fatalf("seed %d packet %v:\n%s\nlast match: %s\nreversed first match: %s (rule %d)", seed, q, conf, v1, v2, nr)
				}
			}
		}
	}
}

func TestRandomNATTranslates(t *testing.T) {
	o := RandomOptions{NAT: true, Rules: 10}
	nat, back := 0, 0
	for seed := int64(0); seed < 200; seed++ {
		r := rand.New(rand.NewSource(seed))
		e := load(t, RandomRuleset(r, o), nil).New(testHost())
		for i := 0; i < 40; i++ {
			p := RandomPacket(r, o)
			v := e.Eval(p)
			if v.Translation == nil || v.StateMatch {
				continue
			}
			nat++
			// The reply travels to the translated addresses.
			q := Reply(p)
			q.Src, q.Dst = v.Translation.Dst, v.Translation.Src
			if p.Proto == ProtoTCP || p.Proto == ProtoUDP {
				q.SrcPort, q.DstPort = v.Translation.DstPort, v.Translation.SrcPort
			}
			if w := e.Eval(q); w.StateMatch && w.Translation != nil && w.Translation.Dst == p.Src {
				back++
			} else {
				t.Errorf("seed %d: reply %v to %v (%s) got %s", seed, q, p, v, w)
			}
		}
	}
	if nat < 50 || back != nat {
		t.Errorf("ok, translations: %d, replies translated back: %d", nat, back)
	}
}
