package parser

import (
	"fmt"
	"strconv"
	"strings"

	"carpfw/rules"
)

// ifNode is one interface of an interface list (struct node_if).
type ifNode struct {
	name       string
	not        bool
	useRdomain bool
	rdomain    int
	loopback   bool
}

type portNode struct {
	port [2]uint16
	op   int
}

type idNode struct {
	id [2]uint32
	op int
}

type icmpNode struct {
	typ, code int
	proto     int
}

func (p *parser) ifItem(it *IfItem, file string) (ifNode, bool) {
	n := ifNode{not: it.Not}
	switch {
	case it.Name != nil:
		if len(*it.Name) >= 16 {
			p.errorAt(file, it.Pos.Line, "interface name too long")
			return n, false
		}
		n.name = *it.Name
		if ifc, _ := p.ifaExists(n.name); ifc != nil && ifc.Flags&8 != 0 {
			n.loopback = true
		}
	case it.Any:
		n.name = "any"
	case it.Rdomain != nil:
		if *it.Rdomain < 0 || *it.Rdomain > 255 {
			p.errorAt(file, it.Pos.Line, fmt.Sprintf("rdomain %d outside range", *it.Rdomain))
		}
		n.useRdomain = true
		n.rdomain = int(*it.Rdomain)
	}
	return n, true
}

func (p *parser) ifList(ifs *Interface, file string) ([]ifNode, bool) {
	if ifs == nil {
		return nil, true
	}
	var out []ifNode
	for _, it := range ifs.Items {
		n, ok := p.ifItem(it, file)
		if !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func (p *parser) protoList(pr *Proto, file string) ([]int, bool) {
	if pr == nil {
		return nil, true
	}
	var out []int
	for _, it := range pr.Items {
		var v int
		if it.Str != nil {
			n, ok := p.inv.Protocol(*it.Str)
			if !ok {
				p.errorAt(file, pr.Pos.Line, "unknown protocol "+*it.Str)
				return nil, false
			}
			v = n
		} else {
			if *it.Num < 0 || *it.Num > 255 {
				p.errorAt(file, pr.Pos.Line, "protocol outside range")
				return nil, false
			}
			v = int(*it.Num)
		}
		if v&0xff == 0 {
			p.errorAt(file, pr.Pos.Line, "proto 0 cannot be used")
			return nil, false
		}
		out = append(out, v&0xff)
	}
	return out, true
}

// hostOf resolves one host form (host in parse.y).
func (p *parser) hostOf(h *Host, file string) ([]hostNode, bool) {
	line := h.Pos.Line
	fail := func() ([]hostNode, bool) {
		p.errorAt(file, line, "could not parse host specification")
		return nil, false
	}
	switch {
	case h.Str != nil && h.RangeEnd != nil:
		b := p.host(*h.Str)
		if b == nil {
			return fail()
		}
		e := p.host(*h.RangeEnd)
		if e == nil {
			return fail()
		}
		full := func(n hostNode) bool {
			if n.af == rules.AFInet {
				return n.addr.Mask.Bits() == 32
			}
			return n.addr.Mask.Bits() == 128
		}
		if b[0].af != e[0].af || len(b) != 1 || len(e) != 1 || !full(b[0]) || !full(e[0]) {
			p.errorAt(file, line, "invalid address range")
			return nil, false
		}
		b[0].addr.Mask = e[0].addr.Addr
		b[0].addr.Type = rules.AddrRange
		return b, true
	case h.Str != nil && h.StrMask != nil:
		r := p.host(fmt.Sprintf("%s/%d", *h.Str, *h.StrMask))
		if r == nil {
			return fail()
		}
		return r, true
	case h.Str != nil:
		r := p.host(*h.Str)
		if r == nil {
			return fail()
		}
		return r, true
	case h.Num != nil:
		r := p.host(fmt.Sprintf("%d/%d", *h.Num, *h.NumMask))
		if r == nil {
			return fail()
		}
		return r, true
	case h.Dyn != nil:
		return p.dynaddr(*h.Dyn, h.DynMask, file, line)
	case h.Table != nil:
		if len(*h.Table) >= 32 {
			p.errorAt(file, line, fmt.Sprintf("table name '%s' too long", *h.Table))
			return nil, false
		}
		n := hostNode{}
		n.addr.Type = rules.AddrTable
		n.addr.Table = *h.Table
		return []hostNode{n}, true
	case h.Route != nil:
		if len(*h.Route) >= 32 {
			p.errorAt(file, line, "route label too long, max 31 chars")
			return nil, false
		}
		n := hostNode{}
		n.addr.Type = rules.AddrRTLabel
		n.addr.RTLabel = *h.Route
		return []hostNode{n}, true
	}
	return fail()
}

// dynaddr is "(ifname[:modifiers])" with an optional mask.
func (p *parser) dynaddr(s string, mask *int64, file string, line int) ([]hostNode, bool) {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		p.errorAt(file, line, fmt.Sprintf("invalid interface name '%s'", s))
		return nil, false
	}
	flags := 0
	name := s
	for {
		i := strings.LastIndexByte(name, ':')
		if i < 0 {
			break
		}
		switch name[i+1:] {
		case "network":
			flags |= rules.IfNetwork
		case "broadcast":
			flags |= rules.IfBroadcast
		case "peer":
			flags |= rules.IfPeer
		case "0":
			flags |= rules.IfNoAlias
		default:
			p.errorAt(file, line, fmt.Sprintf("interface %s has bad modifier", name))
			return nil, false
		}
		name = name[:i]
	}
	if flags&(flags-1)&rules.IfModeMask != 0 {
		p.errorAt(file, line, "illegal combination of interface modifiers")
		return nil, false
	}
	if len(name) >= 16 {
		p.errorAt(file, line, "interface name too long")
		return nil, false
	}
	n := hostNode{}
	n.addr.Type = rules.AddrDynIfTL
	n.addr.IfName = name
	n.addr.IFlags = flags
	setIPMask(&n, 128)
	if mask != nil {
		if *mask < 0 || *mask > 128 {
			p.errorAt(file, line, "bit number too big")
			return nil, false
		}
		setIPMask(&n, int(*mask))
	}
	return []hostNode{n}, true
}

func (p *parser) xhost(x *XHost, file string) ([]hostNode, bool) {
	var out []hostNode
	switch {
	case x.NoRoute:
		n := hostNode{not: x.Not}
		n.addr.Type = rules.AddrNoRoute
		return []hostNode{n}, true
	case x.URPFFailed:
		n := hostNode{not: x.Not}
		n.addr.Type = rules.AddrURPFFailed
		return []hostNode{n}, true
	}
	out, ok := p.hostOf(x.Host, file)
	if !ok {
		return nil, false
	}
	for i := range out {
		out[i].not = x.Not
	}
	return out, true
}

// ipspec returns nil for "any", including a list with any in it (pfctl's
// host_list drops the whole list then).
func (p *parser) ipspec(s *IPSpec, file string) ([]hostNode, bool) {
	switch {
	case s.Any:
		return nil, true
	case s.List != nil:
		var out []hostNode
		anyItem := false
		for _, it := range s.List {
			h, ok := p.ipspec(it, file)
			if !ok {
				return nil, false
			}
			if h == nil {
				anyItem = true
			}
			out = append(out, h...)
		}
		if anyItem {
			return nil, true
		}
		return out, true
	}
	return p.xhost(s.Host, file)
}

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

type portRange struct {
	a, b uint16
	t    int
}

const (
	pportRange = 1
	pportStar  = 2
)

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

var unaryOps = map[string]int{"=": rules.OpEQ, "!=": rules.OpNE, "<=": rules.OpLE, "<": rules.OpLT, ">=": rules.OpGE, ">": rules.OpGT}

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

const unknownID = 0xffffffff

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

var tosNames = map[string]int{
	"af11": 0x28, "af12": 0x30, "af13": 0x38, "af21": 0x48, "af22": 0x50,
	"af23": 0x58, "af31": 0x68, "af32": 0x70, "af33": 0x78, "af41": 0x88,
	"af42": 0x90, "af43": 0x98, "critical": 0xa0, "cs0": 0x00, "cs1": 0x20,
	"cs2": 0x40, "cs3": 0x60, "cs4": 0x80, "cs5": 0xa0, "cs6": 0xc0,
	"cs7": 0xe0, "ef": 0xb8, "inetcontrol": 0xc0, "lowdelay": 0x10,
	"netcontrol": 0xe0, "reliability": 0x04, "throughput": 0x08,
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
