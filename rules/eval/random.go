package eval

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"

	"carpfw/rules"
)

// RandomOptions shapes the rulesets of RandomRuleset and the packets of
// RandomPacket. The zero value gives small IPv4 rulesets on em0 and em1
// with every feature of the list below; turn features off with the No*
// fields.
type RandomOptions struct {
	Rules      int      // at most this many rules (default 8)
	Interfaces []string // interface names (default em0, em1)
	NoTables   bool     // no table <t>
	NoReturn   bool     // block is always block drop
	NoState    bool     // never "no state"
	NoMatch    bool     // no match rules
	NoQuick    bool     // no quick
	NoFlags    bool     // no flags option
	// Anchors allows inline anchors (off by default).
	Anchors bool
	// NAT adds nat-to rules on outbound and rdr-to rules on inbound pass
	// and match rules (off by default), to single addresses, the forms
	// the nftables compiler accepts.
	NAT bool
}

func (o RandomOptions) ifs() []string {
	if len(o.Interfaces) == 0 {
		return []string{"em0", "em1"}
	}
	return o.Interfaces
}

// The address universe random rules and packets share, so that rules
// match a fair share of packets.
var (
	randHosts    = []string{"10.0.0.1", "10.0.0.2", "10.0.1.1", "10.1.0.1", "192.0.2.1", "198.51.100.1"}
	randPrefixes = []string{"10.0.0.0/24", "10.0.0.0/16", "10.0.0.0/8", "10.0.1.0/24", "192.0.2.0/24"}
	randPorts    = []uint16{22, 53, 80, 443, 1000, 1024, 2000, 8080}
	randTable    = "table <t> { 10.0.0.0/16 !10.0.1.0/24 192.0.2.1 }\n"
)

// RandomRuleset returns a small pf.conf using only features the
// evaluator and carpfw's nftables compiler both handle: pass, block and
// match rules with in/out, quick, on [!] interface, proto tcp/udp/icmp,
// addresses, prefixes and a table with negation, every port operator,
// flags, icmp-type, no state, block drop/return/return-rst.
func RandomRuleset(r *rand.Rand, o RandomOptions) string {
	var w strings.Builder
	if !o.NoTables {
		w.WriteString(randTable)
	}
	n := o.Rules
	if n <= 0 {
		n = 8
	}
	n = 1 + r.Intn(n)
	if r.Intn(2) == 0 {
		// A default deny makes states and replies matter.
		if o.NoReturn || r.Intn(3) != 0 {
			w.WriteString("block all\n")
		} else {
			w.WriteString("block return all\n")
		}
	}
	for i := 0; i < n; i++ {
		if o.Anchors && r.Intn(6) == 0 {
			w.WriteString("anchor" + randDir(r) + randQuick(r, o) + randOn(r, o) + " {\n")
			for j := 1 + r.Intn(3); j > 0; j-- {
				w.WriteString("  " + randRule(r, o) + "\n")
			}
			w.WriteString("}\n")
			continue
		}
		if o.NAT && r.Intn(4) == 0 {
			w.WriteString(randNATRule(r, o) + "\n")
			continue
		}
		w.WriteString(randRule(r, o) + "\n")
	}
	return w.String()
}

// randNATRule is an outbound nat-to or an inbound rdr-to rule.
func randNATRule(r *rand.Rand, o RandomOptions) string {
	ifs := o.ifs()
	action := []string{"pass", "match"}[r.Intn(2)]
	on := " on " + ifs[r.Intn(len(ifs))]
	proto := []string{"", " proto tcp", " proto udp"}[r.Intn(3)]
	if r.Intn(2) == 0 {
		from := []string{"any", "10.0.0.0/16", "10.0.0.0/8"}[r.Intn(3)]
		static := []string{"", "", " static-port"}[r.Intn(3)]
		return action + " out" + on + proto + " from " + from + " nat-to 192.0.2.1" + static
	}
	if proto == "" {
		proto = " proto tcp"
	}
	port := randPorts[r.Intn(len(randPorts))]
	to := fmt.Sprintf(" to 192.0.2.1 port %d rdr-to 10.0.0.2", port)
	if r.Intn(2) == 0 {
		to += fmt.Sprintf(" port %d", randPorts[r.Intn(len(randPorts))])
	}
	return action + " in" + on + proto + to
}

func randDir(r *rand.Rand) string {
	return []string{"", " in", " out"}[r.Intn(3)]
}

func randQuick(r *rand.Rand, o RandomOptions) string {
	if o.NoQuick || r.Intn(5) != 0 {
		return ""
	}
	return " quick"
}

func randOn(r *rand.Rand, o RandomOptions) string {
	ifs := o.ifs()
	switch x := r.Intn(10); {
	case x < 5:
		return " on " + ifs[r.Intn(len(ifs))]
	case x < 6:
		return " on ! " + ifs[r.Intn(len(ifs))]
	}
	return ""
}

func randRule(r *rand.Rand, o RandomOptions) string {
	var w strings.Builder
	action := "pass"
	switch x := r.Intn(20); {
	case x < 7:
		action = "block"
	case x < 10 && !o.NoMatch:
		action = "match"
	}
	proto := []string{"", "tcp", "tcp", "udp", "udp", "icmp"}[r.Intn(6)]
	w.WriteString(action)
	if action == "block" && !o.NoReturn {
		switch r.Intn(4) {
		case 1:
			w.WriteString(" return")
		case 2:
			if proto == "tcp" {
				w.WriteString(" return-rst")
			}
		}
	}
	w.WriteString(randDir(r))
	if action != "match" {
		w.WriteString(randQuick(r, o))
	}
	w.WriteString(randOn(r, o))
	if proto == "icmp" {
		w.WriteString(" inet")
	}
	if proto != "" {
		w.WriteString(" proto " + proto)
	}
	ports := proto == "tcp" || proto == "udp"
	from, to := randHost(r, o), randHost(r, o)
	fport, tport := "", ""
	if ports && r.Intn(4) == 0 {
		fport = " port " + randPortSpec(r)
	}
	if ports && r.Intn(2) == 0 {
		tport = " port " + randPortSpec(r)
	}
	if from == "" && to == "" && fport == "" && tport == "" {
		w.WriteString(" all")
	} else {
		if from != "" || fport != "" {
			w.WriteString(" from " + or(from, "any") + fport)
		}
		if to != "" || tport != "" {
			w.WriteString(" to " + or(to, "any") + tport)
		}
	}
	if proto == "tcp" && action == "pass" && !o.NoFlags && r.Intn(3) == 0 {
		w.WriteString(" flags " + []string{"S/SA", "any", "A/A", "S/FSRA"}[r.Intn(4)])
	}
	if proto == "icmp" && r.Intn(2) == 0 {
		w.WriteString(" icmp-type " + []string{"echoreq", "echorep", "unreach", "timex"}[r.Intn(4)])
	}
	if action == "pass" && !o.NoState && r.Intn(6) == 0 {
		w.WriteString(" no state")
	}
	return w.String()
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func randHost(r *rand.Rand, o RandomOptions) string {
	switch x := r.Intn(12); {
	case x < 2:
		return randHosts[r.Intn(len(randHosts))]
	case x < 4:
		return randPrefixes[r.Intn(len(randPrefixes))]
	case x < 5:
		return "! " + randPrefixes[r.Intn(len(randPrefixes))]
	case x < 6 && !o.NoTables:
		return "<t>"
	case x < 7 && !o.NoTables:
		return "! <t>"
	}
	return ""
}

// randPortSpec uses every operator of pf.conf(5): = != < <= > >= >< <> :.
func randPortSpec(r *rand.Rand) string {
	a := randPorts[r.Intn(len(randPorts))]
	b := randPorts[r.Intn(len(randPorts))]
	if a > b {
		a, b = b, a
	}
	if a == b {
		b = a + 10
	}
	switch r.Intn(9) {
	case 0:
		return fmt.Sprint(a)
	case 1:
		return fmt.Sprintf("!= %d", a)
	case 2:
		return fmt.Sprintf("< %d", a)
	case 3:
		return fmt.Sprintf("<= %d", a)
	case 4:
		return fmt.Sprintf("> %d", a)
	case 5:
		return fmt.Sprintf(">= %d", a)
	case 6:
		return fmt.Sprintf("%d >< %d", a, b)
	case 7:
		return fmt.Sprintf("%d <> %d", a, b)
	}
	return fmt.Sprintf("%d:%d", a, b)
}

// RandomPacket returns a packet over the same interfaces, addresses and
// ports as RandomRuleset, with ports next to the rules' boundaries.
func RandomPacket(r *rand.Rand, o RandomOptions) Packet {
	ifs := o.ifs()
	p := Packet{If: ifs[r.Intn(len(ifs))], Dir: rules.DirIn, AF: rules.AFInet}
	if r.Intn(2) == 0 {
		p.Dir = rules.DirOut
	}
	p.Src, p.Dst = randAddr(r), randAddr(r)
	switch x := r.Intn(20); {
	case x < 8:
		p.Proto = ProtoTCP
		p.TCPFlags = []uint8{TCPSyn, TCPSyn, TCPSyn | TCPAck, TCPAck, TCPPsh | TCPAck, TCPFin | TCPAck, TCPRst}[r.Intn(7)]
	case x < 15:
		p.Proto = ProtoUDP
	default:
		p.Proto = ProtoICMP
		p.ICMPType = []uint8{8, 8, 0, 3, 11}[r.Intn(5)]
		if p.ICMPType == 8 || p.ICMPType == 0 {
			p.ICMPID = uint16(1 + r.Intn(3))
		}
	}
	if p.Proto == ProtoTCP || p.Proto == ProtoUDP {
		p.SrcPort, p.DstPort = randPort(r), randPort(r)
	}
	return p
}

func randAddr(r *rand.Rand) netip.Addr {
	if r.Intn(4) == 0 {
		return netip.AddrFrom4([4]byte{10, byte(r.Intn(2)), byte(r.Intn(3)), byte(1 + r.Intn(3))})
	}
	return netip.MustParseAddr(randHosts[r.Intn(len(randHosts))])
}

func randPort(r *rand.Rand) uint16 {
	switch r.Intn(4) {
	case 0:
		return uint16(1 + r.Intn(65535))
	case 1:
		return randPorts[r.Intn(len(randPorts))] + uint16(r.Intn(3)) - 1
	}
	return randPorts[r.Intn(len(randPorts))]
}

// Reply returns the packet that answers p on the same interface: the
// other direction, addresses and ports swapped, a SYN answered with
// SYN+ACK and other TCP packets with ACK, an echo request with a reply.
func Reply(p Packet) Packet {
	q := p
	q.Dir = rules.DirIn + rules.DirOut - p.Dir
	q.Src, q.Dst = p.Dst, p.Src
	q.SrcPort, q.DstPort = p.DstPort, p.SrcPort
	q.Tag = ""
	switch p.Proto {
	case ProtoTCP:
		q.TCPFlags = TCPAck
		if p.TCPFlags&(TCPSyn|TCPAck) == TCPSyn {
			q.TCPFlags = TCPSyn | TCPAck
		}
	case ProtoICMP:
		if p.ICMPType == 8 {
			q.ICMPType = 0
		}
	case ProtoICMPv6:
		if p.ICMPType == 128 {
			q.ICMPType = 129
		}
	}
	return q
}
