package parser

import (
	"fmt"
	"strconv"
	"strings"

	"carpfw/rules"
)

// getService is getservice: a number or a service name.
func (p *parser) getService(s string, file string, line int) (uint16, bool) {
	if v, ok := atoul(s); ok {
		if v > 65535 {
			p.errorAt(file, line, fmt.Sprintf("illegal port value %d", v))
			return 0, false
		}
		return uint16(v), true
	}
	if n, ok := p.inv.Service(s, "tcp"); ok {
		return uint16(n), true
	}
	if n, ok := p.inv.Service(s, "udp"); ok {
		return uint16(n), true
	}
	p.errorAt(file, line, "unknown port "+s)
	return 0, false
}

// atoul is strtoul with base 0 that must consume the whole string.
func atoul(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	neg := false
	t := s
	if t[0] == '-' || t[0] == '+' {
		neg = t[0] == '-'
		t = t[1:]
	}
	if strings.ContainsAny(t, "_oObB") {
		return 0, false
	}
	v, err := strconv.ParseUint(t, 0, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// parsePort is parseport: a port, a:b range or a:* (with ext flags).
func (p *parser) parsePort(s string, ext int, file string, line int) (portRange, bool) {
	var r portRange
	i := strings.IndexByte(s, ':')
	if i < 0 {
		a, ok := p.getService(s, file, line)
		r.a = a
		return r, ok
	}
	if ext&pportStar != 0 && s[i+1:] == "*" {
		a, ok := p.getService(s[:i], file, line)
		r.a, r.t = a, rules.OpIRG
		return r, ok
	}
	if ext&pportRange != 0 {
		a, ok := p.getService(s[:i], file, line)
		if !ok {
			return r, false
		}
		b, ok := p.getService(s[i+1:], file, line)
		if !ok {
			return r, false
		}
		r.a, r.b = a, b
		if a == b {
			r.b, r.t = 0, rules.OpNone
		} else {
			r.t = rules.OpRRG
		}
		return r, true
	}
	p.errorAt(file, line, "port is invalid: "+s)
	return r, false
}

func validateRange(op int, a, b uint16) bool {
	return (op == rules.OpRRG && a > b) || (op == rules.OpIRG && a >= b) || (op == rules.OpXRG && a > b)
}

func binOp(s string) int {
	if s == "<>" {
		return rules.OpXRG
	}
	return rules.OpIRG
}

func (p *parser) portList(ps *PortSpec, file string) ([]portNode, bool) {
	if ps == nil {
		return nil, true
	}
	var out []portNode
	for _, it := range ps.Items {
		line := it.Pos.Line
		var n portNode
		switch {
		case it.Op != "":
			r, ok := p.parsePort(it.A, pportRange, file, line)
			if !ok {
				return nil, false
			}
			if r.t != 0 {
				p.errorAt(file, line, "':' cannot be used with an other port operator")
				return nil, false
			}
			n = portNode{port: [2]uint16{r.a, r.b}, op: unaryOps[it.Op]}
		case it.Bin != "":
			r1, ok := p.parsePort(it.A2, pportRange, file, line)
			if !ok {
				return nil, false
			}
			r2, ok := p.parsePort(it.B, pportRange, file, line)
			if !ok {
				return nil, false
			}
			if r1.t != 0 || r2.t != 0 {
				p.errorAt(file, line, "':' cannot be used with an other port operator")
				return nil, false
			}
			n = portNode{port: [2]uint16{r1.a, r2.a}, op: binOp(it.Bin)}
			if validateRange(n.op, n.port[0], n.port[1]) {
				p.errorAt(file, line, "invalid port range")
				return nil, false
			}
		default:
			r, ok := p.parsePort(it.A2, pportRange, file, line)
			if !ok {
				return nil, false
			}
			n = portNode{port: [2]uint16{r.a, r.b}, op: rules.OpEQ}
			if r.t != 0 {
				n.op = rules.OpRRG
				if validateRange(n.op, n.port[0], n.port[1]) {
					p.errorAt(file, line, "invalid port range")
					return nil, false
				}
			}
		}
		out = append(out, n)
	}
	return out, true
}

func (p *parser) idValue(s string, user bool, file string, line int) (uint32, bool) {
	if s == "unknown" {
		return unknownID, true
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		if v < 0 || v >= 0xffffffff {
			what := "gid"
			if user {
				what = "uid"
			}
			p.errorAt(file, line, fmt.Sprintf("illegal %s value %d", what, v))
			return 0, false
		}
		return uint32(v), true
	}
	if user {
		if id, ok := p.inv.User(s); ok {
			return id, true
		}
		p.errorAt(file, line, "unknown user "+s)
		return 0, false
	}
	if id, ok := p.inv.GroupID(s); ok {
		return id, true
	}
	p.errorAt(file, line, "unknown group "+s)
	return 0, false
}

func (p *parser) idList(l *IDList, user bool, file string, line int) ([]idNode, bool) {
	what := "group"
	if user {
		what = "user"
	}
	var out []idNode
	for _, it := range l.Items {
		var n idNode
		switch {
		case it.Op != "":
			v, ok := p.idValue(it.A, user, file, line)
			if !ok {
				return nil, false
			}
			op := unaryOps[it.Op]
			if v == unknownID && op != rules.OpEQ && op != rules.OpNE {
				p.errorAt(file, line, what+" unknown requires operator = or !=")
				return nil, false
			}
			n = idNode{id: [2]uint32{v, v}, op: op}
		case it.Bin != "":
			a, ok := p.idValue(it.A2, user, file, line)
			if !ok {
				return nil, false
			}
			b, ok := p.idValue(it.B, user, file, line)
			if !ok {
				return nil, false
			}
			if a == unknownID || b == unknownID {
				p.errorAt(file, line, what+" unknown requires operator = or !=")
				return nil, false
			}
			n = idNode{id: [2]uint32{a, b}, op: binOp(it.Bin)}
		default:
			v, ok := p.idValue(it.A2, user, file, line)
			if !ok {
				return nil, false
			}
			n = idNode{id: [2]uint32{v, v}, op: rules.OpEQ}
		}
		out = append(out, n)
	}
	return out, true
}

func (p *parser) icmpList(spec *ICMPSpec, file string) ([]icmpNode, bool) {
	af, proto, kw := rules.AFInet, 1, "icmp"
	if spec.Keyword == "icmp6-type" {
		af, proto, kw = rules.AFInet6, 58, "icmp6"
	}
	var out []icmpNode
	for _, it := range spec.Items {
		line := it.Pos.Line
		var t int
		if it.Type.Str != nil {
			v, ok := rules.ICMPTypeByName(*it.Type.Str, af)
			if !ok {
				p.errorAt(file, line, fmt.Sprintf("unknown %s-type %s", kw, *it.Type.Str))
				return nil, false
			}
			t = v + 1
		} else {
			if *it.Type.Num < 0 || *it.Type.Num > 255 {
				p.errorAt(file, line, fmt.Sprintf("illegal %s-type %d", kw, *it.Type.Num))
				return nil, false
			}
			t = int(*it.Type.Num) + 1
		}
		n := icmpNode{typ: t, proto: proto}
		if it.Code != nil {
			if it.Code.Str != nil {
				c, ok := rules.ICMPCodeByName(t-1, *it.Code.Str, af)
				if !ok {
					p.errorAt(file, line, fmt.Sprintf("unknown %s-code %s", kw, *it.Code.Str))
					return nil, false
				}
				n.code = c + 1
			} else {
				if *it.Code.Num < 0 || *it.Code.Num > 255 {
					p.errorAt(file, line, fmt.Sprintf("illegal icmp-code %d", *it.Code.Num))
					return nil, false
				}
				n.code = int(*it.Code.Num) + 1
			}
		}
		out = append(out, n)
	}
	return out, true
}

func (p *parser) tos(t *NumStr, file string, line int) (int, bool) {
	if t.Str != nil {
		s := *t.Str
		v, ok := tosNames[strings.ToLower(s)]
		if !ok {
			v = 256
			if strings.HasPrefix(s, "0x") {
				if u, err := strconv.ParseUint(s[2:], 16, 64); err == nil && s[2:] != "" {
					v = int(min(u, 256))
				}
			}
		}
		if v < 0 || v > 255 {
			p.errorAt(file, line, "illegal tos value "+s)
			return 0, false
		}
		return v, true
	}
	if *t.Num < 0 || *t.Num > 255 {
		p.errorAt(file, line, fmt.Sprintf("illegal tos value %d", *t.Num))
		return 0, false
	}
	return int(*t.Num), true
}
