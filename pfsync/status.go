package pfsync

import (
	"fmt"
	"io"
	"strings"
)

// Status is what the worker reports for "pfsyncctl pfsync0".
type Status struct {
	Config  Config `json:"config"`
	Running bool   `json:"running"`
	MTU     int    `json:"mtu"`
}

// WriteIfconfig prints st as OpenBSD's ifconfig(8) prints pfsync0
// (sbin/ifconfig/ifconfig.c: pfsync_status). The pfsync line appears only
// when a syncdev is set, and syncpeer only when it is not the multicast
// group.
func WriteIfconfig(w io.Writer, st Status) {
	c := st.Config
	flags, names := 0, []string{}
	if c.Up {
		flags |= 0x1
		names = append(names, "UP")
	}
	if st.Running {
		flags |= 0x40
		names = append(names, "RUNNING")
	}
	mtu := st.MTU
	if mtu == 0 {
		mtu = 1500
	}
	fmt.Fprintf(w, "%s: flags=%x<%s> mtu %d\n", c.Name, flags, strings.Join(names, ","), mtu)
	if c.SyncDev != "" {
		fmt.Fprintf(w, "\tpfsync: syncdev: %s ", c.SyncDev)
		if c.Peer.IsValid() && c.Peer != DefaultPeer {
			fmt.Fprintf(w, "syncpeer: %s ", c.Peer)
		}
		d := "off"
		if c.Defer {
			d = "on"
		}
		fmt.Fprintf(w, "maxupd: %d defer: %s\n", c.MaxUpd, d)
	}
	if len(c.Groups) > 0 {
		fmt.Fprintf(w, "\tgroups: %s\n", strings.Join(c.Groups, " "))
	}
}
