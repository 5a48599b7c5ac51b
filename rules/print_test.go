package rules

import (
	"strings"
	"testing"
)

func TestPrintRule(t *testing.T) {
	v4 := func(a, b, c, d byte) Addr16 { return Addr16{a, b, c, d} }
	mk := func(f func(r *Rule)) Rule { r := NewRule(); f(r); return *r }
	for _, tc := range []struct {
		name    string
		r       Rule
		call    string
		verbose bool
		want    string
	}{
		{"ok, minimal pass", mk(func(r *Rule) { r.KeepState = StateNormal }), "", false,
			"pass all flags any"},
		{"ok, block with return-icmp for both families", mk(func(r *Rule) {
			r.Action, r.RuleFlag, r.ReturnICMP, r.ReturnICMP6 = ActionBlock, FlagReturnICMP, 3<<8|3, 1<<8|4
		}), "", false,
			"block return-icmp(port-unr, port-unr) all"},
		{"ok, address with mask and port", mk(func(r *Rule) {
			r.AF, r.Proto, r.Flags, r.FlagSet, r.KeepState = AFInet, 6, 2, 18, StateNormal
			r.Src = RuleAddr{Addr: AddrWrap{Addr: v4(10, 0, 0, 0), Mask: MaskOf(8)}}
			r.Dst = RuleAddr{PortOp: OpEQ, Port: [2]uint16{22, 0}}
		}), "", true,
			"@0 pass inet proto tcp from 10.0.0.0/8 to any port = 22 flags S/SA"},
		{"ok, unnamed anchor", mk(func(r *Rule) { r.Direction = DirIn }), "_3", false,
			"anchor in all"},
		{"ok, keep state with options", mk(func(r *Rule) { r.Proto, r.KeepState, r.RuleFlag = 112, StateNormal, FlagNoSync }), "", false, "pass proto carp all keep state (no-sync)"},
	} {
		var w strings.Builder
		PrintRule(&w, &tc.r, tc.call, tc.verbose)
		if got := w.String(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestPrintTable(t *testing.T) {
	tb := &Table{Name: "t", Flags: TableConst | TablePersist, Inits: []TableInit{
		{Hosts: []TableHost{{AF: AFInet, Addr: AddrWrap{Addr: Addr16{10}, Mask: MaskOf(8)}}}},
		{Hosts: []TableHost{{Not: true, AF: AFInet6, Addr: AddrWrap{Addr: Addr16{15: 1}, Mask: MaskOf(128)}}}},
		{File: "/etc/t"},
	}}
	var w strings.Builder
	PrintTable(&w, tb)
	if got, want := w.String(), "table <t> const persist { 10.0.0.0/8 !::1 } file \"/etc/t\"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
