package rules

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ents(specs ...string) []TableEntry {
	var out []TableEntry
	for _, s := range specs {
		not := strings.HasPrefix(s, "!")
		p, err := ParseEntry(strings.TrimPrefix(s, "!"))
		if err != nil {
			panic(err)
		}
		out = append(out, TableEntry{p, not})
	}
	return out
}

func TestNormalise(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []TableEntry
		af   int
		want string
	}{
		{"ok, empty", nil, AFInet, ""},
		{"ok, one host", ents("192.0.2.1"), AFInet, "192.0.2.1-192.0.2.1"},
		{"ok, hole punched by a negated entry", ents("10.0.0.0/8", "!10.1.0.0/16"), AFInet, "10.0.0.0-10.0.255.255 10.2.0.0-10.255.255.255"},
		{"ok, positive inside negative inside positive", ents("!10.1.0.0/16", "10.0.0.0/8", "10.1.2.3"), AFInet,
			"10.0.0.0-10.0.255.255 10.1.2.3-10.1.2.3 10.2.0.0-10.255.255.255"},
		{"ok, adjacent prefixes merge", ents("10.0.0.0/25", "10.0.0.128/25"), AFInet, "10.0.0.0-10.0.0.255"},
		{"ok, overlap", ents("10.0.0.0/24", "10.0.0.7"), AFInet, "10.0.0.0-10.0.0.255"},
		{"ok, everything", ents("0.0.0.0/0"), AFInet, "0.0.0.0-255.255.255.255"},
		{"ok, other family ignored", ents("2001:db8::/32", "10.0.0.1"), AFInet6, "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"ok, negation alone is empty", ents("!10.0.0.0/8"), AFInet, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, iv := range Normalise(tc.in, tc.af) {
				got = append(got, iv.From.String()+"-"+iv.To.String())
			}
			if d := cmp.Diff(tc.want, strings.Join(got, " ")); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestIntervalElemsEnd(t *testing.T) {
	es := IntervalElems(ents("255.255.255.0/24", "10.0.0.0/8"), AFInet)
	if len(es) != 2 || es[0].End == nil || es[1].End != nil {
		t.Fatalf("elements %+v: want an end for 10/8 and none for the top range", es)
	}
	if netip.AddrFrom4([4]byte(es[0].End)).String() != "11.0.0.0" {
		t.Errorf("end of 10/8: %v (exclusive end expected)", es[0].End)
	}
}

// rule builds a rule for compiler tests.
func rule(nr int, f func(r *Rule)) *Rule {
	r := NewRule()
	r.Nr = nr
	f(r)
	return r
}

func host(s string) AddrWrap {
	a := netip.MustParseAddr(s)
	return AddrWrap{Type: AddrMask, Addr: FromNetip(a), Mask: MaskOf(a.BitLen())}
}

func positions(r *Rule) (string, int) { return "pf.conf", r.Nr + 1 }

func TestCompileClassification(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      *Rule
		strict bool
		errs   []string
		warns  []string
	}{
		{"bad, af-to", rule(6, func(r *Rule) {
			r.Direction, r.RuleFlag, r.AF, r.NAF = DirIn, FlagAfTo, AFInet, AFInet6
			r.Nat.Addr = host("2001:db8::1")
		}), false, []string{"pf.conf:7: af-to is not supported on Linux"}, nil},
		{"bad, route-to", rule(0, func(r *Rule) { r.RT = RouteTo; r.Route.Addr = host("10.0.0.1") }), false,
			[]string{"pf.conf:1: route-to: not supported on Linux"}, nil},
		{"bad, rdr-to on an outbound rule", rule(1, func(r *Rule) {
			r.Direction, r.AF, r.KeepState = DirOut, AFInet, StateNormal
			r.Rdr.Addr = host("10.0.0.5")
		}), false, []string{"pf.conf:2: rdr-to on outbound rules is not supported on Linux"}, nil},
		{"bad, queue", rule(2, func(r *Rule) { r.QName = "std" }), false, []string{"pf.conf:3: queue: not supported on Linux"}, nil},
		{"bad, user", rule(3, func(r *Rule) { r.UID = IDMatch{Op: OpEQ, A: 1000} }), false, []string{"pf.conf:4: user: not supported on Linux"}, nil},
		{"ok, modulate state warns", rule(4, func(r *Rule) { r.KeepState = StateModulate }), false, nil,
			[]string{"pf.conf:5: warning: modulate state is kept as keep state on Linux"}},
		{"bad, modulate state with strict", rule(4, func(r *Rule) { r.KeepState = StateModulate }), true,
			[]string{"pf.conf:5: modulate state is kept as keep state on Linux"}, nil},
		{"ok, pflow and timeouts warn", rule(5, func(r *Rule) { r.RuleFlag = FlagPflow; r.Timeout[2] = 60 }), false, nil,
			[]string{"pf.conf:6: warning: pflow ignored on Linux", "pf.conf:6: warning: per-rule timeouts ignored on Linux"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := Compile(&Ruleset{Rules: []*Rule{tc.r}}, CompileOptions{Position: positions, Strict: tc.strict})
			var gotErrs, gotWarns []string
			if err != nil {
				gotErrs = err.(*CompileError).Msgs
			} else {
				gotWarns = prog.Warnings
			}
			if d := cmp.Diff(tc.errs, gotErrs); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.warns, gotWarns); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

// TestSchemeOrder checks the verdict-register scheme on the reference's
// worked example: rules stay in file order, a quick rule goes to the
// decision at once, and each pass/block rule has a finaliser in the map
// of the passes it applies to.
func TestSchemeOrder(t *testing.T) {
	rs := &Ruleset{Rules: []*Rule{
		rule(0, func(r *Rule) { r.Action = ActionBlock }),
		rule(1, func(r *Rule) {
			r.Direction, r.Proto, r.KeepState, r.Flags, r.FlagSet = DirIn, 6, StateNormal, 0x02, 0x12
			r.Dst.PortOp, r.Dst.Port = OpEQ, [2]uint16{22, 0}
		}),
		rule(2, func(r *Rule) {
			r.Action, r.Direction, r.Quick, r.AF = ActionBlock, DirIn, true, AFInet
			r.Src.Addr = host("10.9.9.9")
		}),
		rule(3, func(r *Rule) { r.Direction, r.KeepState = DirOut, StateNormal }),
	}}
	prog, err := Compile(rs, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, r := range prog.Chain("pf_in").Rules {
		if r.Comment != "state" {
			in = append(in, r.Text())
		}
	}
	want := []string{
		`meta mark set meta mark & 0xffff0000 | 0x00000001 comment "@0 block drop all"`,
		`meta l4proto 6 tcp dport 22 tcp flags & (syn|ack) == syn meta mark set meta mark & 0xffff0000 | 0x00000002 comment "@1 pass in proto tcp from any to any port = 22 flags S/SA"`,
		`meta nfproto ipv4 ip saddr 10.9.9.9 meta mark set meta mark & 0xffff0000 | 0x00000003 goto decide_in comment "@2 block drop in quick inet from 10.9.9.9 to any"`,
		`goto decide_in`,
	}
	if d := cmp.Diff(want, in); d != "" {
		t.Errorf("pf_in (-want +got):\n%s", d)
	}
	if n := len(prog.Set("v_in").Elems); n != 3 {
		t.Errorf("v_in has %d elements, want 3 (rules 0, 1, 2)", n)
	}
	if n := len(prog.Set("v_out").Elems); n != 2 {
		t.Errorf("v_out has %d elements, want 2 (rules 0, 3)", n)
	}
	var fin []string
	for _, r := range prog.Chain("r2_in").Rules {
		fin = append(fin, r.Text())
	}
	wantFin := []string{
		`ct state related counter name "r2_in" accept`,
		`ct direction reply counter name "r2_in" ct mark set ct mark | 0x00000010 accept`,
		`counter name "r2_in" ct mark set ct mark | 0x00000001 accept`,
		`accept`, // a packet conntrack does not track: counted above, no state
	}
	if d := cmp.Diff(wantFin, fin); d != "" {
		t.Errorf("finaliser of a keep-state pass rule (-want +got):\n%s", d)
	}
}

// TestDynPrefixes: (group) takes every member's addresses, each with the
// modifiers; :0 keeps the first address of each family per interface.
func TestDynPrefixes(t *testing.T) {
	addrs := map[string][]netip.Prefix{
		"em0": {netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("2001:db8::2/64"), netip.MustParsePrefix("192.0.2.3/24")},
		"em1": {netip.MustParsePrefix("198.51.100.1/30")},
	}
	ifAddrs := func(n string) []netip.Prefix { return addrs[n] }
	groups := func(n string) ([]string, bool) {
		if n == "egress" {
			return []string{"em0", "em1"}, true
		}
		return nil, false
	}
	for _, tc := range []struct {
		name  string
		flags int
		want  string
	}{
		{"em0", 0, "192.0.2.2/32 2001:db8::2/128 192.0.2.3/32"},
		{"em0", IfNoAlias, "192.0.2.2/32 2001:db8::2/128"},
		{"egress", 0, "192.0.2.2/32 2001:db8::2/128 192.0.2.3/32 198.51.100.1/32"},
		{"egress", IfNoAlias, "192.0.2.2/32 2001:db8::2/128 198.51.100.1/32"},
		{"egress", IfNetwork, "192.0.2.0/24 2001:db8::/64 192.0.2.0/24 198.51.100.0/30"},
		{"em9", 0, ""},
	} {
		var got []string
		for _, p := range DynPrefixes(tc.name, tc.flags, groups, ifAddrs) {
			got = append(got, p.String())
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("(%s) flags %#x: %q, want %q", tc.name, tc.flags, g, tc.want)
		}
	}
}
