package nftload

import (
	"net"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"carpfw/internal/hostinv"
)

// HostGroups resolves interface groups as OpenBSD's kernel would
// (ifconfig(8) "group"): the inventory's groups first; "egress" is the
// interfaces of the default routes; "carp" the interfaces named carpN;
// any other name that prefixes interface names followed by digits (a
// driver group such as "eth" or "veth") the matching interfaces. Names
// of existing interfaces are never groups.
func HostGroups(inv hostinv.Inventory) func(string) ([]string, bool) {
	return func(name string) ([]string, bool) {
		if ms, ok := inv.Group(name); ok {
			return ms, true
		}
		if name == "egress" {
			return egress(), true
		}
		if _, err := net.InterfaceByName(name); err == nil {
			return nil, false
		}
		ifs, err := net.Interfaces()
		if err != nil {
			return nil, false
		}
		var ms []string
		for _, ifc := range ifs {
			if rest, ok := strings.CutPrefix(ifc.Name, name); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
				ms = append(ms, ifc.Name)
			}
		}
		if name == "carp" {
			return ms, true
		}
		return ms, len(ms) > 0
	}
}

// egress lists the interfaces that default routes leave through, in the
// calling thread's network namespace.
func egress() []string {
	var out []string
	seen := map[string]bool{}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rs, err := netlink.RouteList(nil, fam)
		if err != nil {
			continue
		}
		for _, r := range rs {
			if r.Dst != nil {
				if ones, _ := r.Dst.Mask.Size(); ones != 0 {
					continue
				}
			}
			l, err := netlink.LinkByIndex(r.LinkIndex)
			if err != nil || seen[l.Attrs().Name] {
				continue
			}
			seen[l.Attrs().Name] = true
			out = append(out, l.Attrs().Name)
		}
	}
	return out
}
