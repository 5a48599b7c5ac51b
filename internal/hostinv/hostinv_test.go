package hostinv

import (
	"fmt"
	"testing"
)

func TestOpenBSDRegress(t *testing.T) {
	inv := OpenBSDRegress()
	show := func(v any, ok bool) string { return fmt.Sprintf("%v %v", v, ok) }
	for _, tc := range []struct {
		name, got, want string
	}{
		{"ok, user bin", show(inv.User("bin")), "3 true"},
		{"ok, group nobody", show(inv.GroupID("nobody")), "32767 true"},
		{"ok, service ssh", show(inv.Service("ssh", "tcp")), "22 true"},
		{"ok, service ident is auth", show(inv.Service("ident", "tcp")), "113 true"},
		{"ok, protocol icmp6 alias", show(inv.Protocol("icmp6")), "58 true"},
		{"ok, protocol carp", show(inv.Protocol("carp")), "112 true"},
		{"ok, protocol 240 prints pfsync", show(inv.ProtocolName(240)), "pfsync true"},
		{"ok, protocol 103 prints pim", show(inv.ProtocolName(103)), "pim true"},
		{"ok, localhost", fmt.Sprint(inv.Host("localhost")), "[127.0.0.1 ::1]"},
		{"ok, group lo", show(inv.Group("lo")), "[lo0 lo1000000] true"},
		{"bad, unknown user", show(inv.User("nosuch")), "0 false"},
		{"bad, protocol 166 has no name", show(inv.ProtocolName(166)), " false"},
		{"bad, unknown host", fmt.Sprint(inv.Host("nosuch.example")), "[]"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	var lo0 []string
	for _, ifc := range inv.Interfaces() {
		if ifc.Name == "lo0" {
			for _, a := range ifc.Addrs {
				lo0 = append(lo0, fmt.Sprintf("%s/%d", a.Addr, a.PrefixLen))
			}
		}
	}
	if got, want := fmt.Sprint(lo0), "[::1/128 fe80::1/64 127.0.0.1/8]"; got != want {
		t.Errorf("lo0 addresses: got %s, want %s", got, want)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvVar, "openbsd-regress")
	if _, ok := FromEnv().(regress); !ok {
		t.Errorf("PFCONF_HOST=openbsd-regress: got %T, want the regress profile", FromEnv())
	}
	t.Setenv(EnvVar, "")
	if _, ok := FromEnv().(*host); !ok {
		t.Errorf("PFCONF_HOST unset: got %T, want the real host", FromEnv())
	}
}
