package carp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ips(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func mac(tb testing.TB, s string) net.HardwareAddr {
	tb.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// hmacVectors are TV1..TV7 of carp.md §2.6; header names the golden
// header (if the reference gives one), msg the golden HMAC message.
func hmacVectors(tb testing.TB) []struct {
	name    string
	in      HMACInput
	ctx     HMACContext
	counter string
	key     string // hex of the 20-byte key, "" if the reference gives none
	msg     string // golden file of the message
	header  string // golden file of the header
	hmac    string
} {
	tv2 := HMACInput{Pass: "s3cret", VHID: 42, Addrs: ips(
		"192.0.2.20", "10.0.0.2", "10.0.0.1",
		"2001:db8::1", "fe80::200:5eff:fe00:12a", "2001:db8::a")}
	return []struct {
		name    string
		in      HMACInput
		ctx     HMACContext
		counter string
		key     string
		msg     string
		header  string
		hmac    string
	}{
		{"ok, TV1 one IPv4 address",
			HMACInput{Pass: "mekmitasdigoat", VHID: 1, Addrs: ips("192.168.1.10")}, NoV6LL,
			"0102030405060708", "6d656b6d697461736469676f6174000000000000",
			"tv1-msg.hex", "tv1.hex", "17b1efdbf04c5b67a2d4c6deec56e5e473ed7ae2"},
		{"ok, TV2 NOV6LL skips the link-local",
			tv2, NoV6LL, "deadbeefcafef00d", "",
			"tv2-msg.hex", "tv2.hex", "fbfceee7928bacf7db9326f23a94a4d9f74ca3a8"},
		{"ok, TV2 ORIG hashes the link-local last",
			tv2, Orig, "deadbeefcafef00d", "",
			"tv2-orig-msg.hex", "", "3ce9387c16c21d4cdc069111dde23182ca43e9f8"},
		{"ok, TV3 no passphrase",
			HMACInput{VHID: 255, Addrs: ips("203.0.113.7")}, NoV6LL,
			"0000000000000000", "0000000000000000000000000000000000000000",
			"tv3-msg.hex", "tv3.hex", "44fa270b205b00d9fdc54d422322ff9f6817afed"},
		{"ok, TV4 passphrase truncated to 19 bytes",
			HMACInput{Pass: "abcdefghijklmnopqrstuvwxyz", VHID: 7, Addrs: ips("198.51.100.1")}, NoV6LL,
			"0102030405060708", "6162636465666768696a6b6c6d6e6f7071727300",
			"", "tv4.hex", "91f5ca57d340dcc3187ec2beb39d212884465c9c"},
		{"ok, TV5 IPv6 only",
			HMACInput{Pass: "mekmitasdigoat", VHID: 3, Addrs: ips("2001:db8:1::1")}, NoV6LL,
			"0102030405060708", "",
			"tv5-msg.hex", "tv5.hex", "11c11b5886e81aa15ef2466f1aa34c8760429863"},
		{"ok, TV6 bow-out has TV1's HMAC",
			HMACInput{Pass: "mekmitasdigoat", VHID: 1, Addrs: ips("192.168.1.10")}, NoV6LL,
			"0102030405060708", "",
			"tv1-msg.hex", "tv6.hex", "17b1efdbf04c5b67a2d4c6deec56e5e473ed7ae2"},
		{"ok, TV7 overridden lladdr is folded in",
			HMACInput{Pass: "mekmitasdigoat", VHID: 1, Addrs: ips("192.168.1.10"),
				LLAddr: mac(tb, "02:00:00:00:00:01")}, NoV6LL,
			"0102030405060708", "",
			"tv7-msg.hex", "", "46cbc9a285181047037db2377bc6ad44a0e39e52"},
	}
}

func TestHMACVectors(t *testing.T) {
	for _, tv := range hmacVectors(t) {
		t.Run(tv.name, func(t *testing.T) {
			counter := counter8(t, tv.counter)
			if tv.key != "" {
				k := tv.in.Key()
				if diff := cmp.Diff(unhex(t, tv.key), k[:]); diff != "" {
					t.Errorf("Key (-want +got):\n%s", diff)
				}
			}
			if tv.msg != "" {
				got := hmacMessage(tv.in, tv.ctx, counter)
				if diff := cmp.Diff(goldenHex(t, tv.msg), got); diff != "" {
					t.Errorf("message (-want +got):\n%s", diff)
				}
			}
			want := md20(t, tv.hmac)
			if got := ComputeHMACContext(tv.in, tv.ctx, counter); got != want {
				t.Errorf("ComputeHMACContext = %x, want %x", got, want)
			}
			if tv.ctx == NoV6LL {
				if got := ComputeHMAC(tv.in, counter); got != want {
					t.Errorf("ComputeHMAC = %x, want %x", got, want)
				}
			}
			if !VerifyHMAC(tv.in, counter, want) {
				t.Errorf("VerifyHMAC rejects the %v vector", tv.ctx)
			}
			if tv.header != "" {
				var a Advertisement
				if err := a.UnmarshalBinary(goldenHex(t, tv.header)); err != nil {
					t.Fatal(err)
				}
				if a.Counter != counter || a.HMAC != want {
					t.Errorf("header carries counter %x hmac %x, want %x %x", a.Counter, a.HMAC, counter, want)
				}
				if !VerifyHMAC(tv.in, a.Counter, a.HMAC) {
					t.Error("VerifyHMAC rejects the golden header")
				}
			}
		})
	}
}

func TestVerifyHMAC(t *testing.T) {
	tv1 := HMACInput{Pass: "mekmitasdigoat", VHID: 1, Addrs: ips("192.168.1.10")}
	c := counter8(t, "0102030405060708")
	good := md20(t, "17b1efdbf04c5b67a2d4c6deec56e5e473ed7ae2")
	with := func(f func(*HMACInput)) HMACInput {
		in := tv1
		in.Addrs = append([]netip.Addr(nil), tv1.Addrs...)
		f(&in)
		return in
	}
	for _, tc := range []struct {
		name string
		in   HMACInput
		c    [8]byte
		ok   bool
	}{
		{"ok, TV1", tv1, c, true},
		{"ok, duplicate address counts once", with(func(in *HMACInput) {
			in.Addrs = ips("192.168.1.10", "192.168.1.10")
		}), c, true},
		{"ok, 0.0.0.0 and 255.255.255.255 are never hashed", with(func(in *HMACInput) {
			in.Addrs = ips("255.255.255.255", "192.168.1.10", "0.0.0.0")
		}), c, true},
		{"ok, IPv6 link-local is not hashed in NOV6LL", with(func(in *HMACInput) {
			in.Addrs = ips("192.168.1.10", "fe80::200:5eff:fe00:101")
		}), c, true},
		{"ok, lladdr equal to the virtual MAC", with(func(in *HMACInput) {
			in.LLAddr = VirtualMAC(1)
		}), c, true},
		{"ok, lladdr with the virtual MAC's static bytes (kernel replaces it)", with(func(in *HMACInput) {
			in.LLAddr = mac(t, "00:00:5e:00:01:07")
		}), c, true},
		{"ok, realmac: lladdr equal to the carpdev's MAC", with(func(in *HMACInput) {
			in.LLAddr = mac(t, "52:54:00:12:34:56")
			in.RealMAC = mac(t, "52:54:00:12:34:56")
		}), c, true},
		{"bad, other lladdr is folded in (TV7)", with(func(in *HMACInput) {
			in.LLAddr = mac(t, "02:00:00:00:00:01")
		}), c, false},
		{"bad, other passphrase", with(func(in *HMACInput) { in.Pass = "mekmitasdigoaT" }), c, false},
		{"bad, empty passphrase", with(func(in *HMACInput) { in.Pass = "" }), c, false},
		{"bad, other vhid", with(func(in *HMACInput) { in.VHID = 2 }), c, false},
		{"bad, extra address", with(func(in *HMACInput) {
			in.Addrs = ips("192.168.1.10", "192.168.1.11")
		}), c, false},
		{"bad, extra global IPv6 address", with(func(in *HMACInput) {
			in.Addrs = ips("192.168.1.10", "2001:db8::1")
		}), c, false},
		{"bad, other counter", tv1, counter8(t, "0102030405060709"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyHMAC(tc.in, tc.c, good); got != tc.ok {
				t.Errorf("VerifyHMAC = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestHMACAddressOrder(t *testing.T) {
	c := counter8(t, "deadbeefcafef00d")
	want := md20(t, "fbfceee7928bacf7db9326f23a94a4d9f74ca3a8")
	orders := [][]string{
		{"10.0.0.1", "10.0.0.2", "192.0.2.20", "2001:db8::1", "2001:db8::a"},
		{"2001:db8::a", "192.0.2.20", "2001:db8::1", "10.0.0.2", "10.0.0.1"},
		{"10.0.0.2", "2001:db8::a", "10.0.0.1", "2001:db8::a", "192.0.2.20", "2001:db8::1", "10.0.0.1"},
	}
	for i, o := range orders {
		in := HMACInput{Pass: "s3cret", VHID: 42, Addrs: ips(o...)}
		if got := ComputeHMAC(in, c); got != want {
			t.Errorf("ok, order %d %v: %x, want %x", i, o, got, want)
		}
	}
}

func TestHMACOrigZeroesScopeBytes(t *testing.T) {
	// A link-local address with bytes 2-3 set (KAME's embedded scope) is
	// hashed with them zeroed in ORIG.
	c := counter8(t, "deadbeefcafef00d")
	base := []string{"192.0.2.20", "10.0.0.2", "10.0.0.1", "2001:db8::1", "2001:db8::a"}
	in := HMACInput{Pass: "s3cret", VHID: 42, Addrs: ips(append(base, "fe80:7::200:5eff:fe00:12a")...)}
	if got, want := ComputeHMACContext(in, Orig, c), md20(t, "3ce9387c16c21d4cdc069111dde23182ca43e9f8"); got != want {
		t.Errorf("ORIG = %x, want TV2's %x", got, want)
	}
	if Orig.String() != "ORIG" || NoV6LL.String() != "NOV6LL" {
		t.Errorf("context names %q %q", Orig, NoV6LL)
	}
}

func TestHMACKey(t *testing.T) {
	for _, tc := range []struct {
		name, pass, want string
	}{
		{"ok, empty", "", "0000000000000000000000000000000000000000"},
		{"ok, 19 bytes kept", "0123456789abcdefghi", "3031323334353637383961626364656667686900"},
		{"ok, 20 bytes lose the last", "0123456789abcdefghij", "3031323334353637383961626364656667686900"},
		{"ok, a NUL ends the passphrase (strlcpy)", "ab\x00cd", "6162000000000000000000000000000000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := HMACInput{Pass: tc.pass}.Key()
			if diff := cmp.Diff(unhex(t, tc.want), k[:]); diff != "" {
				t.Errorf("Key (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewHMACInput(t *testing.T) {
	c := NewConfig("carp0")
	c.VHID, c.Pass = 1, "mekmitasdigoat"
	c.Addrs = []Address{{Prefix: netip.MustParsePrefix("192.168.1.10/24")}}
	tv1 := md20(t, "17b1efdbf04c5b67a2d4c6deec56e5e473ed7ae2")
	tv7 := md20(t, "46cbc9a285181047037db2377bc6ad44a0e39e52")
	for _, tc := range []struct {
		name, lladdr string
		want         [20]byte
	}{
		{"ok, TV1 from a Config", "", tv1},
		{"ok, TV7 from a Config with lladdr", "02:00:00:00:00:01", tv7},
		{"ok, lladdr equal to the carpdev's MAC (realmac)", "52:54:00:12:34:56", tv1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.Clone()
			c.LLAddr = tc.lladdr
			in, err := NewHMACInput(c, mac(t, "52:54:00:12:34:56"))
			if err != nil {
				t.Fatal(err)
			}
			if got := ComputeHMAC(in, counter8(t, "0102030405060708")); got != tc.want {
				t.Errorf("%x, want %x", got, tc.want)
			}
		})
	}
	c.LLAddr = "00:00:5e:00:01"
	if _, err := NewHMACInput(c, nil); err == nil {
		t.Error("bad, short lladdr: no error")
	} else {
		t.Logf("OK error: %v", err)
	}
}
