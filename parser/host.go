package parser

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"carpfw/internal/hostinv"
	"carpfw/rules"
)

// hostNode is one resolved address (struct node_host in pfctl).
type hostNode struct {
	af      int
	addr    rules.AddrWrap
	not     bool
	ifindex int
	weight  int
}

func afOf(ip netip.Addr) int {
	if ip.Is4() {
		return rules.AFInet
	}
	return rules.AFInet6
}

// setIPMask sets a prefix length and masks the address (set_ipmask); -1
// means the family's full width.
func setIPMask(h *hostNode, b int) {
	if b == -1 {
		if h.af == rules.AFInet {
			b = 32
		} else {
			b = 128
		}
	}
	h.addr.Mask = rules.MaskOf(b)
	if h.addr.Type == rules.AddrMask {
		h.addr.Addr = h.addr.Addr.And(h.addr.Mask)
	}
}

// ifaLookup lists the addresses of an interface, interface group or
// "self" with the :network/:broadcast/:peer/:0 modifiers applied
// (ifa_lookup in pfctl_parser.c).
func (p *parser) ifaLookup(name string, flags int) []hostNode {
	if members, ok := p.inv.Group(name); ok {
		var out []hostNode
		for _, m := range members {
			out = append(out, p.ifaLookup(m, flags)...)
		}
		return out
	}
	filter := name
	if name == "self" {
		filter = ""
	}
	var out []hostNode
	for _, ifc := range p.inv.Interfaces() {
		if skipIf(filter, ifc.Name) {
			continue
		}
		got4, got6 := false, false
		for _, a := range ifc.Addrs {
			af := afOf(a.Addr)
			if flags&rules.IfBroadcast != 0 && (af != rules.AFInet || ifc.Flags&hostinv.FlagBroadcast == 0 || !a.Broadcast.IsValid()) {
				continue
			}
			if flags&rules.IfPeer != 0 && ifc.Flags&hostinv.FlagPointToPoint == 0 {
				continue
			}
			if flags&rules.IfNetwork != 0 && a.ScopeID > 0 {
				continue
			}
			if flags&rules.IfNoAlias != 0 && ((af == rules.AFInet && got4) || (af == rules.AFInet6 && got6)) {
				continue
			}
			if af == rules.AFInet {
				got4 = true
			} else {
				got6 = true
			}
			n := hostNode{af: af, ifindex: a.ScopeID}
			switch {
			case flags&rules.IfBroadcast != 0:
				n.addr.Addr = rules.FromNetip(a.Broadcast)
			case flags&rules.IfPeer != 0:
				if a.Peer.IsValid() {
					n.addr.Addr = rules.FromNetip(a.Peer)
				}
			default:
				n.addr.Addr = rules.FromNetip(a.Addr)
			}
			if flags&rules.IfNetwork != 0 {
				setIPMask(&n, a.PrefixLen)
			} else {
				setIPMask(&n, -1)
			}
			out = append(out, n)
		}
	}
	return out
}

// skipIf is ifa_skip_if: an exact name, or a driver name without unit
// number matching all its units.
func skipIf(filter, name string) bool {
	if filter == "" || filter == name {
		return false
	}
	n := len(filter)
	if n >= 16 || (filter[n-1] >= '0' && filter[n-1] <= '9') {
		return true
	}
	if !strings.HasPrefix(name, filter) {
		return true
	}
	return len(name) <= n || name[n] < '0' || name[n] > '9'
}

// ifaExists reports whether name is an interface or an interface group.
func (p *parser) ifaExists(name string) (ifc *hostinv.Interface, group bool) {
	if _, ok := p.inv.Group(name); ok {
		return nil, true
	}
	ifs := p.inv.Interfaces()
	for i := range ifs {
		if ifs[i].Name == name {
			return &ifs[i], false
		}
	}
	return nil, false
}

func (p *parser) ifIndex(name string) int {
	for _, ifc := range p.inv.Interfaces() {
		if ifc.Name == name {
			return ifc.Index
		}
	}
	return 0
}

func (p *parser) ifName(index int) string {
	if index == 0 {
		return ""
	}
	for _, ifc := range p.inv.Interfaces() {
		if ifc.Index == index {
			return ifc.Name
		}
	}
	return ""
}

// host resolves a host string: an interface name with modifiers, a
// numeric address, or a host name (host in pfctl_parser.c). Problems are
// reported on stderr without a position, as pfctl does; nil means failure.
func (p *parser) host(s string) []hostNode {
	ps := s
	mask := -1
	if i := strings.IndexByte(ps, '/'); i >= 0 {
		v, err := strconv.ParseInt(ps[i+1:], 10, 64)
		switch {
		case err != nil && isNumErrRange(err):
			p.stderr(fmt.Sprintf("netmask is too large: %s\n", ps[i:]))
			return nil
		case err != nil:
			p.stderr(fmt.Sprintf("netmask is invalid: %s\n", ps[i:]))
			return nil
		case v < 0:
			p.stderr(fmt.Sprintf("netmask is too small: %s\n", ps[i:]))
			return nil
		case v > 128:
			p.stderr(fmt.Sprintf("netmask is too large: %s\n", ps[i:]))
			return nil
		}
		mask = int(v)
		ps = ps[:i]
	}
	h, failed := p.hostIf(ps, mask)
	if h == nil && !failed {
		h = p.hostIP(ps, mask)
	}
	if h == nil && !failed {
		h = p.hostDNS(ps, mask)
	}
	if h == nil {
		p.stderr(fmt.Sprintf("no IP address found for %s\n", s))
		return nil
	}
	for i := range h {
		h[i].addr.Type = rules.AddrMask
		h[i].weight = 0
	}
	return h
}

func isNumErrRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// hostIf is host_if: an interface (or group, or self) with modifiers.
// failed is set when a modifier problem was reported.
func (p *parser) hostIf(s string, mask int) (h []hostNode, failed bool) {
	flags := 0
	ps := s
	for {
		i := strings.LastIndexByte(ps, ':')
		if i < 0 {
			break
		}
		switch ps[i+1:] {
		case "network":
			flags |= rules.IfNetwork
		case "broadcast":
			flags |= rules.IfBroadcast
		case "peer":
			flags |= rules.IfPeer
		case "0":
			flags |= rules.IfNoAlias
		default:
			return nil, false
		}
		ps = ps[:i]
	}
	if flags&(flags-1)&rules.IfModeMask != 0 {
		p.stderr("illegal combination of interface modifiers\n")
		return nil, false
	}
	if flags&(rules.IfNetwork|rules.IfBroadcast) != 0 && mask > -1 {
		p.stderr("network or broadcast lookup, but extra netmask given\n")
		return nil, false
	}
	ifc, group := p.ifaExists(ps)
	if ifc != nil || group || ps == "self" {
		h = p.ifaLookup(ps, flags)
		if mask > -1 {
			for i := range h {
				setIPMask(&h[i], mask)
			}
		}
	}
	return h, false
}

// hostIP is host_ip: a numeric address, or a short IPv4 network such as
// 10 or 172.16 when a mask was given.
func (p *parser) hostIP(s string, mask int) []hostNode {
	var n hostNode
	addrPart, zone, hasZone := strings.Cut(s, "%")
	ip, err := netip.ParseAddr(addrPart)
	if err == nil && ip.Zone() == "" && (!hasZone || ip.Is6()) {
		n.af = afOf(ip)
		n.addr.Addr = rules.FromNetip(ip)
		if hasZone {
			n.ifindex = p.ifIndex(zone)
			if n.ifindex == 0 {
				if v, err := strconv.Atoi(zone); err == nil {
					n.ifindex = v
				} else {
					return nil
				}
			}
		}
	} else {
		if mask == -1 || hasZone {
			return nil
		}
		a, ok := inetNetPton(s)
		if !ok {
			return nil
		}
		n.af = rules.AFInet
		copy(n.addr.Addr[:4], a[:])
	}
	setIPMask(&n, mask)
	return []hostNode{n}
}

// inetNetPton parses the classful short forms inet_net_pton(3) accepts for
// AF_INET: one to four dotted decimal bytes.
func inetNetPton(s string) ([4]byte, bool) {
	var a [4]byte
	parts := strings.Split(s, ".")
	if len(parts) > 4 || s == "" {
		return a, false
	}
	for i, part := range parts {
		if part == "" {
			return a, false
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return a, false
			}
		}
		v, err := strconv.Atoi(part)
		if err != nil || v > 255 {
			return a, false
		}
		a[i] = byte(v)
	}
	return a, true
}

// hostDNS is host_dns: a name resolved through the inventory; a ":0"
// suffix keeps one address per family.
func (p *parser) hostDNS(s string, mask int) []hostNode {
	noalias := false
	ps := s
	if i := strings.LastIndexByte(ps, ':'); i >= 0 && ps[i:] == ":0" {
		noalias = true
		ps = ps[:i]
	}
	if ps == "" || strings.ContainsAny(ps, " \t") {
		return nil
	}
	var out []hostNode
	got4, got6 := false, false
	for _, ip := range p.inv.Host(ps) {
		af := afOf(ip)
		if noalias {
			if af == rules.AFInet {
				if got4 {
					continue
				}
				got4 = true
			} else {
				if got6 {
					continue
				}
				got6 = true
			}
		}
		n := hostNode{af: af}
		n.addr.Addr = rules.FromNetip(ip)
		setIPMask(&n, mask)
		out = append(out, n)
	}
	return out
}
