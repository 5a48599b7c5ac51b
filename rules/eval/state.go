package eval

import (
	"net/netip"

	"carpfw/rules"
)

// key is struct pf_state_key: family, protocol, two addresses and two
// ports. Index 0 holds the packet's source when it travels in and its
// destination when it travels out (pd->sidx and pd->didx), so the
// packets of one flow in one direction and their replies in the other
// build the same key.
type key struct {
	af, proto int
	addr      [2]netip.Addr
	port      [2]uint16
}

func sidx(dir int) (s, d int) {
	if dir == rules.DirOut {
		return 1, 0
	}
	return 0, 1
}

func makeKey(p *Packet, af int, src, dst netip.Addr, sport, dport uint16) key {
	k := key{af: af, proto: p.Proto}
	s, d := sidx(p.Dir)
	k.addr[s], k.addr[d] = src, dst
	k.port[s], k.port[d] = sport, dport
	return k
}

// virtualPorts are the ports of a packet's state key: TCP and UDP ports,
// the ICMP query id and type arranged by pf_icmp_mapping's direction,
// zero for other protocols.
func virtualPorts(p *Packet, af int) (sport, dport uint16) {
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		return p.SrcPort, p.DstPort
	case ProtoICMP, ProtoICMPv6:
		dir, vid, vtype, _ := icmpMapping(af, p.ICMPType, p.ICMPID)
		if dir == rules.DirIn {
			return vid, vtype
		}
		return vtype, vid
	}
	return 0, 0
}

// state is one pf state: its wire key (the packet as on the wire of the
// interface it was created on) and stack key (as the stack sees it);
// they differ when the state translates.
type state struct {
	wire, stack key
	dir         int
	ifname      string // "" for floating
	rule        *rules.Rule
	anchor      string
	tag         string
	log         bool
	info        StateKey
}

// stateTable holds states by wire key and by stack key. An inbound
// packet is looked up among wire keys and an outbound one among stack
// keys (pf_find_state).
type stateTable struct {
	wire, stack map[key][]*state
	all         []*state
}

func (t *stateTable) reset() {
	t.wire = map[key][]*state{}
	t.stack = map[key][]*state{}
	t.all = nil
}

func (t *stateTable) insert(s *state) {
	t.wire[s.wire] = append(t.wire[s.wire], s)
	t.stack[s.stack] = append(t.stack[s.stack], s)
	t.all = append(t.all, s)
}

// lookup finds the state of a packet on interface ifname travelling in
// dir; states bound to the interface come before floating ones.
func (t *stateTable) lookup(k key, dir int, ifname string) *state {
	m := t.stack
	if dir == rules.DirIn {
		m = t.wire
	}
	var floating *state
	for _, s := range m[k] {
		if s.ifname == ifname {
			return s
		}
		if s.ifname == "" && floating == nil {
			floating = s
		}
	}
	return floating
}

// inUse reports whether a key is taken on either side, for nat port
// allocation (pf_get_sport asks whether the translated key exists).
func (t *stateTable) inUse(k key) bool {
	return len(t.wire[k]) > 0 || len(t.stack[k]) > 0
}

func (t *stateTable) count(r *rules.Rule) int {
	n := 0
	for _, s := range t.all {
		if s.rule == r {
			n++
		}
	}
	return n
}

// findState is the state search of pf_test: the packet's own key, or for
// an ICMP error the key of the quoted packet, which travelled the other
// way, among the keys of the error's own direction (pf_test_state_icmp).
func (e *Engine) findState(p *Packet, af int) (s *state, viaError bool) {
	if p.Proto == ProtoICMP || p.Proto == ProtoICMPv6 {
		if _, _, _, isErr := icmpMapping(af, p.ICMPType, p.ICMPID); isErr {
			if p.Inner == nil {
				return nil, true
			}
			// The quoted packet travelled the other way: its key
			// has source and destination swapped (pd2.sidx and
			// didx), and is looked up as the error travels.
			q := *p.Inner
			q.If = p.If
			q.Dir = rules.DirIn + rules.DirOut - p.Dir
			qaf := q.af()
			sp, dp := virtualPorts(&q, qaf)
			return e.st.lookup(makeKey(&q, qaf, q.Src, q.Dst, sp, dp), p.Dir, p.If), true
		}
	}
	sp, dp := virtualPorts(p, af)
	return e.st.lookup(makeKey(p, af, p.Src, p.Dst, sp, dp), p.Dir, p.If), false
}

// stateVerdict passes a packet that matched a state, translated to the
// state's other key (pf_test_state: inbound packets become the stack
// key, outbound ones the wire key), with the state's tag and logging.
func (e *Engine) stateVerdict(s *state, p *Packet, viaError bool) Verdict {
	v := Verdict{Action: rules.ActionPass, StateMatch: true, RuleNr: s.rule.Nr,
		Anchor: s.anchor, Rule: s.rule, Log: s.log, Tag: p.Tag}
	if s.tag != "" {
		v.Tag = s.tag
	}
	info := s.info
	v.State = &info
	if viaError {
		v.Translation = errorTranslation(s, p)
		return v
	}
	nk := s.wire
	if p.Dir == rules.DirIn {
		nk = s.stack
	}
	si, di := sidx(p.Dir)
	n := &NAT{Src: nk.addr[si], Dst: nk.addr[di]}
	idChanged := false
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		n.SrcPort, n.DstPort = nk.port[si], nk.port[di]
	case ProtoICMP, ProtoICMPv6:
		if dir, _, vtype, _ := icmpMapping(p.AF, p.ICMPType, p.ICMPID); vtype == 8 || vtype == 128 {
			n.ICMPID = nk.port[di]
			if dir == rules.DirIn {
				n.ICMPID = nk.port[si]
			}
			idChanged = n.ICMPID != p.ICMPID
			if !idChanged {
				n.ICMPID = 0
			}
		}
	}
	if n.Src != p.Src || n.Dst != p.Dst || n.SrcPort != p.SrcPort || n.DstPort != p.DstPort || idChanged {
		n.Nat = n.Src != p.Src || n.SrcPort != p.SrcPort
		n.Rdr = n.Dst != p.Dst || n.DstPort != p.DstPort
		v.Translation = n
	}
	return v
}

// errorTranslation is the translation pf_test_state_icmp gives an ICMP
// error about a translated connection: the quoted packet becomes the
// state's other key (inbound the stack key, outbound the wire key), and
// the error's destination follows the quoted source and its source the
// quoted destination (pf_translate_icmp). nil when nothing changes.
func errorTranslation(s *state, p *Packet) *NAT {
	q := p.Inner
	if q == nil || q.Proto != ProtoTCP && q.Proto != ProtoUDP {
		return nil
	}
	nk := s.wire
	if p.Dir == rules.DirIn {
		nk = s.stack
	}
	di, si := sidx(p.Dir) // the quoted packet's indices, swapped
	in := &NAT{Src: q.Src, Dst: q.Dst, SrcPort: q.SrcPort, DstPort: q.DstPort}
	n := &NAT{Src: p.Src, Dst: p.Dst, Inner: in}
	if nk.addr[si] != q.Src || nk.port[si] != q.SrcPort {
		in.Src, in.SrcPort, n.Dst = nk.addr[si], nk.port[si], nk.addr[si]
		n.Nat = true
	}
	if nk.addr[di] != q.Dst || nk.port[di] != q.DstPort {
		in.Dst, in.DstPort, n.Src = nk.addr[di], nk.port[di], nk.addr[di]
		n.Rdr = true
	}
	if !n.Nat && !n.Rdr {
		return nil
	}
	return n
}
