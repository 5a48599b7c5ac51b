package pfsync

import (
	"bytes"
	"testing"
)

// TestFrameSlabReuse: a block comes back to the reader once every frame
// cut from it is released, and not before; the copies hold the frames.
func TestFrameSlabReuse(t *testing.T) {
	f := newFrameSlab()
	frame := bytes.Repeat([]byte{0xab}, 1400)
	perSlab := slabSize / len(frame)
	var first []Inbound
	for range perSlab {
		var in Inbound
		in.Data, in.slab = f.copy(frame)
		first = append(first, in)
	}
	block := first[0].slab
	// The next frame needs a new block; the first still has frames out.
	var in Inbound
	in.Data, in.slab = f.copy(frame)
	if in.slab == block {
		t.Fatal("a block with frames out was reused")
	}
	for _, x := range first {
		if !bytes.Equal(x.Data, frame) {
			t.Fatal("a frame's copy changed before its release")
		}
		x.Release()
	}
	in.Release()
	// Fill the second block: the reader then takes the first back.
	for range perSlab {
		var x Inbound
		x.Data, x.slab = f.copy(frame)
		if x.slab == block {
			return
		}
	}
	t.Fatal("a released block did not come back")
}
