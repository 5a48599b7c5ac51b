package parser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lexAll renders the tokens of src one per line, with diagnostics.
func lexAll(src string, macros map[string]string) string {
	m := NewMacros()
	for k, v := range macros {
		m.Set(k, v, false)
	}
	var b strings.Builder
	l := newLexer("t", []byte(src), m, func(f string, line int, msg string) {
		fmt.Fprintf(&b, "%s:%d: %s\n", f, line, msg)
	}, func(string) {})
	names := map[Kind]string{NL: "NL", Keyword: "kw", String: "str", Number: "num",
		Punct: "punct", NE: "ne", LE: "le", GE: "ge", PortBin: "bin", Error: "ERROR"}
	for i := 0; i < 1000; i++ {
		t := l.Next()
		if t.Kind == EOF {
			break
		}
		if t.Kind == NL {
			fmt.Fprintf(&b, "%d NL\n", t.Line)
			continue
		}
		fmt.Fprintf(&b, "%d %s %q\n", t.Line, names[t.Kind], t.Val)
	}
	return b.String()
}

func TestLexer(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		macros    map[string]string
		want      string
	}{
		{"ok, keywords strings and numbers", "pass in from 10/8 port 0x10\n",
			nil, "1 kw \"pass\"\n1 kw \"in\"\n1 kw \"from\"\n1 num \"10\"\n1 punct \"/\"\n1 num \"8\"\n1 kw \"port\"\n1 str \"0x10\"\n1 NL\n2 NL\n"},
		{"ok, operators", "!= <= >= <> >< ! <\n",
			nil, "1 ne \"!=\"\n1 le \"<=\"\n1 ge \">=\"\n1 bin \"<>\"\n1 bin \"><\"\n1 punct \"!\"\n1 punct \"<\"\n1 NL\n2 NL\n"},
		{"ok, line continuation joins lines", "pass \\\n in\n",
			nil, "1 kw \"pass\"\n2 kw \"in\"\n2 NL\n3 NL\n"},
		{"ok, comment ending in a backslash swallows the next line", "# x \\\npass\nblock\n",
			nil, "2 NL\n3 kw \"block\"\n3 NL\n4 NL\n"},
		{"ok, macro expanded where used", "pass on $if\n",
			map[string]string{"if": "{ em0 em1 }"}, "1 kw \"pass\"\n1 kw \"on\"\n1 punct \"{\"\n1 str \"em0\"\n1 str \"em1\"\n1 punct \"}\"\n1 NL\n2 NL\n"},
		{"ok, no expansion inside quotes", "label \"$nr:$if\"\n",
			nil, "1 kw \"label\"\n1 str \"$nr:$if\"\n1 NL\n2 NL\n"},
		{"ok, no re-expansion of a macro's text", "x $a\n",
			map[string]string{"a": "$b"}, "1 str \"x\"\n1 punct \"$\"\n1 str \"b\"\n1 NL\n2 NL\n"},
		{"ok, missing final newline is supplied", "pass",
			nil, "1 kw \"pass\"\n1 NL\n"},
		{"bad, undefined macro skips the line", "pass on $nope in\nblock\n",
			nil, "1 kw \"pass\"\n1 kw \"on\"\nt:1: macro 'nope' not defined\n1 ERROR \"\"\n2 kw \"block\"\n2 NL\n3 NL\n"},
		{"bad, number out of range", "port 99999999999999999999\n",
			nil, "1 kw \"port\"\nt:1: \"99999999999999999999\" invalid number: too large\n1 ERROR \"\"\n2 NL\n"},
		{"bad, unterminated quote", "label \"abc\n",
			nil, "1 kw \"label\"\nt:1: reached end of file while parsing quoted string\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, lexAll(tc.src, tc.macros)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}
