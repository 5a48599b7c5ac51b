package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// splitArchive reads a txtar-like file: a comment, then "-- name --"
// sections.
func splitArchive(data string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(data, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") {
			name = strings.TrimSuffix(strings.TrimPrefix(t, "-- "), " --")
			out[name] = ""
			continue
		}
		if name != "" {
			out[name] += line
		}
	}
	return out
}

// TestGolden runs testdata/*.txt: section pf.conf is the ruleset, other
// sections (except packets) are files for load anchor, and each line of
// packets is "packet => verdict" or "reset".
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ar := splitArchive(string(data))
			e := load(t, ar["pf.conf"], ar).New(testHost())
			n := 0
			for i, line := range strings.Split(ar["packets"], "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				if line == "reset" {
					e.Reset()
					continue
				}
				p, want, ok := strings.Cut(line, "=>")
				if !ok {
					t.Fatalf("packets line %d: no =>", i+1)
				}
				n++
				if got := e.Eval(pkt(p)).String(); got != strings.TrimSpace(want) {
					t.Errorf("packets line %d %q:\n got %s\nwant %s", i+1, strings.TrimSpace(p), got, strings.TrimSpace(want))
				}
			}
			if n == 0 {
				t.Error("no packets")
			}
		})
	}
}
