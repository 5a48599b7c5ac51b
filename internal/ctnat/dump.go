package ctnat

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// dumpYieldEvery is how many entries Dump decodes between two yields to
// the Go scheduler.
const dumpYieldEvery = 32

// Dump reads the whole conntrack table of the socket's network namespace
// (IPCTNL_MSG_CT_GET with NLM_F_DUMP, family AF_UNSPEC: both families,
// as ctnetlink_dump_table answers it), each entry decoded with
// DecodeEntry. It yields the processor every few entries
// (runtime.Gosched): the pfsync worker runs on one processor, and a dump
// of thousands of entries that decodes without a pause held back the
// conntrack events waiting behind it by milliseconds (the replication
// lag's tail, docs/pfsync.md §9); one allocation per entry instead of
// the ~39 of github.com/ti-mo/conntrack's decoder also spares the
// garbage collector. Entries that do not decode are skipped. Use a Conn
// of its own: a dump's answers would mix with a batch's.
func (c *Conn) Dump() ([]Entry, error) {
	c.seq++
	seq := c.seq
	req := make([]byte, unix.NLMSG_HDRLEN+4)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], uint16(unix.NFNL_SUBSYS_CTNETLINK<<8|ipctnlMsgCtGet))
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	req[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	req[unix.NLMSG_HDRLEN+1] = unix.NFNETLINK_V0
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("ctnat: dump: %w", err)
	}
	var out []Entry
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ctnat: dump: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(c.buf[:n])
		if err != nil {
			return nil, fmt.Errorf("ctnat: dump: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue // a late answer to something else
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if code := int32(ne.Uint32(m.Data[:4])); code != 0 {
						return nil, fmt.Errorf("ctnat: dump: %w", syscall.Errno(-code))
					}
				}
				return out, nil
			}
			e, err := DecodeEntry(m.Data)
			if err != nil {
				continue
			}
			out = append(out, e)
			if len(out)%dumpYieldEvery == 0 {
				runtime.Gosched()
			}
		}
	}
}

// ipctnlMsgCtGet is IPCTNL_MSG_CT_GET (enum cntl_msg_types).
const ipctnlMsgCtGet = 1
