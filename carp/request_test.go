package carp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		words string
		want  Request
	}{
		{
			"ok, issue example with positional mask and broadcast",
			"vhid 1 advskew 100 pass foo carpdev eth0 inet 10.0.0.1 255.255.255.0 10.0.0.255",
			Request{Name: "carp0",
				Settings: []Setting{{"vhid", "1"}, {"advskew", "100"}, {"pass", "foo"}, {"carpdev", "eth0"}},
				Addrs:    []AddrOp{{AddrSet, Address{pfx("10.0.0.1/24"), addr("10.0.0.255")}}}},
		},
		{
			"ok, hostname.if legacy line: address first, NONE broadcast",
			"inet 10.0.0.1 255.255.255.0 NONE vhid 1 pass foo",
			Request{Name: "carp0",
				Settings: []Setting{{"vhid", "1"}, {"pass", "foo"}},
				Addrs:    []AddrOp{{AddrSet, Address{Prefix: pfx("10.0.0.1/24")}}}},
		},
		{
			"ok, netstart's rewritten form",
			"inet 192.168.1.1 netmask 255.255.255.0 broadcast 192.168.1.255 vhid 1 carpdev em0",
			Request{Name: "carp0",
				Settings: []Setting{{"vhid", "1"}, {"carpdev", "em0"}},
				Addrs:    []AddrOp{{AddrSet, Address{pfx("192.168.1.1/24"), addr("192.168.1.255")}}}},
		},
		{
			"ok, inet6 with prefixlen, hex netmask alias, delete",
			"inet6 2001:db8::1 prefixlen 64 inet alias 10.0.0.2 0xffffffff inet -alias 10.0.0.3",
			Request{Name: "carp0", Addrs: []AddrOp{
				{AddrAlias, Address{Prefix: pfx("2001:db8::1/64")}},
				{AddrAlias, Address{Prefix: pfx("10.0.0.2/32")}},
				{AddrDelete, Address{Prefix: pfx("10.0.0.3/32")}},
			}},
		},
		{
			"ok, bare CIDR address defaults to inet; negated words; state case",
			"10.1.1.1/24 -carppeer state MASTER -group lan",
			Request{Name: "carp0",
				Settings: []Setting{{"-carppeer", ""}, {"state", "master"}, {"-group", "lan"}},
				Addrs:    []AddrOp{{AddrSet, Address{Prefix: pfx("10.1.1.1/24")}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest("carp0", strings.Fields(tc.words))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestParseRequestErrors(t *testing.T) {
	for _, tc := range []struct{ words, want string }{
		{"vhid 0", "vhid 0: too small"},
		{"vhid 256", "vhid 256: too large"},
		{"vhid x", "vhid x: invalid"},
		{"advbase 255", "advbase 255: too large"},
		{"advskew 255", "advskew 255: too large"},
		{"vhid", "vhid: argument expected"},
		{"carppeer 2001:db8::1", "carppeer 2001:db8::1: only IPv4 addresses supported for the carppeer"},
		{"balancing ip", "balancing ip: load balancing is not supported on Linux"},
		{"balancing foo", "balancing foo: unknown mode"},
		{"carpnodes 1:0,2:100", "carpnodes: load balancing is not supported on Linux"},
		{"state up", "state up: unknown state (init, backup or master)"},
		{"inet 10.0.0.1 255.0.255.0", "netmask 255.0.255.0: not contiguous"},
		{"inet 2001:db8::1", "inet 2001:db8::1: invalid address"},
		{"inet 10.0.0.1/33", "inet 10.0.0.1/33: prefixlen 33: too large"},
		{"inet", "inet: address expected"},
		{"group lan0", "group lan0: invalid group name"},
		{"frobnicate", "frobnicate: unknown keyword"},
	} {
		_, err := ParseRequest("carp0", strings.Fields(tc.words))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %q", tc.words, err, tc.want)
		}
	}
}

func TestApply(t *testing.T) {
	c := NewConfig("carp0")
	req, _ := ParseRequest("carp0", strings.Fields("inet 10.0.0.1/24 vhid 1 carpdev em0 pass secret up"))
	out, err := Apply(c, req, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	n := out.Config
	if n.VHID != 1 || n.CarpDev != "em0" || !n.Up || n.Pass != "secret" || len(n.Addrs) != 1 {
		t.Fatalf("got %+v", n)
	}
	if len(c.Addrs) != 0 {
		t.Error("Apply modified its input")
	}
	// inet without alias replaces the first IPv4 address; alias adds.
	req, _ = ParseRequest("carp0", strings.Fields("inet 10.0.0.9/24 inet alias 10.0.0.10/32 inet6 2001:db8::1/64"))
	out, _ = Apply(n, req, nil)
	var got []string
	for _, a := range out.Config.Addrs {
		got = append(got, a.Prefix.String())
	}
	if want := "10.0.0.9/24 10.0.0.10/32 2001:db8::1/64"; strings.Join(got, " ") != want {
		t.Errorf("addresses %v, want %s", got, want)
	}
}

func TestApplyErrorsChangeNothing(t *testing.T) {
	c := NewConfig("carp0")
	for _, tc := range []struct{ words, want string }{
		{"vhid 1 inet 10.0.0.1/24", "inet 10.0.0.1/24: carpdev must be set before an address"},
		{"carpdev em9", "carpdev em9: no such interface"},
		{"carpdev em0 inet -alias 10.0.0.7", "inet 10.0.0.7: can't assign requested address"},
	} {
		req, err := ParseRequest("carp0", strings.Fields(tc.words))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Apply(c, req, func(n string) error {
			if n != "em0" {
				return errNoSuchLink
			}
			return nil
		})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %q", tc.words, err, tc.want)
		}
	}
}

type linkErr string

func (e linkErr) Error() string { return string(e) }

const errNoSuchLink = linkErr("no such interface")

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"vhid 1 advskew 100 pass foo carpdev eth0 inet 10.0.0.1 255.255.255.0 10.0.0.255",
		"inet6 alias 2001:db8::1 prefixlen 64",
		"inet 10.0.0.1 netmask 0xffffff00 broadcast NONE",
		"-carppeer carppeer 10.0.0.2 state backup group lan -group lan",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := ParseRequest("carp0", strings.Fields(s))
		if err != nil {
			return
		}
		c := NewConfig("carp0")
		c.CarpDev = "em0"
		Apply(c, req, nil)
	})
}
