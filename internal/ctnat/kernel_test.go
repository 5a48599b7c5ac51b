package ctnat

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"carpfw/internal/lab"
)

// TestKernelBatchAndNAT writes a batch into a fresh namespace's table:
// a translated entry (the kernel computes the reply tuple), a plain one,
// a duplicate (EEXIST for that op only) and an update of a missing entry
// (ENOENT).
func TestKernelBatchAndNAT(t *testing.T) {
	l := lab.New(t)
	h := l.Host("fw")
	natHook(t, h)
	c, s, n := netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.1")
	nat := Entry{
		Orig:    Tuple{Src: c, Dst: s, Proto: unix.IPPROTO_TCP, SrcPort: 40000, DstPort: 80},
		Status:  StatusSeenReply | StatusAssured,
		Timeout: 300,
		TCP:     &TCP{State: TCPEstablished, WScaleOrig: 7, WScaleReply: 7, FlagsOrig: 3, FlagsReply: 3, MaskOrig: 3, MaskReply: 3},
		SNAT:    &NAT{Addr: n, Port: 1024},
	}
	plain := nat
	plain.Orig.SrcPort, plain.SNAT = 40001, nil
	missing := plain
	missing.Orig.SrcPort = 40002
	var errs []error
	err := h.Do(func() error {
		ct, err := Dial()
		if err != nil {
			return err
		}
		defer ct.Close()
		// Only the last request of a sendmsg asks for an
		// acknowledgement: errors before it and on it must still
		// reach their ops.
		errs = ct.Do([]Op{{OpCreate, nat}, {OpCreate, plain}, {OpCreate, plain}, {OpUpdate, missing}, {OpUpdate, plain}, {OpUpdate, missing}})
		// Several sendmsgs (64 KiB each): every op answered.
		var many []Op
		for i := range 2000 {
			e := plain
			e.Orig.Src = netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})
			many = append(many, Op{OpCreate, e})
		}
		for i, err := range ct.Do(many) {
			if err != nil {
				return fmt.Errorf("create %d of 2000: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, nil, unix.EEXIST, unix.ENOENT, nil, unix.ENOENT} {
		if !errors.Is(errs[i], want) && !(want == nil && errs[i] == nil) {
			t.Errorf("op %d: %v, want %v", i, errs[i], want)
		}
	}
	if n := strings.Count(h.MustRun("conntrack", "-L", "-p", "tcp", "-s", "10.9.0.0/16"), "ESTABLISHED"); n != 2000 {
		t.Errorf("%d entries from the 2000 creates", n)
	}
	out := h.MustRun("conntrack", "-L", "-p", "tcp", "-s", "10.1.0.10")
	if !strings.Contains(out, "sport=40000 dport=80 src=192.0.2.10 dst=198.51.100.1 sport=80 dport=1024") {
		t.Errorf("translated entry not as expected:\n%s", out)
	}
	if !strings.Contains(out, "sport=40001 dport=80 src=192.0.2.10 dst=10.1.0.10 sport=80 dport=40001") || !strings.Contains(out, "ESTABLISHED") {
		t.Errorf("plain entry not as expected:\n%s", out)
	}
	t.Logf("%s", out)
}

// TestKernelKeepsBeLiberal: the per-direction flags pfsync writes on a
// received TCP state (SACK_PERM|BE_LIBERAL, pfsync.ImportTCP) are what
// the kernel reads back, so its window checks are the liberal ones.
func TestKernelKeepsBeLiberal(t *testing.T) {
	l := lab.New(t)
	h := l.Host("fw")
	c, s := netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("192.0.2.10")
	const flags = TCPFlagSackPerm | TCPFlagBeLiberal
	e := Entry{
		Orig:    Tuple{Src: c, Dst: s, Proto: unix.IPPROTO_TCP, SrcPort: 40000, DstPort: 80},
		Status:  StatusSeenReply,
		Timeout: 300,
		TCP:     &TCP{State: TCPEstablished, FlagsOrig: flags, FlagsReply: flags, MaskOrig: flags, MaskReply: flags},
	}
	e.Reply = e.Orig.Invert()
	var got []Entry
	err := h.Do(func() error {
		ct, err := Dial()
		if err != nil {
			return err
		}
		defer ct.Close()
		if err := ct.Create(e); err != nil {
			return err
		}
		got, err = libraryDump()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].TCP == nil {
		t.Fatalf("dump: %+v", got)
	}
	if tcp := got[0].TCP; tcp.FlagsOrig&TCPFlagBeLiberal == 0 || tcp.FlagsReply&TCPFlagBeLiberal == 0 {
		t.Errorf("flags read back %#x/%#x, want BE_LIBERAL (%#x) in both", tcp.FlagsOrig, tcp.FlagsReply, TCPFlagBeLiberal)
	}
}

// TestKernelDumpMatchesLibrary: Conn.Dump reads the same entries as
// github.com/ti-mo/conntrack's dump decoded by FromFlow, both families,
// translated ones too, over several netlink reads (3,000 entries).
func TestKernelDumpMatchesLibrary(t *testing.T) {
	l := lab.New(t)
	h := l.Host("fw")
	natHook(t, h)
	base := Entry{
		Orig:    Tuple{Src: netip.MustParseAddr("10.1.0.10"), Dst: netip.MustParseAddr("192.0.2.10"), Proto: unix.IPPROTO_TCP, SrcPort: 40000, DstPort: 80},
		Status:  StatusSeenReply | StatusAssured,
		Timeout: 300,
		TCP:     &TCP{State: TCPEstablished, WScaleOrig: 7, WScaleReply: 7, FlagsOrig: 3, FlagsReply: 3, MaskOrig: 3, MaskReply: 3},
	}
	var ops []Op
	for i := range 3000 {
		e := base
		e.Orig.SrcPort = uint16(20000 + i)
		switch i % 3 {
		case 1:
			e.SNAT = &NAT{Addr: netip.MustParseAddr("198.51.100.1"), Port: uint16(1024 + i)}
		case 2:
			e.Orig.Src, e.Orig.Dst = netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("2001:db8:1::10")
			e.Mark = uint32(i)
		}
		ops = append(ops, Op{OpCreate, e})
	}
	var ours, lib []Entry
	err := h.Do(func() error {
		ct, err := Dial()
		if err != nil {
			return err
		}
		defer ct.Close()
		for i, err := range ct.Do(ops) {
			if err != nil {
				return fmt.Errorf("create %d: %w", i, err)
			}
		}
		d, err := Dial()
		if err != nil {
			return err
		}
		defer d.Close()
		if ours, err = d.Dump(); err != nil {
			return err
		}
		lib, err = libraryDump()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	norm := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			e.Timeout = 0 // the two dumps are a moment apart
			tcp, snat, dnat := e.TCP, e.SNAT, e.DNAT
			e.TCP, e.SNAT, e.DNAT = nil, nil, nil
			out = append(out, fmt.Sprintf("%+v tcp=%+v snat=%+v dnat=%+v", e, tcp, snat, dnat))
		}
		slices.Sort(out)
		return out
	}
	if len(ours) < 3000 {
		t.Fatalf("Dump read %d entries, want at least 3000", len(ours))
	}
	if d := cmp.Diff(norm(lib), norm(ours)); d != "" {
		t.Errorf("Dump differs from the library's (-library +ours):\n%s", d)
	}
}

// natHook adds a NAT hook to h: CTA_NAT_SRC is accepted only with one.
func natHook(t *testing.T, h *lab.Host) {
	t.Helper()
	if out, err := h.Run("sh", "-c", "nft -f - <<'EOF'\ntable ip n {\n chain p {\n  type nat hook postrouting priority 100;\n }\n}\nEOF"); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
}

// libraryDump reads the caller's table through github.com/ti-mo/conntrack,
// each flow converted by FromFlow: the reference for Dump.
func libraryDump() ([]Entry, error) {
	tc, err := conntrack.Dial(nil)
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	flows, err := tc.Dump(nil)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(flows))
	for i := range flows {
		out = append(out, FromFlow(&flows[i]))
	}
	return out, nil
}
