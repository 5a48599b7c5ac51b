package eval

import (
	"fmt"
	"math/rand"
	"net/netip"
	"sort"
	"strings"

	"carpfw/rules"
)

// maxAnchorDepth is PF_ANCHOR_STACK_MAX.
const maxAnchorDepth = 64

// Engine evaluates packets against one ruleset and keeps the states the
// packets create.
type Engine struct {
	root    *rules.Ruleset
	host    Host
	anchors map[string]*rules.Ruleset
	tables  map[string]*table
	skip    []string
	expired map[*rules.Rule]bool
	st      stateTable
	rnd     *rand.Rand
}

// Option configures an Engine.
type Option func(*Engine)

// WithTables loads table definitions (their address lists; files are not
// read).
func WithTables(defs ...*rules.Table) Option {
	return func(e *Engine) {
		for _, d := range defs {
			e.tables[d.Name] = tableFromDef(d)
		}
	}
}

// WithSkip sets the "set skip on" interfaces (names or groups).
func WithSkip(ifs ...string) Option {
	return func(e *Engine) { e.skip = append(e.skip, ifs...) }
}

// WithAnchor loads a named anchor's rules, as pfctl -a path -f or load
// anchor would.
func WithAnchor(path string, rs *rules.Ruleset) Option {
	return func(e *Engine) { e.anchors[strings.Trim(path, "/")] = rs }
}

// New returns an engine for ruleset rs on host (nil: no interfaces and
// no groups), with no states.
func New(rs *rules.Ruleset, host Host, opts ...Option) *Engine {
	if rs == nil {
		rs = &rules.Ruleset{}
	}
	e := &Engine{root: rs, host: host, anchors: map[string]*rules.Ruleset{},
		tables: map[string]*table{}}
	for _, o := range opts {
		o(e)
	}
	e.Reset()
	return e
}

// Reset forgets all states and revives expired once rules.
func (e *Engine) Reset() {
	e.st.reset()
	e.expired = map[*rules.Rule]bool{}
	e.rnd = rand.New(rand.NewSource(1))
}

// SetTable replaces a table's contents with addresses or prefixes, each
// optionally negated with a leading "!" (pfctl -t name -T replace).
func (e *Engine) SetTable(name string, entries ...string) error {
	delete(e.tables, name)
	return e.AddTable(name, entries...)
}

// AddTable adds addresses or prefixes to a table, as SetTable reads them
// (pfctl -t name -T add). Entries that do not parse are skipped; the
// first of them is reported.
func (e *Engine) AddTable(name string, entries ...string) error {
	t := e.tables[name]
	if t == nil {
		t = &table{}
	}
	var bad error
	for _, s := range entries {
		neg := strings.HasPrefix(s, "!")
		s = strings.TrimLeft(s, "!")
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				if bad == nil {
					bad = fmt.Errorf("table <%s>: %v", name, err)
				}
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t.entries = append(t.entries, tableEntry{prefix: p.Masked(), neg: neg})
	}
	e.tables[name] = t
	return bad
}

// WithTableEntries adds entries to a table when the engine is built; see
// AddTable.
func WithTableEntries(name string, entries ...string) Option {
	return func(e *Engine) { e.AddTable(name, entries...) }
}

// LoadAnchor replaces a named anchor's rules.
func (e *Engine) LoadAnchor(path string, rs *rules.Ruleset) {
	e.anchors[strings.Trim(path, "/")] = rs
}

// States lists the states in creation order.
func (e *Engine) States() []StateKey {
	out := make([]StateKey, 0, len(e.st.all))
	for _, s := range e.st.all {
		out = append(out, s.info)
	}
	return out
}

// Eval is pf_test for one packet: set skip, then the state table, then
// the ruleset.
func (e *Engine) Eval(p Packet) Verdict {
	af := p.af()
	p.AF = af
	if p.Dir != rules.DirOut {
		p.Dir = rules.DirIn
	}
	if e.skipped(p.If) {
		return Verdict{Action: rules.ActionPass, Skip: true, RuleNr: -1, Tag: p.Tag}
	}
	if s, viaErr := e.findState(&p, af); s != nil {
		return e.stateVerdict(s, &p, viaErr)
	}
	return e.testRule(&p, af)
}

func (e *Engine) skipped(ifname string) bool {
	for _, s := range e.skip {
		if s != "" && s != "any" && ifMatch(e.host, s, ifname) {
			return true
		}
	}
	return false
}

// evalCtx is struct pf_test_ctx: the packet's translated view, the tag,
// the last matching pass or block rule and the anchor it sits in.
type evalCtx struct {
	e                  *Engine
	p                  *Packet
	af                 int
	nsrc, ndst         netip.Addr
	nsport, ndport     uint16
	icmpDir            int
	stateICMP          bool
	tag                string
	rm, am, a          *rules.Rule
	rmPath             string
	log                uint8 // log flags of the match rules met (act.log)
	tr                 translation
	depth              int
	matchTranslateRule *rules.Rule
}

type status int

const (
	testOK status = iota
	testQuick
	testFail
)

// testRule is pf_test_rule.
func (e *Engine) testRule(p *Packet, af int) Verdict {
	c := &evalCtx{e: e, p: p, af: af, nsrc: p.Src, ndst: p.Dst, tag: p.Tag, icmpDir: rules.DirIn}
	c.nsport, c.ndport = virtualPorts(p, af)
	if p.Proto == ProtoICMP || p.Proto == ProtoICMPv6 {
		c.icmpDir, _, _, c.stateICMP = icmpMapping(af, p.ICMPType, p.ICMPID)
	}
	drop := Verdict{Action: rules.ActionBlock, RuleNr: -1, Tag: p.Tag}
	if c.matchRuleset(e.root, "") == testFail {
		if c.matchTranslateRule != nil {
			drop.RuleNr, drop.Rule = c.matchTranslateRule.Nr, c.matchTranslateRule
		}
		return drop
	}
	r := c.rm
	v := Verdict{Action: rules.ActionPass, RuleNr: -1, Log: c.log != 0}
	if r == nil {
		// pf's default rule: pass, no state, so no translation either.
		v.Tag = c.tag
		return v
	}
	v.RuleNr, v.Anchor, v.Rule, v.Quick = r.Nr, c.rmPath, r, r.Quick
	v.Log = v.Log || r.Log != 0
	c.transaddr(r)
	if c.tr.failed {
		drop.RuleNr, drop.Anchor, drop.Rule, drop.Log = r.Nr, c.rmPath, r, v.Log
		return drop
	}
	if r.Action != rules.ActionPass {
		v.Action = rules.ActionBlock
		v.Return, v.ReturnICMP = c.blockReturn(r)
		v.Tag = p.Tag
		return v
	}
	v.Tag = c.tag
	if c.stateICMP || r.KeepState == rules.StateNone {
		return v
	}
	if r.MaxStates != 0 && uint32(e.st.count(r)) >= r.MaxStates {
		v.Action = rules.ActionBlock
		return v
	}
	v.State = c.createState(r)
	v.Translation = c.report()
	return v
}

// blockReturn is the return handling of pf_test_rule: a RST for TCP
// (unless the packet is itself a RST) under return or return-rst,
// otherwise the rule's ICMP or ICMPv6 error, never in answer to an ICMP
// error message.
func (c *evalCtx) blockReturn(r *rules.Rule) (ReturnKind, uint16) {
	p := c.p
	if r.RuleFlag&(rules.FlagReturnRST|rules.FlagReturnICMP|rules.FlagReturn) == 0 {
		return ReturnNone, 0
	}
	if p.Proto == ProtoTCP && r.RuleFlag&(rules.FlagReturnRST|rules.FlagReturn) != 0 && p.TCPFlags&TCPRst == 0 {
		return ReturnRST, 0
	}
	if c.af == rules.AFInet && r.ReturnICMP != 0 && (p.Proto != ProtoICMP || icmpInfoType(p.ICMPType)) {
		return ReturnICMP, r.ReturnICMP
	}
	if c.af == rules.AFInet6 && r.ReturnICMP6 != 0 &&
		(p.Proto != ProtoICMPv6 || (p.ICMPType >= 128 && p.ICMPType != 137)) {
		return ReturnICMP, r.ReturnICMP6
	}
	return ReturnNone, 0
}

// createState is pf_create_state with pf_state_key_setup: the key of the
// packet as seen and as translated; inbound the wire key is the former,
// outbound the latter.
func (c *evalCtx) createState(r *rules.Rule) *StateKey {
	p := c.p
	sp, dp := virtualPorts(p, c.af)
	k1 := makeKey(p, c.af, p.Src, p.Dst, sp, dp)
	k2 := makeKey(p, c.af, c.nsrc, c.ndst, c.nsport, c.ndport)
	s := &state{wire: k1, stack: k2, dir: p.Dir, rule: r, anchor: c.rmPath, log: (c.log|r.Log)&rules.LogAll != 0}
	if p.Dir == rules.DirOut {
		s.wire, s.stack = k2, k1
	}
	if r.RuleFlag&rules.FlagIfBound != 0 {
		s.ifname = p.If
	}
	if c.tag != "" {
		s.tag = c.tag
	}
	s.info = StateKey{AF: c.af, Proto: p.Proto, Dir: p.Dir, If: s.ifname,
		Src: netip.AddrPortFrom(p.Src, sp), Dst: netip.AddrPortFrom(p.Dst, dp),
		NatSrc: netip.AddrPortFrom(c.nsrc, c.nsport), NatDst: netip.AddrPortFrom(c.ndst, c.ndport),
		RuleNr: r.Nr, Anchor: c.rmPath}
	c.e.st.insert(s)
	info := s.info
	return &info
}

// matchRuleset is pf_match_rule over one ruleset.
func (c *evalCtx) matchRuleset(rs *rules.Ruleset, path string) status {
	if rs == nil {
		return testOK
	}
	for _, r := range rs.Rules {
		if c.e.expired[r] || !c.ruleMatches(r) {
			continue
		}
		if r.Tag != "" {
			c.tag = r.Tag
		}
		if r.Anchor != nil {
			saveA := c.a
			c.a = r
			if st := c.stepIntoAnchor(r, path); st != testOK {
				return st
			}
			c.a = saveA
			continue
		}
		if r.RuleFlag&rules.FlagOnce != 0 {
			c.e.expired[r] = true
		}
		if r.Action == rules.ActionMatch {
			c.log |= r.Log
			c.transaddr(r)
			if c.tr.failed {
				c.matchTranslateRule = r
				return testFail
			}
		} else {
			c.rm, c.am, c.rmPath = r, c.a, path
		}
		if r.Quick {
			return testQuick
		}
	}
	return testOK
}

// stepIntoAnchor is pf_step_into_anchor: evaluate the anchor's rules in
// place ("name/*": each child anchor in name order); an anchor rule with
// quick ends the evaluation when the last matching rule is one of its
// own.
func (c *evalCtx) stepIntoAnchor(r *rules.Rule, path string) status {
	if c.depth >= maxAnchorDepth {
		return testFail
	}
	c.depth++
	defer func() { c.depth-- }()
	sub, ok := anchorPath(path, r.Anchor.Call)
	if !ok {
		return testFail
	}
	if base, wild := strings.CutSuffix(sub, "/*"); wild && r.Anchor.Ruleset == nil {
		for _, child := range c.e.children(base) {
			if st := c.matchRuleset(c.e.anchors[child], child); st != testOK {
				return st
			}
		}
		return testOK
	}
	rs := r.Anchor.Ruleset
	if rs == nil {
		rs = c.e.anchors[sub]
	}
	st := c.matchRuleset(rs, sub)
	if st != testFail && r.Quick && c.am == r {
		st = testQuick
	}
	return st
}

// anchorPath resolves an anchor call as pf_anchor_setup does: a leading
// "/" makes it absolute, otherwise it is relative to the calling anchor,
// each leading "../" going one level up (not beyond the main ruleset).
func anchorPath(cur, call string) (string, bool) {
	if abs, ok := strings.CutPrefix(call, "/"); ok {
		return abs, true
	}
	for {
		rest, ok := strings.CutPrefix(call, "../")
		if !ok {
			break
		}
		if cur == "" {
			return "", false
		}
		if i := strings.LastIndexByte(cur, '/'); i >= 0 {
			cur = cur[:i]
		} else {
			cur = ""
		}
		call = rest
	}
	if cur == "" {
		return call, true
	}
	return cur + "/" + call, true
}

// children lists the anchors directly below base, sorted by name as pf's
// anchor tree is.
func (e *Engine) children(base string) []string {
	var out []string
	prefix := base + "/"
	if base == "" {
		prefix = ""
	}
	for p := range e.anchors {
		if strings.HasPrefix(p, prefix) && !strings.Contains(p[len(prefix):], "/") && p != base {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
