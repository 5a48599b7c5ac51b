package pfsync

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecoderReusesItsMemory parses every golden frame twice in turn
// with one Decoder: each result must equal ParsePacket's, although the
// decoder reuses the same records, and a frame of states, compressed
// updates and deletions must cost no allocation once the decoder has
// grown.
func TestDecoderReusesItsMemory(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden frames: %v", err)
	}
	var d Decoder
	for round := range 2 {
		for _, name := range files {
			b := readHex(t, filepath.Base(name))
			want, wantErr := ParsePacket(b)
			got, gotErr := d.Parse(b)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("round %d, %s: Parse error %v, ParsePacket's %v", round, name, gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round %d, %s: Decoder.Parse differs from ParsePacket (-want +got):\n%s", round, name, diff)
			}
		}
	}
	for _, name := range []string{"ins.hex", "upd_c.hex", "del_c.hex"} {
		b := readHex(t, name)
		if n := testing.AllocsPerRun(100, func() {
			if _, err := d.Parse(b); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per Parse, want 0", name, n)
		}
	}
}
