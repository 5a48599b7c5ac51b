package nftload

import (
	"bytes"
	"regexp"

	"carpfw/internal/hostinv"
	"carpfw/parser"
	"carpfw/rules"
)

// locator finds the line a rule came from, for "file:line: message".
// The rule model carries no positions, so the locator parses growing
// prefixes of the file and finds, by bisection, the first line after
// which the rule exists (the statement's last line, the line pfctl
// reports). It runs only when a diagnostic is printed.
type locator struct {
	src   Source
	inv   hostinv.Inventory
	lines [][]byte
	index map[*rules.Rule]int // pre-order index in the compiled ruleset
	full  *rules.Ruleset      // the compiled ruleset
}

func newLocator(src Source, inv hostinv.Inventory, compiled *rules.Ruleset) *locator {
	return &locator{src: src, inv: inv, full: compiled}
}

// count parses the first n lines and counts the rules (pre-order).
func (l *locator) count(n int) int {
	data := bytes.Join(l.lines[:n], []byte("\n"))
	res := parser.Parse(l.src.Name, data, parser.Config{Inventory: l.inv, Defines: l.src.Defines})
	return countRules(res.Rules)
}

func countRules(rs *rules.Ruleset) int {
	if rs == nil {
		return 0
	}
	n := 0
	for _, r := range rs.Rules {
		n++
		if r.Anchor != nil {
			n += countRules(r.Anchor.Ruleset)
		}
	}
	return n
}

func indexRules(rs *rules.Ruleset, m map[*rules.Rule]int) {
	if rs == nil {
		return
	}
	for _, r := range rs.Rules {
		m[r] = len(m)
		if r.Anchor != nil {
			indexRules(r.Anchor.Ruleset, m)
		}
	}
}

// position implements rules.CompileOptions.Position.
func (l *locator) position(r *rules.Rule) (string, int) {
	if l.lines == nil {
		l.lines = bytes.Split(l.src.Data, []byte("\n"))
		l.index = map[*rules.Rule]int{}
		indexRules(l.full, l.index)
	}
	i, ok := l.index[r]
	if !ok {
		return l.src.Name, 0
	}
	lo, hi := 1, len(l.lines)
	for lo < hi { // bounded: the interval halves each round
		mid := (lo + hi) / 2
		if l.count(mid) > i {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return l.src.Name, lo
}

var queueLine = regexp.MustCompile(`^\s*queue\s`)

// queue implements rules.CompileOptions.QueuePosition.
func (l *locator) queue() (string, int) {
	for i, line := range bytes.Split(l.src.Data, []byte("\n")) {
		if queueLine.Match(line) {
			return l.src.Name, i + 1
		}
	}
	return l.src.Name, 0
}
