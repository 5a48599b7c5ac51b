package parser

import (
	"fmt"
	"strings"

	"carpfw/rules"
)

// anchorRule is the anchorrule action of parse.y. body is the holding
// ruleset of an inline anchor, nil for a plain anchor call.
func (p *parser) anchorRule(a *AnchorRule, s stmt, body *rules.Anchor) {
	file, line := s.file, s.endLine
	var name string
	if a.Name != nil {
		name = *a.Name
		switch {
		case name == "":
			p.errorAt(file, line, "anchor name must not be empty")
			return
		case name[0] == '_' || strings.Contains(name, "/_"):
			p.errorAt(file, line, "anchor names beginning with '_' are reserved for internal use")
			return
		}
	}
	rp, ok := p.commonParts(a.Interface, a.Proto, a.FromTo, file)
	if !ok {
		return
	}
	fo, ok := p.filterOpts(a.Opts, file)
	if !ok {
		return
	}
	r := &rules.Rule{OnRdomain: -1, RTableID: -1, Action: rules.ActionPass}
	if body != nil {
		if name != "" && strings.Contains(name, "/") {
			p.errorAt(file, line, "anchor paths containing '/' cannot be used for inline anchors.")
			return
		}
		if name != "" {
			body.Call = name
		}
		r.Anchor = body
	} else {
		if name == "" {
			p.errorAt(file, line, "anchors without explicit rules must specify a name")
			return
		}
		if i := strings.LastIndexByte(name, '/'); i >= 0 && i == len(name)-1 {
			p.errorAt(file, line, "anchorrule: bad anchor name "+name)
			return
		}
		r.Anchor = &rules.Anchor{Call: name}
	}
	r.Direction = dirOf(a.Dir)
	r.Quick = a.Quick
	r.AF = afWord(a.AF)
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
				p.errorAt(file, line, "OS fingerprinting only applies to tcp")
			}
			return
		}
	}
	if !p.filterOptsToRule(r, fo, true, file, line) {
		return
	}
	if fo.keepAction != 0 {
		p.errorAt(file, line, "cannot specify state handling on anchors")
		return
	}
	if fo.rt != 0 {
		p.errorAt(file, line, "cannot specify route handling on anchors")
		return
	}
	decideAF(rp.srcHosts, &r.AF)
	decideAF(rp.dstHosts, &r.AF)
	p.expandRule(r, false, rp, nil, nil, nil, fo, file, line)
}

// loadRule records load anchor name from "file" for after the main
// ruleset is loaded.
func (p *parser) loadRule(l *LoadRule, s stmt) {
	if l.Name == nil {
		p.errorAt(s.file, s.endLine, "anchor name is missing")
		return
	}
	name := *l.Name
	if p.cfg.Anchor != "" {
		name = p.cfg.Anchor + "/" + name
	}
	p.res.LoadAnchors = append(p.res.LoadAnchors, LoadAnchor{Anchor: name, File: strings.Join(l.File, " ")})
}

// antispoof expands antispoof for interfaces into block rules: traffic
// from the interface's networks arriving on any other interface, and for
// non-loopback interfaces also traffic to the interface's own addresses
// arriving on it.
func (p *parser) antispoof(a *Antispoof, s stmt) {
	file, line := s.file, s.endLine
	var lq rules.Rule
	if !p.logQuick(&lq, a.LogQuick, file, a.Pos.Line) {
		return
	}
	type asIf struct {
		n       ifNode
		dynamic bool
	}
	var ifs []asIf
	for _, it := range a.Ifs {
		item, dyn := it.Item, false
		if it.Dyn != nil {
			item, dyn = it.Dyn, true
		}
		if item.Not {
			p.syntaxError(file, item.Pos.Line, 0)
			return
		}
		n, ok := p.ifItem(item, file)
		if !ok {
			return
		}
		ifs = append(ifs, asIf{n, dyn})
	}
	var label *string
	rtable := -1
	for _, o := range a.Opts {
		if o.Label != nil {
			if label != nil {
				p.errorAt(file, line, "label cannot be redefined")
				return
			}
			label = o.Label
		}
		if o.RTable != nil {
			if *o.RTable < 0 || *o.RTable > 255 {
				p.errorAt(file, line, "invalid rtable id")
				return
			}
			if *o.RTable != 0 {
				p.errorAt(file, line, fmt.Sprintf("rtable %d does not exist", *o.RTable))
				return
			}
			rtable = int(*o.RTable)
		}
	}
	mk := func() *rules.Rule {
		r := &rules.Rule{Action: rules.ActionBlock, Direction: rules.DirIn, Log: lq.Log,
			LogIf: lq.LogIf, Quick: lq.Quick, AF: afWord(a.AF), OnRdomain: -1, RTableID: rtable}
		if label != nil {
			r.Label = *label
		}
		return r
	}
	if label != nil && len(*label) >= 64 {
		p.errorAt(file, line, "rule label too long (max 63 chars)")
		return
	}
	for _, i := range ifs {
		j := ifNode{name: i.n.name, not: true}
		var h, hh []hostNode
		if i.dynamic {
			n := hostNode{}
			n.addr.Type = rules.AddrDynIfTL
			n.addr.IfName = i.n.name
			setIPMask(&n, 128)
			hh = []hostNode{n}
			n.addr.IFlags = rules.IfNetwork
			h = []hostNode{n}
		} else {
			h = p.ifaLookup(j.name, rules.IfNetwork)
		}
		if h != nil {
			p.expandRule(mk(), false, &ruleParts{ifs: []ifNode{j}, srcHosts: h}, nil, nil, nil, nil, file, line)
		}
		if !i.n.loopback {
			if hh != nil {
				h = hh
			} else {
				h = p.ifaLookup(i.n.name, 0)
			}
			if h != nil {
				p.expandRule(mk(), false, &ruleParts{srcHosts: h}, nil, nil, nil, nil, file, line)
			}
		}
	}
}
