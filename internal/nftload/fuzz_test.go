package nftload

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/nftables/expr"

	"carpfw/internal/hostinv"
	"carpfw/rules"
)

// consistent checks a program's references: every jump, goto and map
// element names a chain, every look-up a set, every counter reference a
// counter; and the text renders.
func consistent(prog *rules.Program) error {
	chains, sets, counters := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, ch := range prog.Chains {
		if chains[ch.Name] {
			return fmt.Errorf("chain %s twice", ch.Name)
		}
		chains[ch.Name] = true
	}
	for _, s := range prog.Sets {
		sets[s.Name] = true
		for _, e := range s.Elems {
			if e.Goto != "" && !chains[e.Goto] {
				return fmt.Errorf("map %s: no chain %s", s.Name, e.Goto)
			}
		}
	}
	for _, c := range prog.Counters {
		counters[c] = true
	}
	for _, ch := range prog.Chains {
		for _, r := range ch.Rules {
			for _, st := range r.Stmts {
				for _, e := range st.Exprs {
					switch e := e.(type) {
					case *expr.Verdict:
						if e.Chain != "" && !chains[e.Chain] {
							return fmt.Errorf("%s: no chain %s", ch.Name, e.Chain)
						}
					case *expr.Lookup:
						if !sets[e.SetName] {
							return fmt.Errorf("%s: no set %s", ch.Name, e.SetName)
						}
					case *expr.Objref:
						if !counters[e.Name] {
							return fmt.Errorf("%s: no counter %s", ch.Name, e.Name)
						}
					}
				}
			}
		}
	}
	_ = prog.Text()
	return nil
}

func compileQuiet(name string, data []byte) (*rules.Program, error) {
	return Compile(Source{Name: name, Data: data, Inventory: hostinv.OpenBSDRegress(),
		Groups: func(n string) ([]string, bool) {
			ms, ok := goldenGroups[n]
			return ms, ok
		}})
}

// TestCorpusConsistent compiles the parser's corpus (testdata/pf) and
// the golden files: whatever compiles must be self-consistent.
func TestCorpusConsistent(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/pf/*.conf")
	more, _ := filepath.Glob("../../testdata/nft/*.conf")
	for _, f := range append(files, more...) {
		data, _ := os.ReadFile(f)
		prog, err := compileQuiet(filepath.Base(f), data)
		if err != nil {
			t.Logf("%s: %v", filepath.Base(f), err)
			continue
		}
		if err := consistent(prog); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// FuzzCompile: any input the parser accepts compiles without panicking
// into a self-consistent program, or fails with a compile error.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/nft/*.conf")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		prog, err := compileQuiet("pf.conf", data)
		if err != nil {
			return
		}
		if err := consistent(prog); err != nil {
			t.Fatal(err)
		}
	})
}
