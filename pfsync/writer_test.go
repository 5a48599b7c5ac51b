package pfsync

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
)

// scriptCT is a Conntrack whose writes fail as scripted, per call.
type scriptCT struct {
	Conntrack
	calls [][]Op
	errs  [][]error
}

func (s *scriptCT) Write(ops []Op) []error {
	s.calls = append(s.calls, append([]Op(nil), ops...))
	out := make([]error, len(ops))
	if len(s.errs) > 0 {
		copy(out, s.errs[0])
		s.errs = s.errs[1:]
	}
	return out
}

// TestApplyOpsRetries: a create that finds the entry becomes an update,
// an update that misses it a create, an update the kernel refuses with
// EBUSY (a status bit it would clear) is written again without
// SEEN_REPLY and ASSURED, a delete of a missing entry is fine, and any
// other error is reported.
func TestApplyOpsRetries(t *testing.T) {
	e := conn(1, ctnat.TCPEstablished)
	e.Status = ctnat.StatusSeenReply | ctnat.StatusAssured
	boom := errors.New("boom")
	ct := &scriptCT{errs: [][]error{{unix.EEXIST, unix.ENOENT, unix.EBUSY, unix.ENOENT, boom}}}
	ops := []Op{{OpCreate, e}, {OpUpdate, e}, {OpUpdate, e}, {OpDelete, e}, {OpCreate, e}}
	failed := applyOps(ct, ops)
	if len(ct.calls) != 2 {
		t.Fatalf("%d writes, want the batch and one retry", len(ct.calls))
	}
	retry := ct.calls[1]
	if len(retry) != 3 || retry[0].Kind != OpUpdate || retry[1].Kind != OpCreate || retry[2].Kind != OpUpdate {
		t.Fatalf("retry %+v", retry)
	}
	if retry[2].Entry.Status&(ctnat.StatusSeenReply|ctnat.StatusAssured) != 0 {
		t.Errorf("the EBUSY retry still writes status %#x", retry[2].Entry.Status)
	}
	if len(failed) != 1 || !errors.Is(failed[0].err, boom) {
		t.Errorf("failed %+v, want only the boom", failed)
	}
}
