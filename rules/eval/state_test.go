package eval

import (
	"testing"
)

func TestStates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conf  string
		steps []step
	}{
		{"ok, a reply passes by the state, not by the rules", "block all\npass out on em0 proto tcp\n", []step{
			{"out em0 tcp 192.0.2.1:40000 > 198.51.100.1:80 S", "pass @1 keep"},
			{"in em0 tcp 198.51.100.1:80 > 192.0.2.1:40000 SA", "pass state"},
			{"out em0 tcp 192.0.2.1:40000 > 198.51.100.1:80 A", "pass state"},
			{"in em0 tcp 198.51.100.1:80 > 192.0.2.1:40001 SA", "block @0"},
		}},
		{"bad, the same flow in the other direction is another key", "block in all\npass out on em0 proto tcp\n", []step{
			{"out em0 tcp 192.0.2.1:40000 > 198.51.100.1:80 S", "pass @1 keep"},
			{"in em0 tcp 192.0.2.1:40000 > 198.51.100.1:80 S", "block @0"},
		}},
		{"ok, states float across interfaces by default", "block all\npass in on em1 proto udp\n", []step{
			{"in em1 udp 10.0.0.2:5000 > 10.0.0.1:53", "pass @1 keep"},
			{"out em2 udp 10.0.0.1:53 > 10.0.0.2:5000", "pass state"},
		}},
		{"bad, an if-bound state only matches its interface", "set state-policy if-bound\nblock all\npass in on em1 proto udp\n", []step{
			{"in em1 udp 10.0.0.2:5000 > 10.0.0.1:53", "pass @1 keep"},
			{"out em2 udp 10.0.0.1:53 > 10.0.0.2:5000", "block @0"},
			{"out em1 udp 10.0.0.1:53 > 10.0.0.2:5000", "pass state"},
		}},
		{"bad, no state: replies meet the rules again", "block all\npass out proto udp no state\n", []step{
			{"out em0 udp 192.0.2.1:5000 > 198.51.100.1:53", "pass @1"},
			{"in em0 udp 198.51.100.1:53 > 192.0.2.1:5000", "block @0"},
		}},
		{"ok, icmp echo replies match by id", "block all\npass out inet proto icmp\n", []step{
			{"out em0 icmp 192.0.2.1 > 198.51.100.1 type=8 id=7", "pass @1 keep"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=0 id=7", "pass state"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=0 id=8", "block @0"},
		}},
		{"ok, a state keeps its tag for later packets", "pass in on em1 tag LAN\n", []step{
			{"in em1 udp 10.0.0.2:5000 > 198.51.100.1:53", "pass @0 keep tag LAN"},
			{"in em1 udp 10.0.0.2:5000 > 198.51.100.1:53", "pass state tag LAN"},
		}},
		{"ok, nat-to picks free ports and replies are translated back", "block all\npass out on em0 from 10.0.0.0/24 nat-to 192.0.2.1\n", []step{
			{"out em0 tcp 10.0.0.7:1234 > 198.51.100.1:53 S", "pass @1 keep nat 192.0.2.1:50001 > 198.51.100.1:53"},
			{"out em0 tcp 10.0.0.8:1234 > 198.51.100.1:53 S", "pass @1 keep nat 192.0.2.1:50002 > 198.51.100.1:53"},
			{"in em0 tcp 198.51.100.1:53 > 192.0.2.1:50001 SA", "pass state nat 198.51.100.1:53 > 10.0.0.7:1234"},
			{"in em0 tcp 198.51.100.1:53 > 192.0.2.1:50003 SA", "block @0"},
			{"out em0 tcp 10.0.1.7:1234 > 198.51.100.1:53 S", "block @0"},
		}},
		{"ok, static-port keeps the source port", "pass out on em0 nat-to 192.0.2.1 static-port\n", []step{
			{"out em0 udp 10.0.0.7:1234 > 198.51.100.1:53", "pass @0 keep nat 192.0.2.1:1234 > 198.51.100.1:53"},
		}},
		{"ok, rdr-to rewrites the destination, replies come back from it", "block all\npass in on em0 proto tcp to 192.0.2.1 port 80 rdr-to 10.0.0.5 port 8080\npass in on em0 proto tcp to 192.0.2.1 port 8000:8010 rdr-to 10.0.0.6 port 9000:*\n", []step{
			{"in em0 tcp 198.51.100.1:5555 > 192.0.2.1:80 S", "pass @1 keep nat 198.51.100.1:5555 > 10.0.0.5:8080"},
			{"out em0 tcp 10.0.0.5:8080 > 198.51.100.1:5555 SA", "pass state nat 192.0.2.1:80 > 198.51.100.1:5555"},
			{"in em0 tcp 198.51.100.1:5555 > 192.0.2.1:8005 S", "pass @2 keep nat 198.51.100.1:5555 > 10.0.0.6:9005"},
		}},
		{"ok, later rules see the translation of a match rule", "match out on em0 from 10.0.0.0/24 nat-to 192.0.2.1\nblock all\npass out from 192.0.2.1\n", []step{
			{"out em0 udp 10.0.0.7:1234 > 198.51.100.1:53", "pass @2 keep nat 192.0.2.1:50001 > 198.51.100.1:53"},
			{"out em1 udp 10.0.0.7:1234 > 10.0.0.9:53", "block @1"},
		}},
		{"bad, without a state the default rule translates nothing", "match out on em0 nat-to 192.0.2.1\n", []step{
			{"out em0 udp 10.0.0.7:1234 > 198.51.100.1:53", "pass @-1"},
		}},
		{"ok, binat-to maps both ways", "pass on em0 from 10.0.0.5 binat-to 192.0.2.5\n", []step{
			{"out em0 udp 10.0.0.5:1234 > 198.51.100.1:53", "pass @0 keep nat 192.0.2.5:1234 > 198.51.100.1:53"},
			{"in em0 udp 198.51.100.1:999 > 192.0.2.5:53", "pass @1 keep nat 198.51.100.1:999 > 10.0.0.5:53"},
		}},
		{"ok, a table pool is reported as a pool", "table <p> { 192.0.2.10 192.0.2.11 }\npass out on em0 nat-to <p>\n", []step{
			{"out em0 udp 10.0.0.5:1234 > 198.51.100.1:53", "pass @0 keep nat 192.0.2.10:50001 > 198.51.100.1:53 pool"},
		}},
		{"ok, nat-to gives echo requests a free id and translates the reply back", "pass out on em0 inet proto icmp nat-to 192.0.2.1\n", []step{
			{"out em0 icmp 10.0.0.7 > 198.51.100.1 type=8 id=7", "pass @0 keep nat 192.0.2.1 > 198.51.100.1"},
			{"out em0 icmp 10.0.0.8 > 198.51.100.1 type=8 id=7", "pass @0 keep nat 192.0.2.1 > 198.51.100.1 id 1"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=0 id=1", "pass state nat 198.51.100.1 > 10.0.0.8 id 7"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=0 id=7", "pass state nat 198.51.100.1 > 10.0.0.7"},
		}},
		{"bad, static-port fails when the translated key is taken", "pass out on em0 nat-to 192.0.2.1 static-port\n", []step{
			{"out em0 udp 10.0.0.7:1234 > 198.51.100.1:53", "pass @0 keep nat 192.0.2.1:1234 > 198.51.100.1:53"},
			{"out em0 udp 10.0.0.8:1234 > 198.51.100.1:53", "block @0"},
		}},
		{"ok, inet6 states and icmp6 echo", "block all\npass out on em0 inet6\n", []step{
			{"out em0 udp [2001:db8::1]:5000 > [2001:db8:1::9]:53", "pass @1 keep"},
			{"in em0 udp [2001:db8:1::9]:53 > [2001:db8::1]:5000", "pass state"},
			{"out em0 icmp6 2001:db8::1 > 2001:db8:1::9 type=128 id=3", "pass @1 keep"},
			{"in em0 icmp6 2001:db8:1::9 > 2001:db8::1 type=129 id=3", "pass state"},
			{"in em0 icmp6 2001:db8:1::9 > 2001:db8::1 type=129 id=4", "block @0"},
		}},
		{"ok, max limits the states of a rule", "block all\npass in proto udp keep state (max 1)\n", []step{
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:53", "pass @1 keep"},
			{"in em0 udp 198.51.100.1:1001 > 192.0.2.1:53", "block @1"},
			{"out em0 udp 192.0.2.1:53 > 198.51.100.1:1000", "pass state"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runSteps(t, load(t, tc.conf, nil).New(testHost()), tc.steps)
		})
	}
}

func TestICMPErrorMatchesState(t *testing.T) {
	e := load(t, "block all\npass out on em0 proto tcp\n", nil).New(testHost())
	syn := pkt("out em0 tcp 192.0.2.1:40000 > 198.51.100.1:80 S")
	if v := e.Eval(syn); v.State == nil {
		t.Fatalf("SYN: got %s, want a state", v)
	}
	quoted := syn
	for _, tc := range []struct {
		name  string
		inner *Packet
		want  string
	}{
		{"ok, unreach quoting the connection passes by its state", &quoted, "pass state"},
		{"bad, unreach quoting nothing known meets the rules", nil, "block @0"},
	} {
		p := pkt("in em0 icmp 203.0.113.1 > 192.0.2.1 type=3 code=1")
		p.Inner = tc.inner
		if got := e.Eval(p).String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestResetAndStates(t *testing.T) {
	e := load(t, "block all\npass in proto udp once\n", nil).New(testHost())
	p := pkt("in em0 udp 198.51.100.1:1000 > 192.0.2.1:53")
	e.Eval(p)
	if n := len(e.States()); n != 1 {
		t.Fatalf("states: got %d, want 1", n)
	}
	if got, want := e.States()[0].String(), "17 198.51.100.1:1000 <- 192.0.2.1:53"; got != want {
		t.Errorf("state: got %q, want %q", got, want)
	}
	e.Reset()
	if n := len(e.States()); n != 0 {
		t.Errorf("after Reset: %d states", n)
	}
	if got := e.Eval(p).String(); got != "pass @1 keep" {
		t.Errorf("after Reset the once rule is alive again: got %s", got)
	}
}

func TestSetTable(t *testing.T) {
	e := load(t, "block all\npass in from <dyn>\n", nil).New(testHost())
	p := pkt("in em0 udp 198.51.100.1:1000 > 192.0.2.1:53")
	if got := e.Eval(p).String(); got != "block @0" {
		t.Errorf("empty table: got %s", got)
	}
	if err := e.SetTable("dyn", "198.51.100.0/24", "!198.51.100.128/25"); err != nil {
		t.Fatal(err)
	}
	if got := e.Eval(p).String(); got != "pass @1 keep" {
		t.Errorf("after SetTable: got %s", got)
	}
	p.Src = endpointAddr("198.51.100.200")
	if got := e.Eval(p).String(); got != "block @0" {
		t.Errorf("negated entry: got %s", got)
	}
	if err := e.SetTable("dyn", "nonsense"); err == nil {
		t.Error("bad, SetTable accepted nonsense")
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, conf string }{
		{"bad, syntax error", "pass in in\n"},
		{"bad, missing load anchor file", "anchor foo\nload anchor foo from \"nosuch.conf\"\n"},
	} {
		if _, err := Load("x", []byte(tc.conf), parserConfig()); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestStateLogging(t *testing.T) {
	for _, tc := range []struct {
		name, conf, reply string
	}{
		{"ok, log (all) logs the packets of the state", "pass out log (all)\n", "pass state log"},
		{"ok, a match rule's log (all) is kept by the state", "match out log (all)\npass out\n", "pass state log"},
		{"bad, plain log logs only the packet that created the state", "pass out log\n", "pass state"},
	} {
		e := load(t, tc.conf, nil).New(testHost())
		p := pkt("out em0 udp 192.0.2.1:5000 > 198.51.100.1:53")
		if v := e.Eval(p); !v.Log {
			t.Errorf("%s: first packet not logged: %s", tc.name, v)
		}
		if got := e.Eval(Reply(p)).String(); got != tc.reply {
			t.Errorf("%s: reply got %s, want %s", tc.name, got, tc.reply)
		}
	}
}

func TestOutcome(t *testing.T) {
	e := load(t, "block return in proto tcp to port 1\npass out on em0 nat-to 192.0.2.1\n", nil).New(testHost())
	for _, tc := range []struct{ name, pkt, want string }{
		{"ok, block return", "in em0 tcp 198.51.100.1:1000 > 192.0.2.1:1 S", "block return-rst"},
		{"ok, default pass", "in em0 udp 198.51.100.1:1000 > 192.0.2.1:1", "pass"},
		{"ok, keep with nat", "out em0 udp 10.0.0.2:1000 > 198.51.100.1:53", "pass keep nat 192.0.2.1:50001 > 198.51.100.1:53"},
		{"ok, state", "in em0 udp 198.51.100.1:53 > 192.0.2.1:50001", "pass state nat 198.51.100.1:53 > 10.0.0.2:1000"},
	} {
		if got := e.Eval(pkt(tc.pkt)).Outcome(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestICMPErrorAboutTranslatedConnection: an error about a connection
// that nat-to or rdr-to translated finds the state among the keys of
// its own direction and is translated back, quoted packet and all
// (pf_test_state_icmp).
func TestICMPErrorAboutTranslatedConnection(t *testing.T) {
	e := load(t, "block all\npass out on em0 proto udp nat-to 192.0.2.1\npass in on em0 proto tcp to 192.0.2.1 port 80 rdr-to 10.0.0.5 port 8080\n", nil).New(testHost())
	errAbout := func(outer, inner string) Packet {
		p := pkt(outer)
		q := pkt(inner)
		p.Inner = &q
		return p
	}
	for _, tc := range []struct {
		name, want string
		p          Packet
	}{
		{"ok, the nat-to state", "pass @1 keep nat 192.0.2.1:50001 > 198.51.100.1:53", pkt("out em0 udp 10.0.0.7:1234 > 198.51.100.1:53")},
		{"ok, an error about it goes back to the inside address", "pass state nat 198.51.100.1 > 10.0.0.7 [10.0.0.7:1234 > 198.51.100.1:53]",
			errAbout("in em0 icmp 198.51.100.1 > 192.0.2.1 type=3 code=3", "out em0 udp 192.0.2.1:50001 > 198.51.100.1:53")},
		{"bad, an error about another port meets the rules", "block @0",
			errAbout("in em0 icmp 198.51.100.1 > 192.0.2.1 type=3 code=3", "out em0 udp 192.0.2.1:50002 > 198.51.100.1:53")},
		{"ok, the rdr-to state", "pass @2 keep nat 198.51.100.1:5555 > 10.0.0.5:8080", pkt("in em0 tcp 198.51.100.1:5555 > 192.0.2.1:80 S")},
		{"ok, an error from the server's side comes from the public address", "pass state nat 192.0.2.1 > 198.51.100.1 [198.51.100.1:5555 > 192.0.2.1:80]",
			errAbout("out em0 icmp 10.0.0.5 > 198.51.100.1 type=3 code=1", "in em0 tcp 198.51.100.1:5555 > 10.0.0.5:8080 S")},
	} {
		if got := e.Eval(tc.p).String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
