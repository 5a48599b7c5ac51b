package eval

import (
	"testing"

	"carpfw/internal/hostinv"
	"carpfw/parser"
)

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conf  string
		files map[string]string
		steps []step
	}{
		{"ok, no rules: the default rule passes without state", "", nil, []step{
			{"in em0 tcp 10.0.0.2:1000 > 192.0.2.1:22 S", "pass @-1"},
			{"in em0 tcp 10.0.0.2:1000 > 192.0.2.1:22 S", "pass @-1"},
		}},
		{"ok, last matching rule wins", "block all\npass in on em0 proto tcp to port 22\nblock in on em0 proto tcp from 10.0.0.9\n", nil, []step{
			{"in em0 tcp 10.0.0.2:1000 > 192.0.2.1:22 S", "pass @1 keep"},
			{"in em0 tcp 10.0.0.9:1000 > 192.0.2.1:22 S", "block @2"},
			{"in em0 udp 10.0.0.2:1000 > 192.0.2.1:53", "block @0"},
			{"out em0 tcp 192.0.2.1:1000 > 10.0.0.2:22 S", "block @0"},
		}},
		{"ok, quick stops evaluation", "pass quick proto udp\nblock all\n", nil, []step{
			{"in em0 udp 10.0.0.2:1000 > 192.0.2.1:53", "pass @0 quick keep"},
			{"in em0 tcp 10.0.0.2:1000 > 192.0.2.1:53 S", "block @1"},
		}},
		{"ok, match rules apply tag and log and evaluation goes on", "match in log on em0 tag M\nblock all\npass in tagged M\n", nil, []step{
			{"in em0 udp 10.0.0.2:1000 > 192.0.2.1:53", "pass @2 keep tag M log"},
			{"in em1 udp 10.0.0.2:1000 > 10.0.0.1:53", "block @1"},
		}},
		{"ok, a tag set by an overridden rule still counts", "pass in tag T\nblock in\npass in proto udp tagged T\n", nil, []step{
			{"in em0 udp 10.0.0.2:1000 > 192.0.2.1:53", "pass @2 keep tag T"},
			{"in em0 tcp 10.0.0.2:1000 > 192.0.2.1:53 S", "block @1"},
		}},
		{"ok, tagged sees the tag of an earlier pass and ! tagged", "block out on em0\npass out on em0 tagged LAN\nblock out on em1 ! tagged LAN\n", nil, []step{
			{"out em0 udp 10.0.0.2:1000 > 198.51.100.1:53 tag=LAN", "pass @1 keep tag LAN"},
			{"out em0 udp 10.0.0.2:1001 > 198.51.100.1:53", "block @0"},
			{"out em1 udp 10.0.0.1:1000 > 10.0.0.2:53", "block @2"},
			{"out em1 udp 10.0.0.1:1001 > 10.0.0.2:53 tag=LAN", "pass @-1 tag LAN"},
		}},
		{"ok, inline anchor evaluated in place", "block all\nanchor \"a\" in on em0 {\n pass proto tcp\n block proto tcp to port 23\n}\npass proto udp\n", nil, []step{
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:22 S", "pass @a @0 keep"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:23 S", "block @a @1"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:23", "pass @2 keep"},
			{"out em0 tcp 192.0.2.1:1000 > 198.51.100.1:22 S", "block @0"},
		}},
		{"ok, quick anchor stops when its own rule matched", "anchor quick {\n pass proto tcp\n}\nblock all\n", nil, []step{
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:22 S", "pass @_1 @0 keep"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:22", "block @1"},
		}},
		{"ok, quick rule inside an anchor ends the whole evaluation", "anchor {\n block quick proto udp\n}\npass all\n", nil, []step{
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:53", "block @_1 @0 quick"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:53 S", "pass @1 keep"},
		}},
		{"ok, named anchor with rules loaded, nested and wildcard", "block all\nanchor foo\nanchor \"w/*\"\nload anchor foo from \"foo.conf\"\nload anchor \"w/a\" from \"a.conf\"\nload anchor \"w/b\" from \"b.conf\"\n",
			map[string]string{
				"foo.conf": "pass in proto tcp to port 22\nanchor bar {\n block in proto tcp from 10.9.0.0/16\n}\n",
				"a.conf":   "pass in proto udp to port 53\n",
				"b.conf":   "block in proto udp from 10.9.0.0/16 to port 53\n",
			}, []step{
				{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:22 S", "pass @foo @0 keep"},
				{"in em2 tcp 10.9.0.5:1000 > 192.0.2.1:22 S", "block @foo/bar @0"},
				{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:53", "pass @w/a @0 keep"},
				{"in em2 udp 10.9.0.5:1000 > 192.0.2.1:53", "block @w/b @0"},
				{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:54", "block @0"},
			}},
		{"ok, anchor paths: relative, ../ and absolute", "anchor a {\n anchor b\n anchor \"../c\"\n anchor \"/d\"\n}\nload anchor \"a/b\" from \"b\"\nload anchor c from \"c\"\nload anchor d from \"d\"\n",
			map[string]string{"b": "block in proto tcp to port 1\n", "c": "block in proto tcp to port 2\n", "d": "block in proto tcp to port 3\n"}, []step{
				{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:1 S", "block @a/b @0"},
				{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:2 S", "block @c @0"},
				{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:3 S", "block @d @0"},
				{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:4 S", "pass @-1"},
			}},
		{"ok, once rules expire after their first match", "block all\npass in proto udp once\n", nil, []step{
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:53", "pass @1 keep"},
			{"in em0 udp 198.51.100.1:1001 > 192.0.2.1:53", "block @0"},
		}},
		{"ok, block return answers tcp with rst, others (and a tcp rst) with icmp", "block return in proto tcp to port 1\nblock return-rst in proto tcp to port 2\nblock return-icmp in proto udp to port 3\nblock return in proto udp to port 4\nblock drop in proto tcp to port 5\nblock return in inet proto icmp\n", nil, []step{
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:1 S", "block return-rst @0"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:1 R", "block return-icmp @0"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:2 R", "block @1"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:2 A", "block return-rst @1"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:3", "block return-icmp @2"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:4", "block return-icmp @3"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:5 S", "block @4"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=8 id=1", "block return-icmp @5"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=3 code=3", "block @5"},
		}},
		{"ok, set block-policy return makes a bare block return", "set block-policy return\nblock in\n", nil, []step{
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:1 S", "block return-rst @0"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:1", "block return-icmp @0"},
			{"in em0 udp [2001:db8::9]:1000 > [2001:db8::1]:1", "block return-icmp @0"},
			{"out em0 udp 192.0.2.1:1000 > 198.51.100.1:1", "pass @-1"},
		}},
		{"ok, on ! if, groups and self", "block all\npass in on ! em0 proto udp\npass in on egress proto tcp to self\npass in on em proto icmp\n", nil, []step{
			{"in em1 udp 10.0.0.2:1000 > 10.0.0.1:53", "pass @1 keep"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:53", "block @0"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:22 S", "pass @2 keep"},
			{"in em0 tcp 198.51.100.1:1000 > 10.0.0.1:22 S", "pass @4 keep"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.99:22 S", "block @0"},
			{"in em1 tcp 10.0.0.2:1000 > 192.0.2.1:22 S", "block @0"},
			{"in em2 icmp 10.9.0.2 > 10.9.0.1 type=8 id=1", "pass @8 keep"},
			{"in lo0 icmp 127.0.0.1 > 127.0.0.1 type=8 id=1", "block @0"},
		}},
		{"ok, dynamic interface addresses", "block all\npass in from (em1:network) to (em0)\n", nil, []step{
			{"in em1 udp 10.0.0.9:1000 > 192.0.2.1:53", "pass @1 keep"},
			{"in em1 udp 10.0.1.9:1000 > 192.0.2.1:53", "block @0"},
			{"in em1 udp 10.0.0.9:1000 > 192.0.2.2:53", "block @0"},
		}},
		{"ok, tables match the longest prefix, with negation", "table <t> { 10.0.0.0/8 !10.1.0.0/16 10.1.2.0/24 }\nblock all\npass in proto udp from <t>\npass in proto tcp from ! <t>\n", nil, []step{
			{"in em0 udp 10.5.0.1:1000 > 192.0.2.1:53", "pass @1 keep"},
			{"in em0 udp 10.1.0.1:1000 > 192.0.2.1:53", "block @0"},
			{"in em0 udp 10.1.2.3:1000 > 192.0.2.1:53", "pass @1 keep"},
			{"in em0 udp 192.168.0.1:1000 > 192.0.2.1:53", "block @0"},
			{"in em0 tcp 10.1.0.1:1000 > 192.0.2.1:53 S", "pass @2 keep"},
			{"in em0 tcp 10.5.0.1:1000 > 192.0.2.1:53 S", "block @0"},
		}},
		{"ok, address ranges and negated prefixes", "block all\npass in proto udp from 10.0.0.10 - 10.0.0.20\npass in proto tcp from ! 10.0.0.0/24\n", nil, []step{
			{"in em1 udp 10.0.0.10:1000 > 10.0.0.1:53", "pass @1 keep"},
			{"in em1 udp 10.0.0.20:1000 > 10.0.0.1:53", "pass @1 keep"},
			{"in em1 udp 10.0.0.21:1000 > 10.0.0.1:53", "block @0"},
			{"in em1 tcp 10.0.0.21:1000 > 10.0.0.1:53 S", "block @0"},
			{"in em1 tcp 10.0.1.21:1000 > 10.0.0.1:53 S", "pass @2 keep"},
		}},
		{"ok, icmp types and codes; stateful rules ignore replies", "block all\npass in inet proto icmp icmp-type echoreq\npass in inet proto icmp icmp-type unreach code port-unr\npass in inet proto icmp icmp-type timex no state\n", nil, []step{
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=8 id=1", "pass @1 keep"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=0 id=1", "block @0"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=3 code=3", "pass @2"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=3 code=1", "block @0"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=11", "pass @3"},
		}},
		{"bad, an unsolicited echo reply does not match a stateful pass", "block all\npass in inet proto icmp\npass in inet proto icmp icmp-type echorep no state\n", nil, []step{
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=0 id=1", "pass @2"},
			{"in em0 icmp 198.51.100.1 > 192.0.2.1 type=14 id=1", "block @0"},
		}},
		{"ok, flags S/SA by default, flags any, no state", "block all\npass in proto tcp to port 22\npass in proto tcp to port 23 flags any\npass in proto tcp to port 24 no state\npass in proto tcp to port 25 flags A/SA\n", nil, []step{
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:22 S", "pass @1 keep"},
			{"in em0 tcp 198.51.100.1:1001 > 192.0.2.1:22 A", "block @0"},
			{"in em0 tcp 198.51.100.1:1001 > 192.0.2.1:22 SA", "block @0"},
			{"in em0 tcp 198.51.100.1:1001 > 192.0.2.1:23 A", "pass @2 keep"},
			{"in em0 tcp 198.51.100.1:1001 > 192.0.2.1:24 S", "pass @3"},
			{"in em0 tcp 198.51.100.1:1001 > 192.0.2.1:24 A", "pass @3"},
			{"in em0 tcp 198.51.100.1:1001 > 192.0.2.1:25 PA", "pass @4 keep"},
			{"in em0 tcp 198.51.100.1:1002 > 192.0.2.1:25 S", "block @0"},
		}},
		{"ok, set skip passes everything on the interface", "set skip on lo\nblock all\n", nil, []step{
			{"in lo0 tcp 127.0.0.1:1000 > 127.0.0.1:22 S", "pass skip"},
			{"in em0 tcp 198.51.100.1:1000 > 192.0.2.1:22 S", "block @0"},
		}},
		{"ok, received-on and tos", "block all\npass out on em0 received-on em1\npass in tos 0x10\n", nil, []step{
			{"out em0 udp 10.0.0.2:1000 > 198.51.100.1:53 rcv=em1", "pass @1 keep"},
			{"out em0 udp 10.0.0.2:1001 > 198.51.100.1:53 rcv=em2", "block @0"},
			{"out em0 udp 192.0.2.1:1002 > 198.51.100.1:53", "block @0"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:53 tos=16", "pass @2 keep"},
			{"in em0 udp 198.51.100.1:1001 > 192.0.2.1:53", "block @0"},
		}},
		{"ok, address family and protocol numbers", "block all\npass in inet6 proto udp\npass in proto 47 no state\n", nil, []step{
			{"in em0 udp [2001:db8::9]:1000 > [2001:db8::1]:53", "pass @1 keep"},
			{"in em0 udp 198.51.100.1:1000 > 192.0.2.1:53", "block @0"},
			{"in em0 47 198.51.100.1 > 192.0.2.1", "pass @2"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runSteps(t, load(t, tc.conf, tc.files).New(testHost()), tc.steps)
		})
	}
}

func TestPortOperators(t *testing.T) {
	for _, tc := range []struct {
		name, port string
		match      []int
		miss       []int
	}{
		{"ok, =", "= 80", []int{80}, []int{79, 81}},
		{"ok, !=", "!= 80", []int{79, 81}, []int{80}},
		{"ok, <", "< 80", []int{0, 79}, []int{80, 81}},
		{"ok, <=", "<= 80", []int{79, 80}, []int{81}},
		{"ok, >", "> 80", []int{81, 65535}, []int{80, 79}},
		{"ok, >=", ">= 80", []int{80, 81}, []int{79}},
		{"ok, >< excludes both ends", "80 >< 90", []int{81, 89}, []int{80, 90, 79, 91}},
		{"ok, <> is outside, ends excluded", "80 <> 90", []int{79, 91}, []int{80, 85, 90}},
		{"ok, : includes both ends", "80:90", []int{80, 85, 90}, []int{79, 91}},
		{"ok, source port", "src 1024:65535", []int{1024, 65535}, []int{1023}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conf string
			if p, ok := cutPrefix(tc.port, "src "); ok {
				conf = "block all\npass in proto tcp from port " + p + " flags any\n"
			} else {
				conf = "block all\npass in proto tcp to port " + tc.port + " flags any\n"
			}
			l := load(t, conf, nil)
			for _, want := range []struct {
				ports []int
				v     string
			}{{tc.match, "pass @1 keep"}, {tc.miss, "block @0"}} {
				for _, port := range want.ports {
					e := l.New(testHost())
					p := pkt("in em0 tcp 198.51.100.1:1000 > 192.0.2.1:1 S")
					if tc.name == "ok, source port" {
						p.SrcPort = uint16(port)
					} else {
						p.DstPort = uint16(port)
					}
					if got := e.Eval(p).String(); got != want.v {
						t.Errorf("port %d: got %s, want %s", port, got, want.v)
					}
				}
			}
		})
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func TestInventoryIsAHost(t *testing.T) {
	inv := hostinv.OpenBSDRegress()
	l, err := Load("x", []byte("set skip on lo\nblock all\npass in on tun proto udp\n"), parser.Config{Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	e := l.New(inv)
	for _, tc := range []struct{ name, pkt, want string }{
		{"ok, skip on the lo group covers lo1000000", "in lo1000000 udp 127.0.0.1:1 > 127.0.0.1:2", "pass skip"},
		{"ok, group tun holds tun1000001", "in tun1000001 udp 10.0.0.2:1 > 10.0.0.1:2", "pass @1 keep"},
		{"bad, enc0 is in neither group", "in enc0 udp 10.0.0.3:1 > 10.0.0.1:2", "block @0"},
	} {
		if got := e.Eval(pkt(tc.pkt)).String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}
