package carp

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// RemoveVirtualAddrs deletes every address except IPv6 link-local ones
// from the carp interface name, if it exists. Virtual addresses are on the
// interface only while MASTER, so whoever finds them without a live worker
// (the keeper after a crash, a worker at start) removes them: the peer will
// have become MASTER after its master-down interval.
func RemoveVirtualAddrs(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("%s: list addresses: %w", name, err)
	}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		if err := netlink.AddrDel(l, &a); err != nil {
			return fmt.Errorf("%s: remove %s: %w", name, a.IPNet, err)
		}
	}
	return nil
}
