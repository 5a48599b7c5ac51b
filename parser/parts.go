package parser

import (
	"fmt"
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

type portRange struct {
	a, b uint16
	t    int
}

const (
	pportRange = 1
	pportStar  = 2
)

var unaryOps = map[string]int{"=": rules.OpEQ, "!=": rules.OpNE, "<=": rules.OpLE, "<": rules.OpLT, ">=": rules.OpGE, ">": rules.OpGT}

const unknownID = 0xffffffff

var tosNames = map[string]int{
	"af11": 0x28, "af12": 0x30, "af13": 0x38, "af21": 0x48, "af22": 0x50,
	"af23": 0x58, "af31": 0x68, "af32": 0x70, "af33": 0x78, "af41": 0x88,
	"af42": 0x90, "af43": 0x98, "critical": 0xa0, "cs0": 0x00, "cs1": 0x20,
	"cs2": 0x40, "cs3": 0x60, "cs4": 0x80, "cs5": 0xa0, "cs6": 0xc0,
	"cs7": 0xe0, "ef": 0xb8, "inetcontrol": 0xc0, "lowdelay": 0x10,
	"netcontrol": 0xe0, "reliability": 0x04, "throughput": 0x08,
}
