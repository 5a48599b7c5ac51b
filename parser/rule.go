package parser

import (
	"fmt"

	"carpfw/rules"
)

// ruleParts are the lists a rule expands over.
type ruleParts struct {
	ifs      []ifNode
	protos   []int
	srcHosts []hostNode
	srcPorts []portNode
	os       []string
	dstHosts []hostNode
	dstPorts []portNode
}

// commonParts resolves interface, protocols and addresses in the order
// they appear in the rule.
func (p *parser) commonParts(ifc *Interface, pr *Proto, ft *FromTo, file string) (*ruleParts, bool) {
	rp := &ruleParts{}
	var ok bool
	if rp.ifs, ok = p.ifList(ifc, file); !ok {
		return nil, false
	}
	if rp.protos, ok = p.protoList(pr, file); !ok {
		return nil, false
	}
	if ft == nil || ft.All {
		return rp, true
	}
	var from, to *IPPort
	stage := 0
	for _, part := range ft.Parts {
		next := 3
		switch {
		case part.From != nil:
			next, from = 1, part.From
		case part.OS != nil:
			next, rp.os = 2, part.OS
		default:
			to = part.To
		}
		if next <= stage {
			p.errorAt(file, part.Pos.Line, "syntax error")
			return nil, false
		}
		stage = next
	}
	if from != nil {
		if from.Host != nil {
			if rp.srcHosts, ok = p.ipspec(from.Host, file); !ok {
				return nil, false
			}
		}
		if from.HostPort != nil {
			from.Port = from.HostPort
		}
		if rp.srcPorts, ok = p.portList(from.Port, file); !ok {
			return nil, false
		}
	}
	if to != nil {
		if to.Host != nil {
			if rp.dstHosts, ok = p.ipspec(to.Host, file); !ok {
				return nil, false
			}
			for _, h := range rp.dstHosts {
				if h.addr.Type == rules.AddrURPFFailed {
					p.errorAt(file, to.Host.Pos.Line, "\"urpf-failed\" is not permitted in a destination address")
					return nil, false
				}
			}
		}
		if to.HostPort != nil {
			to.Port = to.HostPort
		}
		if rp.dstPorts, ok = p.portList(to.Port, file); !ok {
			return nil, false
		}
	}
	return rp, true
}

// pfRule is the pfrule action of parse.y: build the rule from the action
// and options, apply the defaults (keep state and flags S/SA on pass
// rules), check it and expand it.
func (p *parser) pfRule(st *PfRule, s stmt) {
	file, line := s.file, s.endLine
	r := &rules.Rule{OnRdomain: -1, RTableID: -1}
	switch {
	case st.Action.Kind == "pass":
		r.Action = rules.ActionPass
	case st.Action.Kind == "match":
		r.Action = rules.ActionMatch
	default:
		r.Action = rules.ActionBlock
		if !p.blockSpec(r, st.Action.Block, file, st.Pos.Line) {
			return
		}
	}
	r.Direction = dirOf(st.Dir)
	if !p.logQuick(r, st.LogQuick, file, st.Pos.Line) {
		return
	}
	rp, ok := p.commonParts(st.Interface, st.Proto, st.FromTo, file)
	if !ok {
		return
	}
	r.AF = afWord(st.AF)
	fo, ok := p.filterOpts(st.Opts, file)
	if !ok {
		return
	}
	if !p.filterOptsToRule(r, fo, false, file, line) {
		return
	}
	if fo.flags[0] != 0 || fo.flags[1] != 0 || len(rp.os) > 0 {
		hasTCP := false
		for _, pr := range rp.protos {
			if pr == 6 {
				hasTCP = true
			}
		}
		if !hasTCP && rp.protos != nil {
			if fo.flags[0] != 0 || fo.flags[1] != 0 {
				p.errorAt(file, line, "flags only apply to tcp")
			}
			if len(rp.os) > 0 {
				p.errorAt(file, line, "OS fingerprinting only apply to tcp")
			}
			return
		}
	}
	r.KeepState = fo.keepAction
	opts := fo.keepOpts
	if r.KeepState == 0 && r.Action == rules.ActionPass && fo.marker&fomKeep == 0 {
		r.KeepState = rules.StateNormal
		opts = p.stateDefs
	}
	var srctrack string
	srctrackSet, statelock, adaptive := false, false, false
	for _, o := range opts {
		fail := func(msg string) { p.errorAt(file, line, msg) }
		switch {
		case o.Max != nil:
			if r.MaxStates != 0 {
				fail("state option 'max' multiple definitions")
				return
			}
			r.MaxStates = uint32(*o.Max)
		case o.NoSync:
			if r.RuleFlag&rules.FlagNoSync != 0 {
				fail("state option 'sync' multiple definitions")
				return
			}
			r.RuleFlag |= rules.FlagNoSync
		case o.SourceTrack:
			if srctrackSet {
				fail("state option 'source-track' multiple definitions")
				return
			}
			srctrackSet = true
			srctrack = o.TrackHow
			if srctrack == "" {
				srctrack = "default"
			}
			r.RuleFlag |= rules.FlagSrcTrack
		case o.MaxSrcStates != nil:
			if r.MaxSrcStates != 0 {
				fail("state option 'max-src-states' multiple definitions")
				return
			}
			if *o.MaxSrcStates == 0 {
				fail("'max-src-states' must be > 0")
				return
			}
			r.MaxSrcStates = uint32(*o.MaxSrcStates)
			r.RuleFlag |= rules.FlagSrcTrack
		case o.Overload != nil:
			if r.OverloadTable != "" {
				fail("multiple 'overload' table definitions")
				return
			}
			r.OverloadTable = *o.Overload
			if o.Flush {
				r.Flush = 1
				if o.FlushGlobal {
					r.Flush |= 2
				}
			}
		case o.MaxSrcConn != nil:
			if r.MaxSrcConn != 0 {
				fail("state option 'max-src-conn' multiple definitions")
				return
			}
			if *o.MaxSrcConn == 0 {
				fail("'max-src-conn' must be > 0")
				return
			}
			r.MaxSrcConn = uint32(*o.MaxSrcConn)
			r.RuleFlag |= rules.FlagSrcTrack | rules.FlagRuleSrcTrack
		case o.ConnRate != nil:
			if r.MaxSrcConnRate.Limit != 0 {
				fail("state option 'max-src-conn-rate' multiple definitions")
				return
			}
			if o.ConnRate[0] == 0 || o.ConnRate[1] == 0 {
				fail("'max-src-conn-rate' values must be > 0")
				return
			}
			if o.ConnRate[0] > 0xffffffff/1000 {
				fail(fmt.Sprintf("'max-src-conn-rate' maximum rate must be < %d", 0xffffffff/1000))
				return
			}
			r.MaxSrcConnRate = rules.Rate{Limit: uint32(o.ConnRate[0]), Seconds: uint32(o.ConnRate[1])}
			r.RuleFlag |= rules.FlagSrcTrack | rules.FlagRuleSrcTrack
		case o.MaxSrcNodes != nil:
			if r.MaxSrcNodes != 0 {
				fail("state option 'max-src-nodes' multiple definitions")
				return
			}
			if *o.MaxSrcNodes == 0 {
				fail("'max-src-nodes' must be > 0")
				return
			}
			r.MaxSrcNodes = uint32(*o.MaxSrcNodes)
			r.RuleFlag |= rules.FlagSrcTrack | rules.FlagRuleSrcTrack
		case o.Lock != "":
			if statelock {
				fail("state locking option: multiple definitions")
				return
			}
			statelock = true
			if o.Lock == "if-bound" {
				r.RuleFlag |= rules.FlagIfBound
			}
		case o.Sloppy:
			if r.RuleFlag&rules.FlagStateSloppy != 0 {
				fail("state sloppy option: multiple definitions")
				return
			}
			r.RuleFlag |= rules.FlagStateSloppy
		case o.Pflow:
			if r.RuleFlag&rules.FlagPflow != 0 {
				fail("state pflow option: multiple definitions")
				return
			}
			r.RuleFlag |= rules.FlagPflow
		case o.TimeoutName != nil:
			i := rules.TimeoutIndex(*o.TimeoutName)
			if i == rules.TimeoutAdaptiveStart || i == rules.TimeoutAdaptiveEnd {
				adaptive = true
			}
			if r.Timeout[i] != 0 {
				fail(fmt.Sprintf("state timeout %s multiple definitions", *o.TimeoutName))
				return
			}
			r.Timeout[i] = uint32(o.TimeoutValue)
		}
	}
	if r.Action == rules.ActionPass && r.Flags == 0 && r.FlagSet == 0 && !fo.fragment &&
		fo.marker&fomFlags == 0 && r.KeepState != 0 {
		r.Flags, _ = parseFlags("S")
		r.FlagSet, _ = parseFlags("SA")
	}
	if !adaptive && r.MaxStates != 0 {
		r.Timeout[rules.TimeoutAdaptiveStart] = (r.MaxStates / 10) * 6
		r.Timeout[rules.TimeoutAdaptiveEnd] = (r.MaxStates / 10) * 12
	}
	if r.RuleFlag&rules.FlagSrcTrack != 0 {
		if srctrack == "global" && r.MaxSrcNodes != 0 {
			p.errorAt(file, line, "'max-src-nodes' is incompatible with 'source-track global'")
			return
		}
		if srctrack == "global" && r.MaxSrcConn != 0 {
			p.errorAt(file, line, "'max-src-conn' is incompatible with 'source-track global'")
			return
		}
		if srctrack == "global" && r.MaxSrcConnRate.Seconds != 0 {
			p.errorAt(file, line, "'max-src-conn-rate' is incompatible with 'source-track global'")
			return
		}
		if r.Timeout[rules.TimeoutSrcNode] < r.MaxSrcConnRate.Seconds {
			r.Timeout[rules.TimeoutSrcNode] = r.MaxSrcConnRate.Seconds
		}
		if srctrack == "rule" {
			r.RuleFlag |= rules.FlagRuleSrcTrack
		}
	}
	if r.KeepState != 0 && !statelock {
		r.RuleFlag |= p.defaultLock
	}
	decideAF(rp.srcHosts, &r.AF)
	decideAF(rp.dstHosts, &r.AF)
	if fo.rt != 0 {
		if fo.rt != rules.RouteDup && r.Direction == rules.DirInOut {
			p.errorAt(file, line, "direction must be explicit with rules that specify routing")
			return
		}
		r.RT = fo.rt
	}
	if !p.expandDivert(r, fo, file, line) {
		return
	}
	p.expandRule(r, false, rp, &fo.nat, &fo.rdr, &fo.rroute, fo, file, line)
}

func dirOf(s string) int {
	switch s {
	case "in":
		return rules.DirIn
	case "out":
		return rules.DirOut
	}
	return rules.DirInOut
}

// decideAF is decide_address_family: a list whose addresses share one
// family gives the rule that family.
func decideAF(hosts []hostNode, af *int) {
	if *af != 0 || hosts == nil {
		return
	}
	*af = hosts[0].af
	for _, h := range hosts[1:] {
		if h.af != *af {
			*af = 0
			return
		}
	}
}

const (
	icmpUnreach        = 3
	icmpUnreachPort    = 3
	icmp6DstUnreach    = 1
	icmp6UnreachNoPort = 4
)

// filterOptsToRule is filteropts_to_rule.
func (p *parser) filterOptsToRule(r *rules.Rule, fo *filterOpts, anchor bool, file string, line int) bool {
	if fo.marker&fomOnce != 0 {
		if (r.Action != rules.ActionPass && r.Action != rules.ActionBlock) || anchor {
			p.errorAt(file, line, "'once' only applies to pass/block rules")
			return false
		}
		r.RuleFlag |= rules.FlagOnce
	}
	r.KeepState = fo.keepAction
	r.PktRate = fo.pktRate
	r.Prob = fo.prob
	r.RTableID = fo.rtableID
	r.TOS = uint8(fo.tos)
	if fo.nodf {
		r.ScrubFlags |= rules.ScrubNoDF
	}
	if fo.randomID {
		r.ScrubFlags |= rules.ScrubRandomID
	}
	r.MinTTL = fo.minTTL
	r.MaxMSS = fo.maxMSS
	if fo.tag != nil {
		if len(*fo.tag) >= 64 {
			p.errorAt(file, line, "tag too long, max 63 chars")
			return false
		}
		r.Tag = *fo.tag
	}
	if fo.matchTag != nil {
		if len(*fo.matchTag) >= 64 {
			p.errorAt(file, line, "tag too long, max 63 chars")
			return false
		}
		r.MatchTag = *fo.matchTag
	}
	r.MatchTagNot = fo.matchTagNot
	if fo.label != nil {
		if len(*fo.label) >= 64 {
			p.errorAt(file, line, "rule label too long (max 63 chars)")
			return false
		}
		r.Label = *fo.label
	}
	if fo.marker&fomAfTo != 0 {
		r.RuleFlag |= rules.FlagAfTo
		if r.Direction != rules.DirIn {
			p.errorAt(file, line, "af-to can only be used with direction in")
			return false
		}
		if fo.rt != 0 {
			p.errorAt(file, line, "af-to cannot be used together with route-to, reply-to, dup-to")
			return false
		}
	}
	if fo.marker&fomScrubTCP != 0 {
		r.ScrubFlags |= rules.ScrubTCP
	}
	if fo.marker&fomSetDelay != 0 {
		r.Delay = uint16(fo.delay)
		r.RuleFlag |= rules.FlagSetDelay
	}
	if fo.marker&fomSetTOS != 0 {
		r.ScrubFlags |= rules.ScrubSetTOS
		r.SetTOS = uint8(fo.setTOS)
	}
	if fo.marker&fomPrio != 0 {
		r.Prio = uint8(fo.prio)
		if fo.prio == 0 {
			r.Prio = rules.PrioZero
		}
	}
	if fo.marker&fomSetPrio != 0 {
		r.SetPrio = [2]uint8{uint8(fo.setPrio[0]), uint8(fo.setPrio[1])}
		r.ScrubFlags |= rules.ScrubSetPrio
	}
	r.Flags, r.FlagSet = fo.flags[0], fo.flags[1]
	if fo.flags[0]&fo.flags[1] != fo.flags[0] {
		p.errorAt(file, line, "flags always false")
		return false
	}
	r.QName, r.PQName = fo.qname, fo.pqname
	if fo.fragment {
		r.RuleFlag |= rules.FlagFragment
	}
	r.AllowOpts = fo.allowOpts
	return true
}

// expandDivert is expand_divertspec.
func (p *parser) expandDivert(r *rules.Rule, fo *filterOpts, file string, line int) bool {
	switch fo.divertType {
	case rules.DivertNone:
		return true
	case rules.DivertTo:
		if r.Direction == rules.DirOut {
			p.errorAt(file, line, "divert-to used with outgoing rule")
			return false
		}
		var h *hostNode
		if r.AF != 0 {
			for i := range fo.divertAddr {
				if fo.divertAddr[i].af == r.AF {
					h = &fo.divertAddr[i]
					break
				}
			}
			if h == nil {
				p.errorAt(file, line, "divert-to address family mismatch")
				return false
			}
		} else {
			h = &fo.divertAddr[0]
			r.AF = h.af
		}
		r.Divert = rules.Divert{Type: rules.DivertTo, Addr: h.addr.Addr, Port: fo.divertPort}
	case rules.DivertReply:
		if r.Direction == rules.DirIn {
			p.errorAt(file, line, "divert-reply used with incoming rule")
			return false
		}
		r.Divert.Type = rules.DivertReply
	case rules.DivertPacket:
		r.Divert = rules.Divert{Type: rules.DivertPacket, Port: fo.divertPort}
	}
	return true
}
