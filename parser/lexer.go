package parser

import (
	"fmt"
	"strconv"
)

const (
	eof         = -1
	startExpand = 1 // marks where a macro's text begins (START_EXPAND)
	doneExpand  = 2 // and ends (DONE_EXPAND)
	bufSize     = 8096
)

// srcFile is one file on the include stack (struct file in parse.y).
type srcFile struct {
	name       string
	data       []byte
	pos        int
	unget      []int
	eofReached bool
	lineno     int
}

// Lexer is pfctl's yylex: it reads bytes through lgetc (which joins
// continued lines), expands $macros by pushing their text back onto the
// input, and returns tokens.
type Lexer struct {
	files     []*srcFile
	expanding bool
	tokLine   int // yylval.lineno
	macros    *Macros
	errf      func(file string, line int, msg string)
	stderr    func(msg string)
	readFile  func(string) ([]byte, error)
	buf       []byte
}

// Macros is the macro table (symset/symget); definitions made on the
// command line with -D persist and are not overridden by the file.
type Macros struct {
	names   []string
	vals    map[string]string
	persist map[string]bool
}

// NewMacros returns an empty table.
func NewMacros() *Macros {
	return &Macros{vals: map[string]string{}, persist: map[string]bool{}}
}

// Set defines a macro; persistent ones win over later file definitions.
func (m *Macros) Set(name, val string, persist bool) {
	if m.persist[name] {
		return
	}
	if _, ok := m.vals[name]; !ok {
		m.names = append(m.names, name)
	}
	m.vals[name] = val
	if persist {
		m.persist[name] = true
	}
}

// Get returns a macro's value.
func (m *Macros) Get(name string) (string, bool) {
	v, ok := m.vals[name]
	return v, ok
}

func newLexer(name string, data []byte, macros *Macros, errf func(string, int, string), stderr func(string)) *Lexer {
	return &Lexer{
		files:  []*srcFile{{name: name, data: data, lineno: 1}},
		macros: macros,
		errf:   errf,
		stderr: stderr,
	}
}

func (l *Lexer) cur() *srcFile { return l.files[len(l.files)-1] }

// pushFile starts reading an included file (pushfile); its first token is
// a newline, as pfctl's include action pushes one back.
func (l *Lexer) pushFile(name string) error {
	if len(l.files) >= maxFiles {
		return fmt.Errorf("%s: too many levels of include", name)
	}
	data, err := l.readFile(name)
	if err != nil {
		return err
	}
	f := &srcFile{name: name, data: data, lineno: 0}
	f.unget = append(f.unget, '\n')
	l.files = append(l.files, f)
	return nil
}

func (l *Lexer) popFile() bool {
	if len(l.files) <= 1 {
		return false
	}
	l.files = l.files[:len(l.files)-1]
	return true
}

func (l *Lexer) igetc() int {
	f := l.cur()
	for {
		var c int
		if n := len(f.unget); n > 0 {
			c = f.unget[n-1]
			f.unget = f.unget[:n-1]
		} else if f.pos < len(f.data) {
			c = int(f.data[f.pos])
			f.pos++
		} else {
			c = eof
		}
		switch c {
		case startExpand:
			l.expanding = true
		case doneExpand:
			l.expanding = false
		default:
			return c
		}
	}
}

func (l *Lexer) lgetc(quotec int) int {
	if quotec != 0 {
		c := l.igetc()
		if c == eof {
			l.yyerror("reached end of file while parsing quoted string")
			if !l.popFile() {
				return eof
			}
			return quotec
		}
		return c
	}
	c := l.igetc()
	for c == '\\' {
		next := l.igetc()
		if next != '\n' {
			c = next
			break
		}
		l.tokLine = l.cur().lineno
		l.cur().lineno++
		c = l.igetc()
	}
	if c == eof {
		f := l.cur()
		if !f.eofReached {
			f.eofReached = true
			return '\n'
		}
		for c == eof {
			if !l.popFile() {
				return eof
			}
			c = l.igetc()
		}
	}
	return c
}

func (l *Lexer) lungetc(c int) {
	if c == eof {
		return
	}
	f := l.cur()
	f.unget = append(f.unget, c)
}

func (l *Lexer) yyerror(msg string) {
	l.errf(l.cur().name, l.tokLine, msg)
}

// findeol skips to the end of the line after a lexer error.
func (l *Lexer) findeol() Token {
	line := l.tokLine
	for {
		c := l.lgetc(0)
		if c == '\n' {
			l.cur().lineno++
			break
		}
		if c == eof {
			break
		}
	}
	return Token{Kind: Error, Line: line, File: l.cur().name}
}

func isAlnum(c int) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDigit(c int) bool { return c >= '0' && c <= '9' }

func isSpace(c int) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isPunct(c int) bool { return c > 32 && c < 127 && !isAlnum(c) }

func allowedToEndNumber(c int) bool {
	return isSpace(c) || c == ')' || c == ',' || c == '/' || c == '}' || c == '='
}

func allowedInString(c int) bool {
	return isAlnum(c) || (isPunct(c) && c != '(' && c != ')' && c != '{' && c != '}' &&
		c != '<' && c != '>' && c != '!' && c != '=' && c != '/' && c != '#' && c != ',')
}

// Next returns the next token.
func (l *Lexer) Next() Token {
	if l.buf == nil {
		l.buf = make([]byte, 0, 256)
	}
	buf := l.buf
	defer func() { l.buf = buf[:0] }()
top:
	buf = buf[:0]
	c := l.lgetc(0)
	for c == ' ' || c == '\t' {
		c = l.lgetc(0)
	}
	l.tokLine = l.cur().lineno
	file := l.cur().name
	line := l.tokLine
	tok := func(k Kind, v string) Token { return Token{Kind: k, Val: v, Line: line, File: file} }
	if c == '#' {
		for c != '\n' && c != eof {
			c = l.lgetc(0)
		}
	}
	if c == '$' && !l.expanding {
		for {
			c = l.lgetc(0)
			if c == eof {
				return tok(EOF, "")
			}
			if len(buf)+1 >= bufSize-1 {
				l.yyerror("string too long")
				return l.findeol()
			}
			if isAlnum(c) || c == '_' {
				buf = append(buf, byte(c))
				continue
			}
			l.lungetc(c)
			break
		}
		val, ok := l.macros.Get(string(buf))
		if !ok {
			l.yyerror(fmt.Sprintf("macro '%s' not defined", buf))
			return l.findeol()
		}
		l.lungetc(doneExpand)
		for i := len(val) - 1; i >= 0; i-- {
			l.lungetc(int(val[i]))
		}
		l.lungetc(startExpand)
		goto top
	}
	switch c {
	case '\'', '"':
		quotec := c
		for {
			c = l.lgetc(quotec)
			if c == eof {
				return tok(EOF, "")
			}
			if c == '\n' {
				l.cur().lineno++
				continue
			} else if c == '\\' {
				next := l.lgetc(quotec)
				if next == eof {
					return tok(EOF, "")
				}
				if next == quotec || next == ' ' || next == '\t' {
					c = next
				} else if next == '\n' {
					l.cur().lineno++
					continue
				} else {
					l.lungetc(next)
				}
			} else if c == quotec {
				break
			} else if c == 0 {
				l.yyerror("syntax error")
				return l.findeol()
			}
			if len(buf)+1 >= bufSize-1 {
				l.yyerror("string too long")
				return l.findeol()
			}
			buf = append(buf, byte(c))
		}
		t := tok(String, string(buf))
		t.Quoted = true
		return t
	case '!':
		next := l.lgetc(0)
		if next == '=' {
			return tok(NE, "!=")
		}
		l.lungetc(next)
	case '<':
		next := l.lgetc(0)
		if next == '>' {
			return tok(PortBin, "<>")
		} else if next == '=' {
			return tok(LE, "<=")
		}
		l.lungetc(next)
	case '>':
		next := l.lgetc(0)
		if next == '<' {
			return tok(PortBin, "><")
		} else if next == '=' {
			return tok(GE, ">=")
		}
		l.lungetc(next)
	}
	if c == '-' || isDigit(c) {
		for {
			buf = append(buf, byte(c))
			if len(buf) >= bufSize {
				l.yyerror("string too long")
				return l.findeol()
			}
			c = l.lgetc(0)
			if c == eof || !isDigit(c) {
				break
			}
		}
		l.lungetc(c)
		nodigits := len(buf) == 1 && buf[0] == '-'
		if !nodigits && (c == eof || allowedToEndNumber(c)) {
			n, err := strconv.ParseInt(string(buf), 10, 64)
			if err != nil {
				why := "too large"
				if buf[0] == '-' {
					why = "too small"
				}
				l.yyerror(fmt.Sprintf("\"%s\" invalid number: %s", buf, why))
				return l.findeol()
			}
			t := tok(Number, string(buf))
			t.Num = n
			return t
		}
		for len(buf) > 1 {
			l.lungetc(int(buf[len(buf)-1]))
			buf = buf[:len(buf)-1]
		}
		c = int(buf[0])
		buf = buf[:0]
		if c == '-' {
			return tok(Punct, "-")
		}
	}
	if isAlnum(c) || c == ':' || c == '_' {
		for {
			buf = append(buf, byte(c))
			if len(buf) >= bufSize {
				l.yyerror("string too long")
				return l.findeol()
			}
			c = l.lgetc(0)
			if c == eof || !allowedInString(c) {
				break
			}
		}
		l.lungetc(c)
		s := string(buf)
		if keywords[s] {
			return tok(Keyword, s)
		}
		return tok(String, s)
	}
	if c == '\n' {
		l.tokLine = l.cur().lineno
		l.cur().lineno++
		return Token{Kind: NL, Val: "\n", Line: l.tokLine, File: file}
	}
	if c == eof {
		return tok(EOF, "")
	}
	return tok(Punct, string(rune(c)))
}
