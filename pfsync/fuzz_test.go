package pfsync

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParsePacket feeds ParsePacket arbitrary frames, seeded with the
// golden packets. It must never panic, and a frame it accepts must
// marshal, parse back to the same Packet, and marshal to the same bytes.
func FuzzParsePacket(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		f.Add(readHex(f, filepath.Base(name)))
	}
	multi := readHex(f, "multi.hex")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		// A Decoder that has parsed another frame before must give
		// the same result (its memory is reused, never shown).
		var d Decoder
		if _, err := d.Parse(multi); err != nil {
			t.Fatal(err)
		}
		if q, qerr := d.Parse(b); (qerr == nil) != (err == nil) || !reflect.DeepEqual(p, q) {
			t.Fatalf("Decoder.Parse after another frame: %+v, %v; ParsePacket: %+v, %v", q, qerr, p, err)
		}
		if err != nil {
			if p != nil {
				// Sections before the bad one must be valid themselves.
				if _, err := p.MarshalBinary(); err != nil {
					t.Fatalf("sections before an error do not marshal: %v", err)
				}
			}
			return
		}
		out := roundTrip(t, p)
		if len(out) > len(b) {
			t.Fatalf("canonical form longer than the input: %d > %d", len(out), len(b))
		}
		q, _ := ParsePacket(out)
		again, _ := q.MarshalBinary()
		if !bytes.Equal(out, again) {
			t.Fatalf("marshal is not stable:\n%x\n%x", out, again)
		}
	})
}
