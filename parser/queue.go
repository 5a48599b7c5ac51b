package parser

import (
	"fmt"
	"strconv"
	"strings"

	"carpfw/rules"
)

// queueSpec is the queuespec action with expand_queue: one queue per
// interface.
func (p *parser) queueSpec(q *QueueSpec, s stmt) {
	file, line := s.file, s.endLine
	ifs, ok := p.ifList(q.Interface, file)
	if !ok {
		return
	}
	var qs rules.Queue
	marker := 0
	for _, o := range q.Opts {
		fail := func(msg string) { p.errorAt(file, o.Pos.Line, msg) }
		switch {
		case o.Bandwidth != nil:
			ls, ok := p.scSpec(o.Bandwidth, file, o.Pos.Line)
			if !ok {
				return
			}
			var rt, ul rules.ServiceCurve
			for _, mm := range o.MinMax {
				sc, ok := p.scSpec(mm.Spec, file, o.Pos.Line)
				if !ok {
					return
				}
				if mm.Kind == "min" {
					rt = sc
				} else {
					ul = sc
				}
			}
			if marker&0x01 != 0 {
				fail("bandwidth cannot be respecified")
				return
			}
			marker |= 0x01
			qs.LinkShare, qs.RealTime, qs.UpperLimit = ls, rt, ul
		case o.Parent != nil:
			if marker&0x02 != 0 {
				fail("parent cannot be respecified")
				return
			}
			marker |= 0x02
			qs.Parent = *o.Parent
		case o.Default:
			if marker&0x04 != 0 {
				fail("default cannot be respecified")
				return
			}
			marker |= 0x04
			qs.Flags |= rules.QueueDefault
		case o.QLimit != nil:
			if marker&0x08 != 0 {
				fail("qlimit cannot be respecified")
				return
			}
			if *o.QLimit < 0 || *o.QLimit > 65535 {
				fail("qlimit out of range: max 65535")
				return
			}
			marker |= 0x08
			qs.QLimit = int(*o.QLimit)
		case o.Flows != nil:
			if marker&0x10 != 0 {
				fail("number of flows cannot be respecified")
				return
			}
			if *o.Flows < 1 || *o.Flows > 32767 {
				fail("number of flows out of range: max 32767")
				return
			}
			marker |= 0x10
			qs.Flags |= rules.QueueFlow
			qs.Flows = int(*o.Flows)
		case o.Quantum != nil:
			if marker&0x20 != 0 {
				fail("quantum cannot be respecified")
				return
			}
			if *o.Quantum < 1 || *o.Quantum > 65535 {
				fail("quantum out of range: max 65535")
				return
			}
			marker |= 0x20
			qs.Quantum = int(*o.Quantum)
		}
	}
	if ifs == nil && qs.Parent == "" {
		p.errorAt(file, line, "root queue without interface")
		return
	}
	if ifs != nil {
		if ifc, _ := p.ifaExists(ifs[0].name); ifc == nil {
			p.errorAt(file, line, "not an interface")
			return
		}
	}
	for _, ifc := range orOne(ifs) {
		nq := qs
		if qs.Parent == "" && marker&0x01 != 0 {
			nq.Flags |= rules.QueueRoot
		}
		if marker&0x01 == 0 && marker&0x10 == 0 {
			p.errorAt(file, line, "no bandwidth or flow specification")
			return
		}
		nq.Name = q.Name
		nq.IfName = ifc.name
		if nq.IfName == "" {
			for _, pq := range p.res.Queues {
				if pq.Name == nq.Parent {
					nq.IfName = pq.IfName
				}
			}
		}
		p.res.Queues = append(p.res.Queues, &nq)
		p.queueNames[nq.Name] = true
	}
}

func (p *parser) scSpec(sc *SCSpec, file string, line int) (rules.ServiceCurve, bool) {
	var out rules.ServiceCurve
	m2, ok := p.bandwidth(&sc.BW, file, line)
	if !ok {
		return out, false
	}
	out.M2 = m2
	if sc.Burst != nil {
		m1, ok := p.bandwidth(sc.Burst, file, line)
		if !ok {
			return out, false
		}
		ms, rest := strtod(sc.For)
		if rest != "ms" {
			p.errorAt(file, line, "time in scspec must be in ms")
			return out, false
		}
		out.M1 = m1
		out.D = int(ms)
	}
	if out.M1.Percent != 0 || out.M2.Percent != 0 {
		p.errorAt(file, line, "no bandwidth in % yet")
		return out, false
	}
	return out, true
}

func (p *parser) bandwidth(b *NumStr, file string, line int) (rules.Bandwidth, bool) {
	var bw rules.Bandwidth
	if b.Num != nil {
		if *b.Num < 0 {
			p.errorAt(file, line, "bandwidth number too big")
			return bw, false
		}
		bw.Absolute = uint64(*b.Num)
		return bw, true
	}
	bps, cp := strtod(*b.Str)
	if len(cp) > 1 {
		switch cp[1:] {
		case "Bit", "B", "bit", "b":
			cp = cp[:1]
		}
	}
	switch cp {
	case "", "b":
	case "K":
		bps *= 1000
	case "M":
		bps *= 1000 * 1000
	case "G":
		bps *= 1000 * 1000 * 1000
	case "%":
		if bps < 0 || bps > 100 {
			p.errorAt(file, line, "bandwidth spec out of range")
			return bw, false
		}
		bw.Percent = int(bps)
		bps = 0
	default:
		p.errorAt(file, line, fmt.Sprintf("unknown unit \"%s\"", cp))
		return bw, false
	}
	if bps < 0 || bps > 9.2e18 {
		p.errorAt(file, line, "bandwidth number too big")
		return bw, false
	}
	bw.Absolute = uint64(bps)
	return bw, true
}

// CheckQueues runs the checks pfctl makes before loading queues
// (pfctl_check_queues) and returns the messages it would print.
func CheckQueues(qs []*rules.Queue) []string {
	var msgs []string
	children := map[string]int{}
	for _, q := range qs {
		if q.Parent != "" {
			children[q.Parent]++
		}
	}
	for _, q := range qs {
		if q.Flags&rules.QueueDefault != 0 && children[q.Name] > 0 {
			msgs = append(msgs, fmt.Sprintf("default queue %s is not a leaf queue", q.Name))
			return msgs
		}
		if q.Flags&rules.QueueFlow != 0 && children[q.Name] > 0 {
			msgs = append(msgs, fmt.Sprintf("flow queue %s is not a leaf queue", q.Name))
			return msgs
		}
	}
	// Per root: an HFSC hierarchy needs a default queue and every queue
	// in it needs a bandwidth; a lone flow queue needs neither.
	for _, root := range qs {
		if root.Parent != "" {
			continue
		}
		if root.Flags&rules.QueueFlow != 0 && root.LinkShare.M2.Absolute == 0 && children[root.Name] == 0 {
			continue
		}
		var tree []*rules.Queue
		var walk func(name string)
		walk = func(name string) {
			for _, q := range qs {
				if q.Parent == name && q.IfName == root.IfName {
					tree = append(tree, q)
					walk(q.Name)
				}
			}
		}
		tree = append(tree, root)
		walk(root.Name)
		for _, q := range tree {
			if q.LinkShare.M2.Absolute == 0 && q.LinkShare.M2.Percent == 0 {
				msgs = append(msgs, fmt.Sprintf("queue %s: no bandwidth was specified", q.Name))
				return msgs
			}
		}
		def := false
		for _, q := range tree {
			if q.Flags&rules.QueueDefault != 0 {
				def = true
			}
		}
		if !def {
			msgs = append(msgs, "no default queue specified")
			return msgs
		}
	}
	return msgs
}

var _ = strconv.Itoa
var _ = strings.Join
