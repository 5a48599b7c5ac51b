package pfsync

import (
	"path/filepath"
	"testing"

	"carpfw/internal/ctnat"
)

// FuzzEngineReceive feeds the engine whatever ParsePacket accepts, on
// top of a table with a few known states: it must never panic, every
// conntrack write it asks for must carry an entry ctnetlink can encode,
// and the frames it then sends must parse.
func FuzzEngineReceive(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hex"))
	for _, name := range files {
		f.Add(readHex(f, filepath.Base(name)))
	}
	a := NewEngine(0xa, t0)
	for i := range 3 {
		a.Local(CTNew, conn(uint16(100+i), ctnat.TCPEstablished), t0)
	}
	seed := a.Flush()
	for _, s := range seed {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		g := NewEngine(0xb, t0)
		for i := range 3 {
			g.Local(CTNew, conn(uint16(200+i), ctnat.TCPEstablished), t0)
		}
		for _, s := range seed {
			q, _ := ParsePacket(s)
			g.Receive(q, t0)
		}
		ops, _, bulk := g.Receive(p, t0)
		for _, op := range ops {
			if op.Kind == OpDelete {
				continue
			}
			if _, err := ctnat.Marshal(op.Entry, op.Kind == OpCreate); err != nil {
				t.Fatalf("op %d for %v does not encode: %v", op.Kind, op.Entry.Orig, err)
			}
		}
		if bulk {
			g.StartBulk()
		}
		frames := g.Flush()
		for i := 0; i < 1000 && g.BulkRunning(); i++ {
			frames = append(frames, g.BulkNext(8)...)
		}
		for _, fr := range frames {
			if _, err := ParsePacket(fr); err != nil {
				t.Fatalf("the engine sent a frame that does not parse: %v", err)
			}
		}
	})
}
