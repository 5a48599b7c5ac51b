// Package link answers questions about the host's network interfaces that
// the configuration layers ask before they accept a carpdev or syncdev.
package link

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
)

// ErrNotFound is the error for an interface the namespace does not have.
var ErrNotFound = errors.New("no such interface")

// Exists reports ErrNotFound unless the calling thread's network namespace
// has an interface called name (sysfs lists the namespace that mounted it;
// ip-netns-exec(8) remounts /sys for that reason, and workers are started
// inside their namespace).
func Exists(name string) error {
	if _, err := os.Stat("/sys/class/net/" + name); err != nil {
		return ErrNotFound
	}
	return nil
}

// OnSubnet returns the first interface, in index order, that is up, is
// neither a loopback nor a carp interface, and has an IPv4 address whose
// subnet holds a: how OpenBSD before 5.x chose the carpdev of a carp
// interface configured without one.
func OnSubnet(a netip.Addr) (string, bool) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", false
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 || strings.HasPrefix(ifi.Name, "carp") {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			ipn, ok := ad.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ones, _ := ipn.Mask.Size()
			if ok && ip.Unmap().Is4() && netip.PrefixFrom(ip.Unmap(), ones).Contains(a) {
				return ifi.Name, true
			}
		}
	}
	return "", false
}
