package ctnat

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// RecvfromNow and SendtoNow are recvfrom(2) and sendto(2) with
// MSG_DONTWAIT, made as raw system calls: they never block, so they need
// not tell the Go scheduler, and they do not wake its sysmon thread (a
// futex wake-up on the first system call after every idle period, about
// a fifth of a sync worker's CPU at 50 connections/s). The caller falls
// back to the ordinary call on EAGAIN.
func RecvfromNow(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// SendtoNow sends p to the socket address sa (raw bytes of a struct
// sockaddr_*, nil for a connected or netlink-kernel destination).
func SendtoNow(fd int, p []byte, sa unsafe.Pointer, salen uintptr) error {
	if len(p) == 0 {
		return nil
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_DONTWAIT, uintptr(sa), salen)
	if e != 0 {
		return e
	}
	return nil
}

// mmsghdr is struct mmsghdr: a message header and the length sent.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// SendmmsgNow sends frames, each a datagram to the socket address sa,
// with one sendmmsg(2) (MSG_DONTWAIT, a raw system call as SendtoNow):
// a bulk update's thousands of frames cost a system call per batch
// instead of one each. It returns how many were sent; the caller sends
// the rest another way when err is EAGAIN.
func SendmmsgNow(fd int, frames [][]byte, sa unsafe.Pointer, salen uintptr) (int, error) {
	if len(frames) == 0 {
		return 0, nil
	}
	iov := make([]unix.Iovec, len(frames))
	msgs := make([]mmsghdr, len(frames))
	for i, f := range frames {
		if len(f) > 0 {
			iov[i].Base = &f[0]
		}
		iov[i].SetLen(len(f))
		msgs[i].hdr.Name = (*byte)(sa)
		msgs[i].hdr.Namelen = uint32(salen)
		msgs[i].hdr.Iov = &iov[i]
		msgs[i].hdr.SetIovlen(1)
	}
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
