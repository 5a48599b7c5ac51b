package pfsync

import (
	"bytes"
	"fmt"
	"testing"
)

// TestPackerMatchesPacketEncoder checks the packer's frames against the
// codec: every frame fits the MTU, parses, re-encodes byte for byte with
// Packet.MarshalBinary, and the records come out in the order they went
// in, each LinuxExt record in the frame of its state; a state that does
// not encode is left out without disturbing its neighbours. Frames
// built in recycled ones (dirty, some too small) come out the same.
func TestPackerMatchesPacketEncoder(t *testing.T) {
	t.Run("fresh", func(t *testing.T) { testPacker(t, nil) })
	dirty := [][]byte{make([]byte, 0, 100)}
	for range 8 {
		dirty = append(dirty, bytes.Repeat([]byte{0xaa}, 1480))
	}
	t.Run("recycled", func(t *testing.T) { testPacker(t, &dirty) })
}

func testPacker(t *testing.T, spare *[][]byte) {
	const mtu = 1500 - 20
	type added struct {
		a   Action
		id  uint64
		ext bool
	}
	var want []added
	pk := newPacker(mtu)
	pk.spare = spare
	for i := range 60 {
		id := uint64(i + 1)
		switch i % 6 {
		case 0, 1, 2:
			s := State{ID: id, CreatorID: 7, IfName: "all", AF: AFInet, Proto: 6}
			var x *LinuxExt
			if i%4 == 0 {
				x = &LinuxExt{ID: id, CreatorID: 7, Has: ExtMark, Mark: uint32(i)}
			}
			if i == 13 {
				s.IfName = "an-interface-name-too-long"
				pk.addState(ActionUpd, &s, x)
				continue // left out, with its LinuxExt record
			}
			pk.addState(ActionUpd, &s, x)
			want = append(want, added{ActionUpd, id, x != nil})
		case 3:
			pk.add(ActionDelC, &DelC{ID: id, CreatorID: 7}, nil)
			want = append(want, added{ActionDelC, id, false})
		case 4:
			pk.add(ActionUpdC, &UpdC{ID: id, CreatorID: 7}, nil)
			want = append(want, added{ActionUpdC, id, false})
		case 5:
			pk.add(ActionUpdReq, &UpdReq{ID: id, CreatorID: 7}, nil)
			want = append(want, added{ActionUpdReq, id, false})
		}
	}
	frames := pk.done()
	if len(frames) < 2 {
		t.Fatalf("%d frames, want several", len(frames))
	}
	got := map[Action][]uint64{}
	exts := 0
	for i, f := range frames {
		if len(f) > mtu {
			t.Errorf("frame %d: %d bytes, over the MTU %d", i, len(f), mtu)
		}
		p, err := ParsePacket(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, f) {
			t.Fatalf("frame %d: the codec encodes it differently (%v)\n% x\n% x", i, err, f, again)
		}
		inFrame := map[uint64]bool{}
		for _, s := range p.Sections {
			for _, r := range s.Records {
				switch r := r.(type) {
				case *State:
					got[s.Action] = append(got[s.Action], r.ID)
					inFrame[r.ID] = true
				case *DelC:
					got[s.Action] = append(got[s.Action], r.ID)
				case *UpdC:
					got[s.Action] = append(got[s.Action], r.ID)
				case *UpdReq:
					got[s.Action] = append(got[s.Action], r.ID)
				case *LinuxExt:
					exts++
					if !inFrame[r.ID] {
						t.Errorf("frame %d: LinuxExt of state %d without its state", i, r.ID)
					}
				}
			}
		}
	}
	wantBy := map[Action][]uint64{}
	wantExts := 0
	for _, w := range want {
		wantBy[w.a] = append(wantBy[w.a], w.id)
		if w.ext {
			wantExts++
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(wantBy) || exts != wantExts {
		t.Errorf("records %v (%d LinuxExt), want %v (%d)", got, exts, wantBy, wantExts)
	}
}
