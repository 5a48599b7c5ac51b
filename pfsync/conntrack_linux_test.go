package pfsync

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"carpfw/internal/ctnat"
	"carpfw/internal/lab"
)

// TestKernelConntrackSkipsOwnWrites: the event socket reports an entry
// another program creates, and not the entries the worker itself writes
// (the states peers send), which it would only decode and discard.
func TestKernelConntrackSkipsOwnWrites(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	h := lab.New(t).Host("ct")
	var k *KernelConntrack
	other := func(port uint16) error {
		c, err := ctnat.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Create(testEntry(port))
	}
	err := h.Do(func() error {
		var err error
		if k, err = OpenKernelConntrack(); err != nil {
			return err
		}
		if errs := k.Write([]Op{{Kind: OpCreate, Entry: testEntry(1001)}}); errs[0] != nil {
			return errs[0]
		}
		return other(1002)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	events, _ := k.Events()
	var got []uint16
	timeout := time.After(2 * time.Second)
	for len(got) < 2 {
		select {
		case m := <-events:
			got = append(got, m.Entry.Orig.SrcPort)
			if m.Entry.Orig.SrcPort == 1002 {
				// The other program's entry came; anything of ours
				// would have come before it.
				timeout = time.After(200 * time.Millisecond)
			}
		case <-timeout:
			if len(got) != 1 || got[0] != 1002 {
				t.Fatalf("events for source ports %v, want only 1002 (1001 is our own write)", got)
			}
			return
		}
	}
	t.Fatalf("events for source ports %v, want only 1002 (1001 is our own write)", got)
}

func testEntry(sport uint16) ctnat.Entry {
	return ctnat.Entry{
		Orig:    ctnat.Tuple{Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr("10.2.0.1"), Proto: unix.IPPROTO_TCP, SrcPort: sport, DstPort: 80},
		Status:  ctnat.StatusSeenReply | ctnat.StatusAssured,
		Timeout: 60,
		TCP:     &ctnat.TCP{State: ctnat.TCPEstablished},
	}
}

// TestSocketDrops reads the drops column of the socket with the given
// inode from a /proc/net/raw table.
func TestSocketDrops(t *testing.T) {
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		" 240: 00000000:00F0 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1234 2 0000000000000000 0\n" +
		" 240: 00000000:00F0 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5678 2 0000000000000000 42\n"
	f := t.TempDir() + "/raw"
	if err := os.WriteFile(f, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	for ino, want := range map[uint64]uint64{1234: 0, 5678: 42, 9: 0} {
		if got := socketDrops(f, ino); got != want {
			t.Errorf("inode %d: %d drops, want %d", ino, got, want)
		}
	}
}
