package eval

import (
	"fmt"
	"net/netip"
	"strings"

	"carpfw/rules"
)

// IP protocol numbers the evaluator treats specially.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flags, as in pf's flag letters FSRPAUEW.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Packet is what pf looks at when it tests a packet (struct pf_pdesc):
// the interface and direction of this pass, the addresses, the protocol
// and its header fields, and the tag the packet already carries.
type Packet struct {
	If  string // interface of this pass
	Dir int    // rules.DirIn or rules.DirOut
	// AF is rules.AFInet or rules.AFInet6; zero means "from Src".
	AF               int
	Proto            int
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // TCP and UDP
	TCPFlags         uint8
	ICMPType         uint8
	ICMPCode         uint8
	ICMPID           uint16 // echo and other query ids
	TOS              uint8
	Tag              string // tag set by an earlier pass ("" none)
	RcvIf            string // interface the packet was received on, for received-on
	// Inner is the quoted packet of an ICMP error message (unreach,
	// timex, …) as it is quoted: the packet that caused the error.
	Inner *Packet
}

func (p *Packet) af() int {
	if p.AF != 0 {
		return p.AF
	}
	if p.Src.Is6() && !p.Src.Is4In6() {
		return rules.AFInet6
	}
	return rules.AFInet
}

// String renders a packet compactly, for test messages.
func (p Packet) String() string {
	var w strings.Builder
	dir := "in"
	if p.Dir == rules.DirOut {
		dir = "out"
	}
	fmt.Fprintf(&w, "%s on %s proto %d %s", dir, p.If, p.Proto, ep(p.Src, p.SrcPort, p.Proto))
	fmt.Fprintf(&w, " > %s", ep(p.Dst, p.DstPort, p.Proto))
	switch p.Proto {
	case ProtoTCP:
		fmt.Fprintf(&w, " flags %s", FlagString(p.TCPFlags))
	case ProtoICMP, ProtoICMPv6:
		fmt.Fprintf(&w, " icmp %d/%d id %d", p.ICMPType, p.ICMPCode, p.ICMPID)
	}
	if p.Tag != "" {
		fmt.Fprintf(&w, " tag %s", p.Tag)
	}
	return w.String()
}

func ep(a netip.Addr, port uint16, proto int) string {
	if proto == ProtoTCP || proto == ProtoUDP {
		return netip.AddrPortFrom(a, port).String()
	}
	return a.String()
}

// FlagString renders TCP flags with pf's letters.
func FlagString(f uint8) string {
	const letters = "FSRPAUEW"
	var b []byte
	for i := 0; i < 8; i++ {
		if f&(1<<i) != 0 {
			b = append(b, letters[i])
		}
	}
	return string(b)
}

// ParseFlags reads pf's flag letters ("SA") into a flag byte.
func ParseFlags(s string) uint8 {
	var f uint8
	for _, c := range s {
		if i := strings.IndexRune("FSRPAUEW", c); i >= 0 {
			f |= 1 << i
		}
	}
	return f
}

// ReturnKind is what a block rule sends back (pf_test_rule's return
// handling): nothing, a TCP RST or an ICMP or ICMPv6 error.
type ReturnKind int

const (
	ReturnNone ReturnKind = iota
	ReturnRST
	ReturnICMP
)

func (k ReturnKind) String() string {
	return [...]string{"none", "rst", "icmp"}[k]
}

// NAT is the translation applied to a packet: its addresses and ports
// after translation. Nat and Rdr tell which side was translated by a
// rule; PortLow and PortHigh are the nat-to source port range pf picks
// from (1-65535 for the id of an ICMP echo request; zero for
// static-port): the evaluator keeps the packet's own port when it is in
// the range and free, else picks the lowest free one, where pf starts
// at a random port.
// Pool is set when the address was chosen from a pool of several
// addresses (a table, an interface with several addresses, a
// round-robin, random, source-hash or least-states pool): the address
// reported is then the pool's first, which pf need not pick.
type NAT struct {
	Src, Dst          netip.Addr
	SrcPort, DstPort  uint16
	ICMPID            uint16 // the new id of an ICMP echo, 0 when unchanged
	Nat, Rdr          bool
	PortLow, PortHigh uint16
	Pool              bool
	// Inner is the quoted packet's translation, for an ICMP error
	// about a translated connection (Src and Dst are then the error's
	// own addresses).
	Inner *NAT
}

func (n *NAT) String() string {
	if n == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("%s > %s", netip.AddrPortFrom(n.Src, n.SrcPort), netip.AddrPortFrom(n.Dst, n.DstPort))
	if n.SrcPort == 0 && n.DstPort == 0 {
		s = fmt.Sprintf("%s > %s", n.Src, n.Dst)
	}
	if n.ICMPID != 0 {
		s += fmt.Sprintf(" id %d", n.ICMPID)
	}
	if n.Pool {
		s += " pool"
	}
	if n.Inner != nil {
		s += " [" + n.Inner.String() + "]"
	}
	return s
}

// StateKey describes a state: the packet that created it, as it was seen
// (Src, Dst) and as translated (NatSrc, NatDst), its direction and the
// interface it is bound to ("" for a floating state).
type StateKey struct {
	AF, Proto      int
	Dir            int
	If             string
	Src, Dst       netip.AddrPort
	NatSrc, NatDst netip.AddrPort
	RuleNr         int
	Anchor         string
}

// String renders a state roughly as pfctl -s states does: the
// direction arrow, protocol and endpoints, the translation in braces.
func (k *StateKey) String() string {
	if k == nil {
		return "<nil>"
	}
	arrow := "->"
	if k.Dir == rules.DirIn {
		arrow = "<-"
	}
	s := fmt.Sprintf("%d %s %s %s", k.Proto, k.Src, arrow, k.Dst)
	if k.NatSrc != k.Src || k.NatDst != k.Dst {
		s += fmt.Sprintf(" {%s %s %s}", k.NatSrc, arrow, k.NatDst)
	}
	return s
}

// Verdict is what pf decides for one packet.
type Verdict struct {
	Action     int        // rules.ActionPass or rules.ActionBlock
	Return     ReturnKind // for blocked packets
	ReturnICMP uint16     // ICMP or ICMPv6 type<<8|code sent with ReturnICMP
	// RuleNr is the deciding rule's number as pfctl -vv prints it (its
	// index in its anchor), -1 for pf's default rule; Anchor is the path
	// of the anchor holding it ("" for the main ruleset).
	RuleNr int
	Anchor string
	Rule   *rules.Rule
	Quick  bool
	// Translation is the translation applied to the packet, nil for none
	// (or one that leaves the packet unchanged).
	Translation *NAT
	// State is the state created by this packet, nil for none.
	State *StateKey
	// StateMatch is set when an existing state passed the packet without
	// ruleset evaluation; State is then that state.
	StateMatch bool
	Skip       bool // the interface is in set skip
	Log        bool
	Tag        string // the packet's tag after this pass
}

// Outcome renders what can be observed of a verdict on the wire,
// without rule numbers: "pass", "pass keep" (a state was created), "pass
// state" (an existing state passed it), "block", "block return-rst" or
// "block return-icmp", then the translation if any.
func (v Verdict) Outcome() string {
	s := "pass"
	if v.Action != rules.ActionPass {
		s = "block"
		if v.Return != ReturnNone {
			s += " return-" + v.Return.String()
		}
	}
	switch {
	case v.StateMatch:
		s += " state"
	case v.State != nil:
		s += " keep"
	}
	if v.Translation != nil {
		s += " nat " + v.Translation.String()
	}
	return s
}

// String renders a verdict compactly, for test messages.
func (v Verdict) String() string {
	var w strings.Builder
	if v.Action == rules.ActionPass {
		w.WriteString("pass")
	} else {
		w.WriteString("block")
		if v.Return != ReturnNone {
			w.WriteString(" return-" + v.Return.String())
		}
	}
	switch {
	case v.Skip:
		w.WriteString(" skip")
	case v.StateMatch:
		w.WriteString(" state")
	default:
		if v.Anchor != "" {
			fmt.Fprintf(&w, " @%s", v.Anchor)
		}
		fmt.Fprintf(&w, " @%d", v.RuleNr)
	}
	if v.Quick {
		w.WriteString(" quick")
	}
	if v.State != nil && !v.StateMatch {
		w.WriteString(" keep")
	}
	if v.Translation != nil {
		w.WriteString(" nat " + v.Translation.String())
	}
	if v.Tag != "" {
		w.WriteString(" tag " + v.Tag)
	}
	if v.Log {
		w.WriteString(" log")
	}
	return w.String()
}
