package hostinv

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// host reads the running Linux host: interfaces through net.Interfaces
// (netlink), users, groups and services from /etc, names through the
// resolver. Linux has no interface groups, so Group always fails.
// Protocol numbers resolve from OpenBSD's table first and /etc/protocols
// second; printed names always come from OpenBSD's table.
type host struct {
	once     sync.Once
	ifs      []Interface
	users    map[string]uint32
	groups   map[string]uint32
	services map[string]int // "name/proto"
	protos   map[string]int
}

// Real returns the inventory of the running host.
func Real() Inventory { return &host{} }

func (h *host) load() {
	h.once.Do(func() {
		h.ifs = loadInterfaces()
		h.users = loadIDs("/etc/passwd", 2)
		h.groups = loadIDs("/etc/group", 2)
		h.services = loadServices("/etc/services")
		h.protos = loadProtocols("/etc/protocols")
	})
}

func loadInterfaces() []Interface {
	nifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []Interface
	for _, ni := range nifs {
		ifc := Interface{Name: ni.Name, Index: ni.Index}
		if ni.Flags&net.FlagLoopback != 0 {
			ifc.Flags |= FlagLoopback
		}
		if ni.Flags&net.FlagBroadcast != 0 {
			ifc.Flags |= FlagBroadcast
		}
		if ni.Flags&net.FlagPointToPoint != 0 {
			ifc.Flags |= FlagPointToPoint
		}
		addrs, _ := ni.Addrs()
		// OpenBSD lists IPv6 addresses before IPv4 ones.
		var v4, v6 []IfAddr
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			ones, _ := ipn.Mask.Size()
			ia := IfAddr{Addr: ip, PrefixLen: ones}
			if ip.Is4() {
				if ni.Flags&net.FlagBroadcast != 0 && ones < 31 {
					b := ip.As4()
					for i := ones; i < 32; i++ {
						b[i/8] |= 0x80 >> (i % 8)
					}
					ia.Broadcast = netip.AddrFrom4(b)
				}
				v4 = append(v4, ia)
			} else {
				if ip.IsLinkLocalUnicast() {
					ia.ScopeID = ni.Index
				}
				v6 = append(v6, ia)
			}
		}
		ifc.Addrs = append(v6, v4...)
		out = append(out, ifc)
	}
	return out
}

func loadIDs(path string, field int) map[string]uint32 {
	m := map[string]uint32{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) <= field {
			continue
		}
		id, err := strconv.ParseUint(parts[field], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := m[parts[0]]; !dup {
			m[parts[0]] = uint32(id)
		}
	}
	return m
}

func loadServices(path string) map[string]int {
	m := map[string]int{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(fields[1], "/")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			continue
		}
		for _, name := range append([]string{fields[0]}, fields[2:]...) {
			if _, dup := m[name+"/"+proto]; !dup {
				m[name+"/"+proto] = n
			}
		}
	}
	return m
}

func loadProtocols(path string) map[string]int {
	m := map[string]int{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		n, err := strconv.Atoi(fields[1])
		if err != nil {
			continue
		}
		for _, name := range append([]string{fields[0]}, fields[2:]...) {
			m[name] = n
		}
	}
	return m
}

func (h *host) Interfaces() []Interface { h.load(); return h.ifs }

func (h *host) Group(string) ([]string, bool) { return nil, false }

func (h *host) User(name string) (uint32, bool) {
	h.load()
	id, ok := h.users[name]
	return id, ok
}

func (h *host) GroupID(name string) (uint32, bool) {
	h.load()
	id, ok := h.groups[name]
	return id, ok
}

func (h *host) Service(name, proto string) (int, bool) {
	h.load()
	if n, ok := h.services[name+"/"+proto]; ok {
		return n, true
	}
	return builtinService(name, proto)
}

func (h *host) Protocol(name string) (int, bool) {
	if n, ok := builtinProtocol(name); ok {
		return n, true
	}
	h.load()
	n, ok := h.protos[name]
	return n, ok
}

func (h *host) ProtocolName(num int) (string, bool) { return builtinProtocolName(num) }

func (h *host) Host(name string) []netip.Addr {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.Unmap().WithZone(""))
	}
	return out
}
