package parser

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"carpfw/internal/hostinv"
)

// fuzzSeeds adds our testdata and the statements that exercise the odd
// corners of the lexer.
func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob("../testdata/pf/*.conf")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"pass in all\n",
		"a = \"1 2\"\npass in proto tcp to port { $a }\n",
		"# comment \\\npass\n",
		"pass from 10/8 to ! 1.2.3.4 port 1:2 flags S/SA keep state (max 1)\n",
		"anchor foo {\n pass\n anchor {\n block\n }\n}\n",
		"table <t> { 1.2.3.4 !5.6.7.8 } file \"x\"\n",
		"match out on lo0 nat-to { 1.2.3.4, 5.6.7.8 } source-hash key\n",
		"queue q on lo0 bandwidth 1M default\n",
		"pass \"unterminated\n",
		"pass on $undefined\n",
		"block return-icmp(1, 2) in inet6 proto icmp6 icmp6-type 1 code 2\n",
		"set timeout { tcp.first 1, frag 2 } \nset limit states 1\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzLexer runs the lexer over arbitrary input until the end.
func FuzzLexer(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m := NewMacros()
		m.Set("a", "b c", false)
		l := newLexer("fuzz", data, m, func(string, int, string) {}, func(string) {})
		l.readFile = func(string) ([]byte, error) { return nil, errors.New("no files") }
		for i := 0; i < 4*len(data)+16; i++ {
			if tok := l.Next(); tok.Kind == EOF {
				return
			}
		}
		t.Fatalf("lexer did not reach the end of %d bytes", len(data))
	})
}

// FuzzParse parses and prints arbitrary input; it must never panic.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	inv := hostinv.OpenBSDRegress()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		Check("fuzz", data, Config{
			Inventory: inv,
			Verbose:   2,
			Stdout:    func(string) {},
			Stderr:    func(string) {},
			ReadFile:  func(string) ([]byte, error) { return nil, errors.New("no files") },
		})
	})
}
