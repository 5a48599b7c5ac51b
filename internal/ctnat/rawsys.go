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
