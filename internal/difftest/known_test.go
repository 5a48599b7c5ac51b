package difftest

import (
	"net/netip"

	"carpfw/rules/eval"
)

// Known disagreements: bugs found by this test and reported, which the
// test excludes so that it guards everything else. Each class has a
// narrow signature; a disagreement that matches one ends its ruleset
// (the two state tables differ from there on) and is counted and logged
// instead of failing the test. DIFFTEST_STRICT=1 fails on them too.
const (
	// pf creates a state with a translation for a packet of a connection
	// that connection tracking already tracks (an earlier packet passed
	// without a pf state and the kernel made a connection of it): the
	// kernel cannot translate such a packet, NAT is bound on a
	// connection's first packet. (Fixed 2026-11-26: a state kept by a
	// reply-direction packet was recorded as a state of the other pass;
	// rules.CtInStateReply and CtOutStateReply record it as pf keys it.)
	knownTrackedState = "translation for a connection the kernel already tracks"
	// pf keeps a state for a packet connection tracking does not track
	// (a TCP SYN+ACK, FIN or RST of no known connection, passed by a
	// rule with flags any or A/A): later packets of the connection, its
	// replies and ICMP errors about it, pass by that state in pf, but
	// are of no connection for the kernel, and its rules decide.
	knownUntrackedState = "state of an untracked packet"
)

// Fixed 2026-11-26, no longer a class: "return for an untracked packet
// is dropped" (the reply of a block return rule to a packet conntrack
// does not track was filtered by the outbound pass; it now carries
// rules.MarkReply, and a TCP RST gets an ICMP unreachable).
// Fixed 2026-11-26 too: "related ICMP error passes a pass without a
// state" (any state bit let an ICMP error through both passes; it is now
// matched by direction, like the packets of its connection).
// And "translation without a state" (a match rule's nat-to or rdr-to
// was applied when pf's default rule or a no-state rule passed the
// packet; the decision now clears the translation).
var knownClasses = []string{knownTrackedState, knownUntrackedState}

// known returns the class of the disagreement of s, "" for none.
func (c *caseRun) known(s *sent) string {
	want, got := s.want, s.got
	seen := c.seenBefore(s)
	switch {
	case want.kind == "pass" && got.kind != "pass" && c.firstUntracked(s):
		return knownUntrackedState
	case want.kind == "pass" && got.kind == "pass" && want.port == got.port:
		newXlat := false
		for _, v := range want.verdicts {
			if v.Translation != nil && v.State != nil && !v.StateMatch {
				newXlat = true
			}
		}
		if newXlat && seen {
			return knownTrackedState
		}
	}
	if seen && want.kind != got.kind {
		for _, v := range want.verdicts {
			if v.State != nil && !v.StateMatch && v.Translation != nil {
				return knownTrackedState
			}
		}
	}
	return ""
}

// untracked reports whether connection tracking leaves a packet of no
// known connection untracked (invalid).
func untracked(w *wirePkt) bool {
	switch w.Proto {
	case eval.ProtoTCP:
		f := w.Flags
		return f&eval.TCPRst != 0 || f&(eval.TCPSyn|eval.TCPAck) == eval.TCPSyn|eval.TCPAck ||
			f&eval.TCPFin != 0 && f&eval.TCPSyn == 0
	case eval.ProtoICMP:
		return w.Type == 0
	}
	return false
}

// flowKey is a connection's addresses and ports (or echo id), either
// way.
type flowKey struct {
	proto int
	a, b  netip.AddrPort
}

func flowOf(w *wirePkt) flowKey {
	var sp, dp uint16
	switch w.Proto {
	case eval.ProtoTCP, eval.ProtoUDP:
		sp, dp = w.SrcPort, w.DstPort
	case eval.ProtoICMP:
		sp, dp = w.ICMPID, w.ICMPID
	}
	a, b := netip.AddrPortFrom(w.Src, sp), netip.AddrPortFrom(w.Dst, dp)
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return flowKey{w.Proto, a, b}
}

// seenBefore reports whether an earlier packet of the sequence that the
// kernel passed (so that connection tracking knows its connection),
// as sent or as it left the router, belongs to the connection of s.
func (c *caseRun) seenBefore(s *sent) bool {
	k := flowOf(s.wp)
	for _, p := range c.log {
		if p == s {
			break
		}
		if p.got.kind == "pass" && (flowOf(p.wp) == k || flowOf(p.wireOut) == k) {
			return true
		}
	}
	return false
}

// firstUntracked reports whether the first packet of the connection of
// s (for an ICMP error, of the packet it quotes) was one connection
// tracking does not track, and pf kept a state for it.
func (c *caseRun) firstUntracked(s *sent) bool {
	w := s.wp
	if isICMPError(w) {
		w = w.Inner
	}
	k := flowOf(w)
	for _, p := range c.log {
		if p == s {
			break
		}
		if flowOf(p.wp) == k || p.wireOut != nil && flowOf(p.wireOut) == k {
			if !untracked(p.wp) {
				return false
			}
			for _, v := range p.want.verdicts {
				if v.State != nil && !v.StateMatch {
					return true
				}
			}
			return false
		}
	}
	return false
}
