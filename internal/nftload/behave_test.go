package nftload

import (
	"strings"
	"testing"

	"carpfw/internal/lab"
)

// A probe is one connection attempt through (or to) the router, with
// the outcome pf would give it.
type probe struct {
	from string // "c" (client) or "s" (server)
	kind string // tcp, udp, ping
	to   string // host:port, or an address for ping
	want string // pass, drop, rst, unreach
	seen string // with pass: the source address the far end saw
}

const (
	srv   = "10.0.2.2"
	srv6  = "[fd00:2::2]"
	cli   = "10.0.1.2"
	rtrIn = "10.0.1.1"
)

func tcpTo(to, want string) probe  { return probe{"c", "tcp", to, want, ""} }
func udpTo(to, want string) probe  { return probe{"c", "udp", to, want, ""} }
func pingTo(to, want string) probe { return probe{"c", "ping", to, want, ""} }
func seenAs(p probe, src string) probe {
	p.seen = src
	return p
}

// behaviour cases: small rulesets loaded into the router and the
// packets pf would pass, block, reject or translate (pf.conf(5)).
var behaviour = []struct {
	name   string
	conf   string
	groups map[string][]string
	probes []probe
}{
	{"empty ruleset passes everything", "# nothing\n",
		nil, []probe{tcpTo(srv+":22", pass), udpTo(srv+":53", pass), pingTo(srv, pass)}},
	{"block all", "block all\n",
		nil, []probe{tcpTo(srv+":22", drop), udpTo(srv+":53", drop), pingTo(srv, drop)}},
	{"last match wins: pass after block", "block all\npass all\n",
		nil, []probe{tcpTo(srv+":22", pass), udpTo(srv+":53", pass), pingTo(srv, pass)}},
	{"last match wins: block after pass", "pass all\nblock all\n",
		nil, []probe{tcpTo(srv+":22", drop), pingTo(srv, drop)}},
	{"quick block wins over later pass", "block quick all\npass all\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"quick pass wins over later block", "pass quick all\nblock all\n",
		nil, []probe{tcpTo(srv+":22", pass), pingTo(srv, pass)}},
	{"pass one tcp port", "block all\npass proto tcp to port 22\n",
		nil, []probe{tcpTo(srv+":22", pass), tcpTo(srv+":25", drop), udpTo(srv+":53", drop), pingTo(srv, drop)}},
	{"block return: rst for tcp, unreachable for udp", "block return all\npass proto tcp to port 22\n",
		nil, []probe{tcpTo(srv+":22", pass), tcpTo(srv+":25", rst), udpTo(srv+":53", unreach)}},
	{"block return on the outbound pass: the generated RST is not filtered", "block return out all\n",
		nil, []probe{tcpTo(srv+":22", rst), udpTo(srv+":53", unreach)}},
	{"block return-rst", "block return-rst proto tcp all\n",
		nil, []probe{tcpTo(srv+":22", rst), udpTo(srv+":53", pass)}},
	{"block return-icmp", "block return-icmp proto udp all\n",
		nil, []probe{udpTo(srv+":53", unreach), tcpTo(srv+":22", pass)}},
	{"set block-policy return", "set block-policy return\nblock all\npass proto icmp\n",
		nil, []probe{tcpTo(srv+":22", rst), pingTo(srv, pass)}},
	{"keep state passes replies", "block all\npass in on r0\npass out on r1\n",
		nil, []probe{tcpTo(srv+":22", pass), udpTo(srv+":53", pass), pingTo(srv, pass)}},
	{"no state: replies are filtered", "block all\npass in on r0 no state\npass out on r1 no state\n",
		nil, []probe{tcpTo(srv+":22", drop), pingTo(srv, drop)}},
	{"flags S/SA no state lets only the SYN through", "block all\npass proto tcp flags S/SA no state\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"flags any no state passes every segment", "block all\npass proto tcp flags any no state\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"pass in only: the outbound pass blocks", "block all\npass in all\n",
		nil, []probe{tcpTo(srv+":22", drop), tcpTo(rtrIn+":2222", pass)}},
	{"block in on the far side blocks replies of stateless flows", "block in on r1 all\n",
		nil, []probe{tcpTo(srv+":22", drop), pingTo(srv, drop)}},
	{"on ! interface", "block in on ! r0 all\npass out on r1 all\n",
		nil, []probe{tcpTo(srv+":22", pass), tcpTo(rtrIn+":2222", pass)}},
	{"on ! interface without state", "block in on ! r0 all\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"interface groups and egress", "block all\npass in on inside\npass out on egress\n",
		map[string][]string{"inside": {"r0"}}, []probe{tcpTo(srv+":22", pass), pingTo(srv, pass)}},
	{"group that does not cover the flow", "block all\npass in on inside\npass out on inside\n",
		map[string][]string{"inside": {"r0"}}, []probe{tcpTo(srv+":22", drop)}},
	{"source address", "block all\npass from 10.0.1.2 to 10.0.2.2\n",
		nil, []probe{tcpTo(srv+":22", pass), udpTo(srv+":53", pass)}},
	{"other source address", "block all\npass from 10.0.1.3\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"negated address", "block all\npass from ! 10.0.1.2\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"prefix", "block from 10.0.1.0/24 to any\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"other prefix", "block in from 10.0.9.0/24 to any\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"address range", "block all\npass from 10.0.1.1 - 10.0.1.5 to any\npass from any to 10.0.1.1 - 10.0.1.5\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"port range", "block all\npass proto tcp to port 1000:3000\n",
		nil, []probe{tcpTo(srv+":2000", pass), tcpTo(srv+":22", drop)}},
	{"port greater than", "block all\npass proto tcp to port > 1024\n",
		nil, []probe{tcpTo(srv+":2000", pass), tcpTo(srv+":8080", pass), tcpTo(srv+":80", drop)}},
	{"port not equal", "block all\npass proto tcp to port != 22\n",
		nil, []probe{tcpTo(srv+":25", pass), tcpTo(srv+":22", drop)}},
	{"port exclusive range ><", "block all\npass proto tcp to port 22 >< 80\n",
		nil, []probe{tcpTo(srv+":25", pass), tcpTo(srv+":22", drop), tcpTo(srv+":80", drop)}},
	{"port outside range <>", "block all\npass proto tcp to port 23 <> 2000\n",
		nil, []probe{tcpTo(srv+":22", pass), tcpTo(srv+":8080", pass), tcpTo(srv+":80", drop), tcpTo(srv+":2000", drop)}},
	{"udp port", "block all\npass proto udp to port 53\n",
		nil, []probe{udpTo(srv+":53", pass), udpTo(srv+":1500", drop)}},
	{"table with negated entry", "table <ok> { 10.0.1.0/24 !10.0.1.2 }\nblock all\npass from <ok>\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"table", "table <ok> { 10.0.1.0/24 10.9.0.0/16 }\nblock all\npass from <ok>\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"undefined table is empty", "block all\npass from <nothing>\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"icmp type echoreq", "block all\npass inet proto icmp icmp-type echoreq\n",
		nil, []probe{pingTo(srv, pass), tcpTo(srv+":22", drop)}},
	{"icmp type echorep only", "block all\npass inet proto icmp icmp-type echorep\n",
		nil, []probe{pingTo(srv, drop)}},
	{"tag and tagged", "block all\npass in on r0 tag OK\npass out on r1 tagged OK\n",
		nil, []probe{tcpTo(srv+":22", pass), pingTo(srv, pass)}},
	{"tagged with another tag", "block all\npass in on r0 tag OK\npass out on r1 tagged OTHER\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"match rule tags", "match in on r0 tag M\nblock all\npass in on r0\npass out tagged M\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"anchor passes", "block all\nanchor \"a\" {\n pass all\n}\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"anchor followed by block", "anchor \"a\" {\n pass all\n}\nblock all\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"quick anchor stops evaluation", "anchor \"a\" quick {\n pass all\n}\nblock all\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"quick anchor without a match goes on", "anchor \"a\" quick {\n pass proto udp\n}\nblock all\n",
		nil, []probe{tcpTo(srv+":22", drop), udpTo(srv+":53", pass)}},
	{"quick rule inside an anchor ends evaluation", "anchor \"a\" {\n pass quick all\n}\nblock all\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"anchor with criteria", "block all\nanchor \"a\" in on r1 {\n pass all\n}\n",
		nil, []probe{tcpTo(srv+":22", drop)}},
	{"nat-to an address", "pass out on r1 from 10.0.1.0/24 nat-to 10.0.2.1\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), "10.0.2.1"), seenAs(udpTo(srv+":53", pass), "10.0.2.1"), pingTo(srv, pass)}},
	{"nat-to the interface address", "pass out on r1 from 10.0.1.0/24 nat-to (r1)\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), "10.0.2.1")}},
	{"match nat-to", "match out on r1 nat-to 10.0.2.1\npass all\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), "10.0.2.1")}},
	{"match nat-to then pass and block", "match out on r1 nat-to 10.0.2.1\npass out on r1\nblock out on r1 proto tcp to port 25\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), "10.0.2.1"), tcpTo(srv+":25", drop)}},
	{"match nat-to and pf's default rule: no state, no translation (pf_test_rule)", "match out on r1 nat-to 10.0.2.1\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), cli)}},
	{"match nat-to and a no-state pass: no translation", "match out on r1 nat-to 10.0.2.1\npass out on r1 no state\n",
		nil, []probe{seenAs(udpTo(srv+":53", pass), cli)}},
	{"no translation without nat-to", "pass all\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), cli)}},
	{"rdr-to", "pass in on r0 proto tcp to 10.0.1.1 port 80 rdr-to 10.0.2.2 port 8080\n",
		nil, []probe{seenAs(tcpTo(rtrIn+":80", pass), cli)}},
	{"rdr-to is decided by the last matching rule", "pass in on r0 proto tcp to 10.0.1.1 port 80 rdr-to 10.0.2.2 port 8080\nblock in on r0 proto tcp to port 80\n",
		nil, []probe{tcpTo(rtrIn+":80", drop)}},
	{"binat-to", "pass on r1 from 10.0.1.2 to any binat-to 10.0.2.9\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), "10.0.2.9")}},
	{"nat-to a pool, round-robin", "pass out on r1 from 10.0.1.0/24 nat-to { 10.0.2.1, 10.0.2.9 } round-robin\n",
		nil, []probe{seenAs(tcpTo(srv+":22", pass), "10.0.2.1"), seenAs(tcpTo(srv+":25", pass), "10.0.2.9"), seenAs(tcpTo(srv+":80", pass), "10.0.2.1")}},
	{"rdr-to a pool with a port", "pass in on r0 proto tcp to 10.0.1.1 port 80 rdr-to { 10.0.2.2, 10.0.2.9 } port 22\n",
		nil, []probe{seenAs(tcpTo(rtrIn+":80", pass), cli), tcpTo(rtrIn+":80", rst), seenAs(tcpTo(rtrIn+":80", pass), cli)}},
	{"set skip", "set skip on { r0 r1 }\nblock all\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"self", "block all\npass in on r0 to self\n",
		nil, []probe{tcpTo(rtrIn+":2222", pass), tcpTo(srv+":22", drop)}},
	{"dynamic interface address", "block all\npass in on r0 to (r0)\n",
		nil, []probe{tcpTo(rtrIn+":2222", pass), tcpTo(srv+":22", drop)}},
	{"interface network", "block all\npass from r0:network\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"no-route", "pass all\nblock in from no-route\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"address family inet6", "block all\npass inet6 proto icmp6\npass inet6 proto tcp\n",
		nil, []probe{tcpTo(srv6+":22", pass), tcpTo(srv+":22", drop)}},
	{"ipv6 address", "block all\npass quick inet6 proto icmp6\npass from fd00:1::/64\npass to fd00:1::/64\n",
		nil, []probe{tcpTo(srv6+":22", pass), tcpTo(srv+":22", drop)}},
	{"ipv6 block return", "block return inet6 all\npass inet6 proto icmp6\n",
		nil, []probe{tcpTo(srv6+":22", rst), tcpTo(srv+":22", pass)}},
	{"protocol names carp and pfsync compile", "pass proto carp\npass proto pfsync\nblock proto tcp\n",
		nil, []probe{tcpTo(srv+":22", drop), pingTo(srv, pass)}},
	{"log and label", "block log all\npass log all label \"web\"\n",
		nil, []probe{tcpTo(srv+":22", pass)}},
	{"server-initiated connection is filtered by its own direction", "block in on r1\npass out on r1\n",
		nil, []probe{{"s", "tcp", cli + ":22", drop, ""}, tcpTo(srv+":22", pass)}},
}

func TestBehaviour(t *testing.T) {
	for _, tc := range behaviour {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := newTopo(t)
			if tc.probes[0].from == "s" {
				tp.serveTCP(t, tp.c, "tcp", ":22")
			}
			if err := tp.load(tc.conf, tc.groups); err != nil {
				t.Fatalf("load:\n%s\n%v", tc.conf, err)
			}
			for _, p := range tc.probes {
				h := tp.c
				if p.from == "s" {
					h = tp.s
				}
				got, seen := run(h, p)
				if got != p.want {
					t.Errorf("%s %s %s: got %s, want %s", p.from, p.kind, p.to, got, p.want)
				}
				if p.seen != "" && got == pass && seen != p.seen {
					t.Errorf("%s %s %s: far end saw %s, want %s", p.from, p.kind, p.to, seen, p.seen)
				}
			}
			if t.Failed() {
				out, _ := tp.r.Run("nft", "list", "ruleset")
				t.Logf("ruleset:\n%s\nnft:\n%s", tc.conf, limit(out, 6000))
			}
		})
	}
}

func run(h *lab.Host, p probe) (string, string) {
	switch p.kind {
	case "tcp":
		return tcp(h, p.to)
	case "udp":
		return udp(h, p.to)
	}
	return ping(h, p.to)
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n] + "\n..."
	}
	return strings.TrimSpace(s)
}
