package parser

import (
	"os"
	"testing"
)

func TestDebugParse(t *testing.T) {
	src := os.Getenv("PFDEBUG")
	if src == "" {
		t.Skip()
	}
	l := newLexer("x", []byte(src+"\n"), NewMacros(), func(f string, l int, m string) { t.Log(m) }, func(s string) {})
	var toks []Token
	for {
		tk := l.Next()
		if tk.Kind == EOF || tk.Kind == NL {
			break
		}
		toks = append(toks, tk)
	}
	for _, tk := range toks {
		t.Logf("%d %q", tk.Kind, tk.Val)
	}
	_, err := stmtParser.ParseFromLexer(mustPeek(toks))
	t.Log(err)
}
