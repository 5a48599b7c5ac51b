package eval

import (
	"sort"
	"strings"

	"carpfw/rules"
)

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
