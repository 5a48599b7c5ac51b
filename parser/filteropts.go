package parser

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"carpfw/rules"
)

// Filter option markers (FOM_* in parse.y).
const (
	fomFlags    = 0x0001
	fomICMP     = 0x0002
	fomTOS      = 0x0004
	fomKeep     = 0x0008
	fomMinTTL   = 0x0020
	fomMaxMSS   = 0x0040
	fomAfTo     = 0x0080
	fomSetTOS   = 0x0100
	fomScrubTCP = 0x0200
	fomSetPrio  = 0x0400
	fomOnce     = 0x1000
	fomPrio     = 0x2000
	fomSetDelay = 0x4000
)

// redirection is a translation or routing target (struct redirection).
type redirection struct {
	hosts []hostNode
	rport portRange
}

// poolOpts are the options after a translation target.
type poolOpts struct {
	typ        int
	sticky     bool
	staticPort bool
	key        *[4]uint32
}

// redirSpec is struct redirspec.
type redirSpec struct {
	rdr   *redirection
	opts  poolOpts
	binat bool
	af    int
}

// filterOpts collects a rule's options (struct filter_opts).
type filterOpts struct {
	marker      int
	uids, gids  []idNode
	rcv         *ifNode
	flags       [2]uint8
	icmp        []icmpNode
	tos         int
	prob        uint32
	keepAction  int
	keepOpts    []*StateOpt
	fragment    bool
	allowOpts   bool
	label       *string
	qname       string
	pqname      string
	tag         *string
	matchTag    *string
	matchTagNot bool
	rtableID    int
	prio        int
	setPrio     [2]int
	delay       int
	divertType  int
	divertAddr  []hostNode
	divertPort  uint16
	nat, rdr    redirSpec
	rroute      redirSpec
	rt          int
	nodf        bool
	minTTL      int
	setTOS      int
	randomID    bool
	maxMSS      int
	pktRate     rules.Rate
}

func (p *parser) filterOpts(opts []*FilterOpt, file string) (*filterOpts, bool) {
	fo := &filterOpts{rtableID: -1}
	for _, o := range opts {
		if !p.filterOpt(fo, o, file) {
			return nil, false
		}
	}
	return fo, true
}

func (p *parser) filterOpt(fo *filterOpts, o *FilterOpt, file string) bool {
	line := o.Pos.Line
	fail := func(msg string) bool { p.errorAt(file, line, msg); return false }
	switch {
	case o.User != nil:
		l, ok := p.idList(o.User, true, file, line)
		if !ok {
			return false
		}
		fo.uids = append(l, fo.uids...)
	case o.Group != nil:
		l, ok := p.idList(o.Group, false, file, line)
		if !ok {
			return false
		}
		fo.gids = append(l, fo.gids...)
	case o.Flags != nil:
		var b1, b2 uint8
		if !o.Flags.Any {
			if o.Flags.Set != nil {
				f, ok := parseFlags(*o.Flags.Set)
				if !ok {
					return fail("bad flags " + *o.Flags.Set)
				}
				b1 = f
			}
			f, ok := parseFlags(o.Flags.Mask)
			if !ok {
				return fail("bad flags " + o.Flags.Mask)
			}
			b2 = f
		}
		if fo.marker&fomFlags != 0 {
			return fail("flags cannot be redefined")
		}
		fo.marker |= fomFlags
		fo.flags[0] |= b1
		fo.flags[1] |= b2
	case o.ICMP != nil:
		l, ok := p.icmpList(o.ICMP, file)
		if !ok {
			return false
		}
		if fo.marker&fomICMP != 0 {
			return fail("icmp-type cannot be redefined")
		}
		fo.marker |= fomICMP
		fo.icmp = l
	case o.Prio != nil:
		if fo.marker&fomPrio != 0 {
			return fail("prio cannot be redefined")
		}
		if *o.Prio < 0 || *o.Prio > 7 {
			return fail("prio must be 0 - 7")
		}
		fo.marker |= fomPrio
		fo.prio = int(*o.Prio)
	case o.TOS != nil:
		v, ok := p.tos(o.TOS, file, line)
		if !ok {
			return false
		}
		if fo.marker&fomTOS != 0 {
			return fail("tos cannot be redefined")
		}
		fo.marker |= fomTOS
		fo.tos = v
	case o.Keep != nil:
		if o.Keep.Kind == "no" && o.Keep.Opts != nil {
			p.syntaxError(file, line, 0)
			return false
		}
		if !p.checkStateOpts(o.Keep.Opts, file) {
			return false
		}
		if fo.marker&fomKeep != 0 {
			return fail("modulate or keep cannot be redefined")
		}
		fo.marker |= fomKeep
		switch o.Keep.Kind {
		case "no":
			fo.keepAction = rules.StateNone
		case "keep":
			fo.keepAction = rules.StateNormal
		case "modulate":
			fo.keepAction = rules.StateModulate
		case "synproxy":
			fo.keepAction = rules.StateSynproxy
		}
		fo.keepOpts = o.Keep.Opts
	case o.Fragment:
		fo.fragment = true
	case o.AllowOpts:
		fo.allowOpts = true
	case o.Label != nil:
		if fo.label != nil {
			return fail("label cannot be redefined")
		}
		fo.label = o.Label
	case o.Queue != nil:
		if !p.qname(fo, o.Queue, file) {
			return false
		}
	case o.Tag != nil:
		t := strings.Join(o.Tag, " ")
		fo.tag = &t
	case o.Tagged != nil:
		t := strings.Join(o.Tagged, " ")
		fo.matchTag = &t
		fo.matchTagNot = o.Not
	case o.ReceivedOn != nil:
		n, ok := p.ifItem(o.ReceivedOn, file)
		if !ok {
			return false
		}
		if fo.rcv != nil {
			return fail("cannot respecify received-on")
		}
		n.not = o.Not
		fo.rcv = &n
	case o.Probability != nil:
		var prob float64
		if o.Probability.Str != nil {
			s := *o.Probability.Str
			num, rest := strtod(s)
			if strings.HasPrefix(rest, "%") {
				num *= 0.01
				rest = rest[1:]
			}
			if rest != "" {
				return fail("invalid probability: " + s)
			}
			prob = num
		} else {
			prob = float64(*o.Probability.Num)
		}
		v := math.Floor(prob*4294967295.0 + 0.5)
		if v < 0 || v > 4294967295.0 {
			return fail(fmt.Sprintf("invalid probability: %g%%", prob*100))
		}
		fo.prob = uint32(v)
		if fo.prob == 0 {
			fo.prob = 1
		}
	case o.RTable != nil:
		if *o.RTable < 0 || *o.RTable > 255 {
			return fail("invalid rtable id")
		}
		if *o.RTable != 0 {
			return fail(fmt.Sprintf("rtable %d does not exist", *o.RTable))
		}
		fo.rtableID = int(*o.RTable)
	case o.DivertTo != nil:
		r, ok := p.parsePort(*o.DivertToPort, 0, file, line)
		if !ok {
			return false
		}
		if fo.divertType != rules.DivertNone {
			return fail("more than one divert option")
		}
		fo.divertType = rules.DivertTo
		h := p.host(*o.DivertTo)
		if h == nil {
			return fail("could not parse divert address: " + *o.DivertTo)
		}
		fo.divertAddr = h
		fo.divertPort = r.a
		if r.a == 0 {
			return fail("invalid divert port: 0")
		}
	case o.DivertReply:
		if fo.divertType != rules.DivertNone {
			return fail("more than one divert option")
		}
		fo.divertType = rules.DivertReply
	case o.DivertPacket != nil:
		r, ok := p.parsePort(*o.DivertPacket, 0, file, line)
		if !ok {
			return false
		}
		if fo.divertType != rules.DivertNone {
			return fail("more than one divert option")
		}
		fo.divertType = rules.DivertPacket
		if p.reassemble {
			fo.marker |= fomScrubTCP
		}
		fo.divertPort = r.a
		if r.a == 0 {
			return fail("invalid divert port: 0")
		}
	case o.Scrub != nil:
		if !p.scrubOpts(fo, o.Scrub, file) {
			return false
		}
	case o.NatTo != nil:
		rd, po, ok := p.redirPool(o.NatTo, file)
		if !ok {
			return false
		}
		if fo.nat.rdr != nil {
			return fail("cannot respecify nat-to/binat-to")
		}
		fo.nat.rdr, fo.nat.opts = rd, po
	case o.AfTo != nil:
		from, po, ok := p.redirPool(o.AfTo.From, file)
		if !ok {
			return false
		}
		var to *redirection
		var po2 poolOpts
		if o.AfTo.To != nil {
			if to, po2, ok = p.redirPool(o.AfTo.To, file); !ok {
				return false
			}
		}
		if fo.nat.rdr != nil {
			return fail("cannot respecify af-to")
		}
		af := afWord(o.AfTo.AF)
		if af == 0 {
			if to != nil {
				return fail("no address family specified")
			}
			return fail("no target address family specified")
		}
		if to != nil {
			if (len(from.hosts) > 0 && from.hosts[0].af != 0 && from.hosts[0].af != af) ||
				(len(to.hosts) > 0 && to.hosts[0].af != 0 && to.hosts[0].af != af) {
				return fail("af-to addresses must be in the target address family")
			}
		}
		fo.nat.af = af
		fo.nat.rdr, fo.nat.opts = from, po
		if to != nil {
			fo.rdr.af = af
			fo.rdr.rdr = to
			fo.nat.opts = po2
		} else {
			fo.rdr.rdr = &redirection{}
			fo.rdr.opts = poolOpts{}
		}
		fo.marker |= fomAfTo
	case o.RdrTo != nil:
		rd, po, ok := p.redirPool(o.RdrTo, file)
		if !ok {
			return false
		}
		if fo.rdr.rdr != nil {
			return fail("cannot respecify rdr-to")
		}
		fo.rdr.rdr, fo.rdr.opts = rd, po
	case o.BinatTo != nil:
		rd, po, ok := p.redirPool(o.BinatTo, file)
		if !ok {
			return false
		}
		if fo.nat.rdr != nil {
			return fail("cannot respecify nat-to/binat-to")
		}
		fo.nat.rdr, fo.nat.opts = rd, po
		fo.nat.binat = true
		fo.nat.opts.staticPort = true
	case o.RouteKind != "":
		hosts, ok := p.redirSpec(o.Route.Spec, file)
		if !ok {
			return false
		}
		po, ok := p.poolOpts(o.Route.Opts, file)
		if !ok {
			return false
		}
		if fo.rt != rules.RouteNone {
			return fail("cannot respecify route-to/reply-to/dup-to")
		}
		fo.rroute.rdr = &redirection{hosts: hosts}
		fo.rroute.opts = po
		switch o.RouteKind {
		case "route-to":
			fo.rt = rules.RouteTo
		case "reply-to":
			fo.rt = rules.RouteReply
		default:
			fo.rt = rules.RouteDup
		}
	case o.Once:
		fo.marker |= fomOnce
	case o.PktRate != nil:
		if o.PktRate[0] < 0 || o.PktRate[0] > math.MaxUint32 || o.PktRate[1] < 0 || o.PktRate[1] > math.MaxUint32 {
			return fail("only positive values permitted")
		}
		if fo.pktRate.Limit != 0 {
			return fail("cannot respecify max-pkt-rate")
		}
		fo.pktRate = rules.Rate{Limit: uint32(o.PktRate[0]), Seconds: uint32(o.PktRate[1])}
	case o.Sets != nil:
		for _, s := range o.Sets {
			if !p.filterSet(fo, s, file) {
				return false
			}
		}
	}
	return true
}

func (p *parser) filterSet(fo *filterOpts, s *FilterSet, file string) bool {
	line := s.Pos.Line
	fail := func(msg string) bool { p.errorAt(file, line, msg); return false }
	switch {
	case s.Prio != nil:
		v := s.Prio.Vals
		for _, x := range v {
			if x < 0 || x > 7 {
				return fail("prio must be 0 - 7")
			}
		}
		if fo.marker&fomSetPrio != 0 {
			return fail("prio cannot be redefined")
		}
		fo.marker |= fomSetPrio
		fo.setPrio = [2]int{int(v[0]), int(v[len(v)-1])}
	case s.Queue != nil:
		return p.qname(fo, s.Queue, file)
	case s.TOS != nil:
		v, ok := p.tos(s.TOS, file, line)
		if !ok {
			return false
		}
		if fo.marker&fomSetTOS != 0 {
			return fail("tos cannot be respecified")
		}
		fo.marker |= fomSetTOS
		fo.setTOS = v
	case s.Delay != nil:
		if fo.delay != 0 {
			return fail("delay cannot be respecified")
		}
		if *s.Delay < 0 || *s.Delay > 0xffff {
			return fail(fmt.Sprintf("illegal delay value %d (0-65535)", *s.Delay))
		}
		fo.marker |= fomSetDelay
		fo.delay = int(*s.Delay)
	}
	return true
}

func (p *parser) qname(fo *filterOpts, q *QName, file string) bool {
	for _, n := range q.Names {
		if !p.queueNames[n] {
			p.errorAt(file, q.Pos.Line, fmt.Sprintf("queue %s is not defined", n))
			return false
		}
	}
	if fo.qname != "" {
		p.errorAt(file, q.Pos.Line, "queue cannot be redefined")
		return false
	}
	fo.qname = q.Names[0]
	if len(q.Names) > 1 {
		fo.pqname = q.Names[1]
	}
	return true
}

func (p *parser) scrubOpts(fo *filterOpts, opts []*ScrubOpt, file string) bool {
	var nodf, randomID, tcp bool
	marker, minTTL, maxMSS := 0, 0, 0
	for _, o := range opts {
		fail := func(msg string) bool { p.errorAt(file, o.Pos.Line, msg); return false }
		switch {
		case o.NoDF:
			if nodf {
				return fail("no-df cannot be respecified")
			}
			nodf = true
		case o.MinTTL != nil:
			if marker&fomMinTTL != 0 {
				return fail("min-ttl cannot be respecified")
			}
			if *o.MinTTL < 0 || *o.MinTTL > 255 {
				return fail(fmt.Sprintf("illegal min-ttl value %d", *o.MinTTL))
			}
			marker |= fomMinTTL
			minTTL = int(*o.MinTTL)
		case o.MaxMSS != nil:
			if marker&fomMaxMSS != 0 {
				return fail("max-mss cannot be respecified")
			}
			if *o.MaxMSS < 0 || *o.MaxMSS > 65535 {
				return fail(fmt.Sprintf("illegal max-mss value %d", *o.MaxMSS))
			}
			marker |= fomMaxMSS
			maxMSS = int(*o.MaxMSS)
		case o.Reassemble != nil:
			if !strings.EqualFold(*o.Reassemble, "tcp") {
				return fail(fmt.Sprintf("scrub reassemble supports only tcp, not '%s'", *o.Reassemble))
			}
			if tcp {
				return fail("reassemble tcp cannot be respecified")
			}
			tcp = true
		case o.RandomID:
			if randomID {
				return fail("random-id cannot be respecified")
			}
			randomID = true
		}
	}
	fo.nodf, fo.minTTL, fo.randomID, fo.maxMSS = nodf, minTTL, randomID, maxMSS
	if tcp {
		fo.marker |= fomScrubTCP
	}
	fo.marker |= marker
	return true
}

// parseFlags is parse_flags: letters of FSRPAUEW; none means all.
func parseFlags(s string) (uint8, bool) {
	var f uint8
	for _, c := range s {
		i := strings.IndexRune("FSRPAUEW", c)
		if i < 0 {
			return 0, false
		}
		f |= 1 << i
	}
	if f == 0 {
		return 0xff, true
	}
	return f, true
}

// strtod parses the longest leading decimal number of s.
func strtod(s string) (float64, string) {
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || (end == 0 && (s[end] == '-' || s[end] == '+'))) {
		end++
	}
	for end > 0 {
		if v, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return v, s[end:]
		}
		end--
	}
	return 0, s
}

func afWord(s string) int {
	switch s {
	case "inet":
		return rules.AFInet
	case "inet6":
		return rules.AFInet6
	}
	return 0
}
