package nftload

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// batchBuffer is the socket buffer size of a loading connection. A batch
// goes out in one sendmsg(2), which netlink refuses with EMSGSIZE when it
// exceeds the send buffer; and the kernel acknowledges every message of
// the batch, which must fit in the receive buffer (an overflow loses the
// answers: ENOBUFS). nft(8) raises its buffers the same way
// (SO_SNDBUFFORCE, SO_RCVBUFFORCE; CAP_NET_ADMIN). The sizes are limits,
// not allocations.
const batchBuffer = 1 << 30

// Dial opens an nftables connection in the calling thread's network
// namespace, with buffers large enough for a whole-ruleset batch. Use a
// fresh one per batch.
func Dial() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithSockOptions(bigBuffers))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

func bigBuffers(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, batchBuffer); e != nil && serr == nil {
				serr = fmt.Errorf("netlink socket buffer: %w", e)
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
