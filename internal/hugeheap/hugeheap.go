// Package hugeheap lets a worker's Go heap grow in transparent huge
// pages where the kernel gives them only to memory that asks
// (/sys/kernel/mm/transparent_hugepage/enabled = madvise, the usual
// setting).
//
// A pfsync worker that receives a bulk update grows its heap by some
// 60 MB in a second (100,000 states and their indexes). In 4 KiB pages
// that is about 20,000 page faults, and on a virtual machine whose
// hypervisor fills shadow page tables a fault costs 15 µs or more: a
// third of the receiver's CPU in a bulk transfer. In 2 MiB pages the
// advised growth is some thirty faults (bench/pfsync: 3,000–5,500 for the
// whole receive instead of about 24,000; the rest fall outside the
// advised range).
//
// The Go runtime does not advise huge pages for its heap. Reserve
// allocates one large block, which the runtime maps in the heap's
// arena without touching it, marks its 2 MiB-aligned middle
// MADV_HUGEPAGE, and frees it: the runtime hands out its lowest free
// addresses first, so the heap's next megabytes come from the marked
// range, and the mark stays on it when the runtime returns pages to the
// kernel (MADV_DONTNEED keeps a mapping's flags). Nothing is touched
// before it is used, so the resident size grows only as the heap does,
// in 2 MiB steps. Where the kernel has no huge page to give, or the
// runtime places later memory elsewhere, faults are 4 KiB ones as
// before: the reservation is an optimisation, never a requirement.
//
// A huge page costs one fault but a 2 MiB clear: right for a heap that
// grows by tens of megabytes at once, wrong for one that grows a page
// at a time beside latency-sensitive work. So the advice is meant to be
// held for a burst of growth and withdrawn after it (Advice.End).
package hugeheap

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the x86-64 and arm64 transparent huge page size.
const hugePage = 2 << 20

// Advice is a range of the heap advised for huge pages.
type Advice struct{ start, n uintptr }

// Reserve marks about n bytes of the heap's next growth for huge pages.
// It returns nil if the kernel refused the advice.
func Reserve(n int) *Advice {
	if n < 2*hugePage {
		return nil
	}
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(&b[0]))
	from := int((p+hugePage-1)&^(hugePage-1) - p)
	to := int((p+uintptr(n))&^(hugePage-1) - p)
	err := unix.Madvise(b[from:to], unix.MADV_HUGEPAGE)
	a := &Advice{start: p + uintptr(from), n: uintptr(to - from)}
	runtime.KeepAlive(b)
	b = nil
	runtime.GC() // give the block back before anything else is allocated
	if err != nil {
		return nil
	}
	return a
}

// End withdraws the advice (MADV_NOHUGEPAGE): huge pages already in use
// stay, later growth in the range takes ordinary pages again. A nil
// Advice does nothing.
func (a *Advice) End() {
	if a == nil {
		return
	}
	unix.Syscall(unix.SYS_MADVISE, a.start, a.n, unix.MADV_NOHUGEPAGE)
}
