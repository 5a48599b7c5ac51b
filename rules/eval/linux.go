package eval

import "net/netip"

// The Linux model (option Linux): what pfconf's nftables ruleset does
// differently from pf, because the kernel's connection tracking and NAT
// work the way they do. docs/pfconf-nftables.md §7 and §8 describe each
// difference; internal/difftest checks the kernel against this model.
//
//  1. NAT is bound on a connection's first packet
//     (nf_nat_inet_fn runs for unconfirmed connections only): a state
//     created for a packet of a connection the kernel already tracks,
//     because an earlier packet passed without a pf state, is kept but
//     does not translate.
//  2. A packet connection tracking does not track (a TCP SYN+ACK, RST or
//     FIN of no known connection, an ICMP reply or other message that
//     cannot open a connection) creates no state: its connection mark
//     cannot be set. It still passes, untranslated.
//  3. Translation happens in the nat hooks after the filter pass: rules
//     after a match rule with nat-to or rdr-to see the packet's original
//     addresses, and the last rule that translates replaces the
//     translations before it instead of applying on top of them.

// Linux makes the engine model pfconf on Linux instead of pf: the three
// differences above. The caller reports each packet the router passed
// both ways with Confirm, as the kernel confirms its connection.
func Linux() Option {
	return func(e *Engine) { e.linux = true }
}

// flow is a connection as connection tracking sees it, in either
// direction: protocol and the two ends (ports, or the ICMP query id),
// ordered.
type flow struct {
	proto int
	a, b  netip.AddrPort
}

func flowOf(p *Packet) flow {
	var sp, dp uint16
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		sp, dp = p.SrcPort, p.DstPort
	case ProtoICMP, ProtoICMPv6:
		sp, dp = p.ICMPID, p.ICMPID
	}
	a, b := netip.AddrPortFrom(p.Src, sp), netip.AddrPortFrom(p.Dst, dp)
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return flow{p.Proto, a, b}
}

// Confirm records that the router passed a packet both ways, as
// received and as it left: connection tracking now knows its connection
// under both forms (nf_conntrack_confirm), unless the packet is one
// that cannot open a connection. Without Linux it does nothing.
func (e *Engine) Confirm(received, left Packet) {
	if !e.linux || e.tracks(&received) || e.tracks(&left) || !opensConnection(&received) {
		return
	}
	e.tracked[flowOf(&received)] = true
	e.tracked[flowOf(&left)] = true
}

// tracks reports whether connection tracking knows the connection of p.
func (e *Engine) tracks(p *Packet) bool {
	return e.tracked[flowOf(p)]
}

// opensConnection reports whether connection tracking makes a new
// connection of a packet of no known connection: for TCP what
// tcp_conntracks allows from no state with loose pick-up (a SYN, or an
// ACK without SYN, RST and FIN), for ICMP and
// ICMPv6 the queries of icmp_new and icmpv6_new (echo, timestamp,
// information and address mask requests; echo and node information
// queries), never an error message.
func opensConnection(p *Packet) bool {
	switch p.Proto {
	case ProtoTCP:
		f := p.TCPFlags
		switch {
		case f&TCPRst != 0:
			return false
		case f&TCPSyn != 0:
			return f&(TCPAck|TCPFin) == 0
		}
		return f&TCPFin == 0 && f&TCPAck != 0
	case ProtoICMP:
		switch p.ICMPType {
		case 8, 13, 15, 17:
			return true
		}
		return false
	case ProtoICMPv6:
		return p.ICMPType == 128 || p.ICMPType == 139
	}
	return true
}
