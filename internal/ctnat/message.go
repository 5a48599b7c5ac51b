package ctnat

import (
	"encoding/binary"
	"syscall"
)

// NextMessage splits the first netlink message off b, a datagram read
// from a netlink socket, with the checks of syscall.ParseNetlinkMessage
// (a header of NLMSG_HDRLEN bytes, nlmsg_len at least that and, aligned
// to NLMSG_ALIGNTO, within b), without allocating: m.Data aliases b.
// ok is false when b holds no further well-formed message.
//
// The readers on a new state's way call it for every datagram, where
// ParseNetlinkMessage's slice of messages was an allocation each: after
// an idle spell, fresh heap memory, which on this project's VMs is a
// page fault (docs/pfsync.md §9).
func NextMessage(b []byte) (m syscall.NetlinkMessage, rest []byte, ok bool) {
	if len(b) < syscall.NLMSG_HDRLEN {
		return m, nil, false
	}
	n := int(binary.NativeEndian.Uint32(b[0:4]))
	aligned := (n + syscall.NLMSG_ALIGNTO - 1) &^ (syscall.NLMSG_ALIGNTO - 1)
	if n < syscall.NLMSG_HDRLEN || aligned > len(b) {
		return m, nil, false
	}
	m.Header = syscall.NlMsghdr{
		Len:   uint32(n),
		Type:  binary.NativeEndian.Uint16(b[4:6]),
		Flags: binary.NativeEndian.Uint16(b[6:8]),
		Seq:   binary.NativeEndian.Uint32(b[8:12]),
		Pid:   binary.NativeEndian.Uint32(b[12:16]),
	}
	m.Data = b[syscall.NLMSG_HDRLEN:n:n]
	return m, b[aligned:], true
}
