package eval

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"carpfw/parser"
	"carpfw/rules"
)

// testHost is the machine the tests' rulesets are written for.
func testHost() *FakeHost {
	h := NewFakeHost(
		"em0 192.0.2.1/24 2001:db8::1/64",
		"em1 10.0.0.1/24",
		"em2 10.9.0.1/16",
		"lo0 127.0.0.1/8 ::1/128",
	)
	h.Groups["egress"] = []string{"em0"}
	return h
}

// load parses pf.conf text with the real parser; files maps load anchor
// file names to their text.
func load(t testing.TB, conf string, files map[string]string) *Loaded {
	t.Helper()
	l, err := Load("test.conf", []byte(conf), parser.Config{
		Inventory: testHost(),
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, os.ErrNotExist
		},
	})
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, conf)
	}
	return l
}

// pkt reads a packet written as
// "in|out IF PROTO SRC[:PORT] > DST[:PORT] [FLAGS] [type=N] [code=N] [id=N] [tag=T] [rcv=IF]".
func pkt(s string) Packet {
	f := strings.Fields(s)
	p := Packet{If: f[1]}
	if f[0] == "out" {
		p.Dir = rules.DirOut
	} else {
		p.Dir = rules.DirIn
	}
	switch f[2] {
	case "tcp":
		p.Proto = ProtoTCP
	case "udp":
		p.Proto = ProtoUDP
	case "icmp":
		p.Proto = ProtoICMP
	case "icmp6":
		p.Proto = ProtoICMPv6
	default:
		n, err := strconv.Atoi(f[2])
		if err != nil {
			panic(s)
		}
		p.Proto = n
	}
	p.Src, p.SrcPort = endpoint(f[3])
	if f[4] != ">" {
		panic(s)
	}
	p.Dst, p.DstPort = endpoint(f[5])
	for _, x := range f[6:] {
		k, v, ok := strings.Cut(x, "=")
		if !ok {
			p.TCPFlags = ParseFlags(x)
			continue
		}
		n, _ := strconv.Atoi(v)
		switch k {
		case "type":
			p.ICMPType = uint8(n)
		case "code":
			p.ICMPCode = uint8(n)
		case "id":
			p.ICMPID = uint16(n)
		case "tag":
			p.Tag = v
		case "rcv":
			p.RcvIf = v
		case "tos":
			p.TOS = uint8(n)
		default:
			panic(s)
		}
	}
	return p
}

func endpoint(s string) (netip.Addr, uint16) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), ap.Port()
	}
	return netip.MustParseAddr(s), 0
}

// step is one packet and the verdict it must get, as Verdict.String
// renders it.
type step struct{ pkt, want string }

func runSteps(t *testing.T, e *Engine, steps []step) {
	t.Helper()
	for i, s := range steps {
		v := e.Eval(pkt(s.pkt))
		if got := v.String(); got != s.want {
			t.Errorf("packet %d %q:\n got %s\nwant %s", i, s.pkt, got, s.want)
		}
	}
}

var _ = fmt.Sprint

func endpointAddr(s string) netip.Addr { a, _ := endpoint(s); return a }

func parserConfig() parser.Config {
	return parser.Config{Inventory: testHost(), ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }}
}
