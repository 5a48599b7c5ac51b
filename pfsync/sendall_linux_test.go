package pfsync

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
	"time"

	"carpfw/internal/lab"
)

// TestKernelSendAll: frames sent many per sendmmsg(2) arrive on the peer
// whole, in order and with TTL 255, to the multicast group and to a
// unicast syncpeer.
func TestKernelSendAll(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, peer := range []string{"224.0.0.240", "10.99.0.2"} {
		t.Run(peer, func(t *testing.T) {
			l := lab.New(t)
			a, b := l.Host("a"), l.Host("b")
			l.Link(a, "s0", b, "s0")
			a.AddAddr("s0", "10.99.0.1/24")
			b.AddAddr("s0", "10.99.0.2/24")
			var tx, rx *RawSync
			if err := a.Do(func() (err error) {
				tx, err = OpenRawSync(Config{SyncDev: "s0", Peer: netip.MustParseAddr(peer)})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer tx.Close()
			if err := b.Do(func() (err error) {
				rx, err = OpenRawSync(Config{SyncDev: "s0", Peer: netip.MustParseAddr("224.0.0.240")})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			var frames [][]byte
			for i := range 150 { // more than two batches
				frames = append(frames, bytes.Repeat([]byte{byte(i)}, 100+i*8))
			}
			if n, err := tx.SendAll(frames); n != len(frames) || err != nil {
				t.Fatalf("SendAll: %d sent, %v", n, err)
			}
			for i, want := range frames {
				select {
				case in := <-rx.Inbound():
					if !bytes.Equal(in.Data, want) || in.TTL != TTL {
						t.Fatalf("frame %d: %d bytes of %x, TTL %d; want %d bytes of %x, TTL %d",
							i, len(in.Data), in.Data[:1], in.TTL, len(want), want[:1], TTL)
					}
					in.Release()
				case <-time.After(5 * time.Second):
					t.Fatalf("frame %d of %d did not arrive", i, len(frames))
				}
			}
		})
	}
}
