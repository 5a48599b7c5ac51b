// Package hostnameif reads hostname.if(5) files (/etc/hostname.carp0,
// /etc/hostname.pfsync0) the way OpenBSD's netstart(8) does, and turns each
// line into the ifconfig(8) words, or the shell command, it stands for.
//
// netstart's rules (etc/netstart, ifcreate/ifstart; carp.md §7.2): blank
// lines and comments are skipped; the first word decides:
//
//	inet [alias] addr [mask [bcast]]  mask → "netmask mask"; bcast →
//	                                  "broadcast bcast", dropped if it ends in NONE
//	inet6 [alias] addr [len]          len → "prefixlen len"
//	dest addr                         appended after the previous line's address
//	dhcp                              "inet autoconf"
//	!command                          a shell command, $if replaced by the interface
//	anything else                     ifconfig words as they are
//
// The rewrite is positional, as in netstart: "inet 10.0.0.1/24 vhid 1"
// makes "vhid" a netmask, and fails the same way it fails on OpenBSD.
// Words are split as the shell splits them when netstart evals the line:
// "..." and '...' quote, and a word starting with # starts a comment.
package hostnameif

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Line is one effective line of a hostname.if file: either ifconfig
// words or a shell command.
type Line struct {
	N     int      // line number, from 1
	Words []string // ifconfig arguments after the interface name
	Shell string   // for "!command" lines, with $if replaced
}

// Error is a problem at a line of a file, printed "file:line: message".
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// words is the participle grammar of one line: shell-like words.
type words struct {
	Words []string `parser:"@Word*"`
}

var lineLexer = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `#[^\n]*`},
	{Name: "Word", Pattern: `(?:[^\s"'#][^\s"']*|"(?:\\.|[^"\\])*"|'[^']*')(?:[^\s"']+|"(?:\\.|[^"\\])*"|'[^']*')*`},
	{Name: "Whitespace", Pattern: `[ \t\r\f\v]+`},
})

var lineParser = participle.MustBuild[words](
	participle.Lexer(lineLexer),
	participle.Elide("Whitespace", "Comment"),
)

// maxLineLen bounds one line, as a guard against binary files.
const maxLineLen = 64 << 10

// Parse reads a hostname.if file for interface ifname. name is used in
// error messages. Every line is checked; all errors are returned together.
func Parse(name, ifname string, r io.Reader) ([]Line, []error) {
	var lines []Line
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLineLen)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if cmd, ok := strings.CutPrefix(text, "!"); ok {
			lines = append(lines, Line{N: n, Shell: strings.ReplaceAll(cmd, "$if", ifname)})
			continue
		}
		w, err := splitWords(text)
		if err != nil {
			errs = append(errs, &Error{name, n, err.Error()})
			continue
		}
		if len(w) == 0 {
			continue
		}
		if w[0] == "dest" {
			if len(w) != 2 || len(lines) == 0 || !isAddrLine(lines[len(lines)-1].Words) {
				errs = append(errs, &Error{name, n, "dest: needs one address and a previous address line"})
				continue
			}
			prev := &lines[len(lines)-1]
			prev.Words = insertAfterAddress(prev.Words, w[1])
			continue
		}
		w, err = rewrite(w)
		if err != nil {
			errs = append(errs, &Error{name, n, err.Error()})
			continue
		}
		lines = append(lines, Line{N: n, Words: w})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return lines, errs
}

// splitWords splits a line into shell words, removing quotes.
func splitWords(text string) ([]string, error) {
	g, err := lineParser.ParseString("", text)
	if err != nil {
		return nil, fmt.Errorf("unbalanced quotes")
	}
	out := make([]string, len(g.Words))
	for i, w := range g.Words {
		out[i] = unquote(w)
	}
	return out, nil
}

// unquote removes shell quoting from one word: '...' is literal, "..."
// keeps backslash escapes of " and \.
func unquote(w string) string {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '\'':
			j := strings.IndexByte(w[i+1:], '\'')
			b.WriteString(w[i+1 : i+1+j])
			i += j + 1
		case '"':
			for i++; i < len(w) && w[i] != '"'; i++ {
				if w[i] == '\\' && i+1 < len(w) && (w[i+1] == '"' || w[i+1] == '\\') {
					i++
				}
				b.WriteByte(w[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// rewrite applies netstart's positional rules to the words of one line.
func rewrite(w []string) ([]string, error) {
	switch w[0] {
	case "dhcp":
		return []string{"inet", "autoconf"}, nil
	case "inet", "inet6":
		if len(w) < 2 {
			return nil, fmt.Errorf("%s: address expected", w[0])
		}
		if w[1] == "autoconf" {
			return w, nil
		}
	default:
		return w, nil
	}
	addr := 1
	if w[1] == "alias" {
		addr = 2
	}
	out := append([]string(nil), w[:min(addr+1, len(w))]...)
	rest := w[min(addr+1, len(w)):]
	if w[0] == "inet6" {
		if len(rest) > 0 {
			out = append(out, "prefixlen", rest[0])
			rest = rest[1:]
		}
		return append(out, rest...), nil
	}
	if len(rest) > 0 {
		out = append(out, "netmask", rest[0])
		rest = rest[1:]
	}
	if len(rest) > 0 {
		if !strings.HasSuffix(rest[0], "NONE") {
			out = append(out, "broadcast", rest[0])
		}
		rest = rest[1:]
	}
	return append(out, rest...), nil
}

func insertAfterAddress(w []string, dest string) []string {
	i := 1
	if len(w) > 1 && w[1] == "alias" {
		i = 2
	}
	if i >= len(w) {
		return append(w, dest)
	}
	out := append([]string(nil), w[:i+1]...)
	out = append(out, dest)
	return append(out, w[i+1:]...)
}

func isAddrLine(w []string) bool { return len(w) > 1 && (w[0] == "inet" || w[0] == "inet6") }
