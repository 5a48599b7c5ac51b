package hugeheap

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestReserveMarksTheNextHeapGrowth: after Reserve, memory the heap
// hands out lies in a mapping that smaps shows as advised for huge pages
// ("hg" in VmFlags), where the kernel allows the advice.
func TestReserveMarksTheNextHeapGrowth(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages unavailable (%q, %v)", mode, err)
	}
	a := Reserve(32 << 20)
	if a == nil {
		t.Fatal("madvise(MADV_HUGEPAGE) refused")
	}
	// Allocations the size of a bulk transfer's states land in the range.
	keep := make([][]byte, 0, 4096)
	var addr uintptr
	for range 4096 {
		b := make([]byte, 4096)
		keep = append(keep, b)
		if p := uintptr(unsafePointer(b)); addr == 0 && p >= a.start && p < a.start+a.n {
			addr = p
		}
	}
	if addr == 0 {
		t.Fatalf("no allocation of 16 MB after Reserve landed in the advised range %#x-%#x (first at %p)", a.start, a.start+a.n, &keep[0][0])
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	flags, ok := vmFlags(string(smaps), addr)
	if !ok {
		t.Fatalf("no mapping holds %#x", addr)
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("the mapping holding the heap's new memory (%#x) has VmFlags %q, want hg", addr, flags)
	}

	// Withdrawn, the range is advised against huge pages.
	a.End()
	smaps, err = os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	flags, _ = vmFlags(string(smaps), addr)
	if !strings.Contains(" "+flags+" ", " nh ") || strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("after End the mapping has VmFlags %q, want nh and no hg", flags)
	}
	runtime.KeepAlive(keep)
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }

// vmFlags returns the VmFlags line of the smaps mapping holding addr.
func vmFlags(smaps string, addr uintptr) (string, bool) {
	in := false
	for _, l := range strings.Split(smaps, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(f[0], "-"); ok && !strings.HasSuffix(f[0], ":") {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(addr) >= a && uint64(addr) < b
				continue
			}
		}
		if in && f[0] == "VmFlags:" {
			return strings.Join(f[1:], " "), true
		}
	}
	return "", false
}
