package eval

import (
	"fmt"
	"math/rand"
	"net/netip"
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
	// linux: model pfconf on Linux (see Linux); tracked holds the
	// connections the kernel knows (see Confirm).
	linux   bool
	tracked map[flow]bool
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

// Reset forgets all states (and connections) and revives expired once
// rules.
func (e *Engine) Reset() {
	e.st.reset()
	e.tracked = map[flow]bool{}
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
