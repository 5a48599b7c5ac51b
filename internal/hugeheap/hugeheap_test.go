package hugeheap

import (
	"os"
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
	if !Reserve(32 << 20) {
		t.Fatal("madvise(MADV_HUGEPAGE) refused")
	}
	// Allocations the size of a bulk transfer's states.
	keep := make([][]byte, 0, 4096)
	for range 4096 {
		keep = append(keep, make([]byte, 4096))
	}
	addr := uintptr(unsafePointer(keep[2048]))
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
