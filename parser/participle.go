package parser

import (
	"io"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Participle token types for our Kinds.
const (
	ttKeyword lexer.TokenType = -(iota + 2)
	ttString
	ttNumber
	ttPunct
	ttNE
	ttLE
	ttGE
	ttPortBin
	ttNL
)

// tokenDef is the lexer.Definition participle sees: the tokens are
// produced by our pfctl-compatible Lexer and replayed from a slice.
type tokenDef struct{}

func (tokenDef) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": lexer.EOF, "Keyword": ttKeyword, "String": ttString,
		"Number": ttNumber, "Punct": ttPunct, "NE": ttNE, "LE": ttLE,
		"GE": ttGE, "PortBin": ttPortBin, "NL": ttNL,
	}
}

func (tokenDef) Lex(string, io.Reader) (lexer.Lexer, error) {
	return &sliceLexer{}, nil
}

// sliceLexer replays a statement's tokens.
type sliceLexer struct {
	toks []lexer.Token
	i    int
	end  lexer.Position
}

func (s *sliceLexer) Next() (lexer.Token, error) {
	if s.i >= len(s.toks) {
		return lexer.Token{Type: lexer.EOF, Pos: s.end}, nil
	}
	t := s.toks[s.i]
	s.i++
	return t, nil
}

func kindType(k Kind) lexer.TokenType {
	switch k {
	case Keyword:
		return ttKeyword
	case String:
		return ttString
	case Number:
		return ttNumber
	case NE:
		return ttNE
	case LE:
		return ttLE
	case GE:
		return ttGE
	case PortBin:
		return ttPortBin
	case NL:
		return ttNL
	}
	return ttPunct
}

var ltPool = sync.Pool{New: func() any { s := make([]lexer.Token, 0, 64); return &s }}

var stmtParser = participle.MustBuild[Statement](
	participle.Lexer(tokenDef{}),
	participle.UseLookahead(4),
)

// parseTokens runs the grammar over one statement. On a syntax error it
// returns the line of the offending token.
// The third result is the index of the offending token (how many tokens
// were accepted before it).
func parseTokens(toks []Token, endLine int, file string) (st *Statement, line, at int, ok bool) {
	defer func() {
		// participle panics on grammar branches that match nothing; treat
		// that, should an input ever reach it, as a syntax error.
		if recover() != nil {
			st, line, at, ok = nil, endLine, len(toks), false
		}
	}()
	lt := ltPool.Get().(*[]lexer.Token)
	defer ltPool.Put(lt)
	*lt = (*lt)[:0]
	for i, t := range toks {
		*lt = append(*lt, lexer.Token{Type: kindType(t.Kind), Value: t.Val,
			Pos: lexer.Position{Filename: t.File, Line: t.Line, Column: i + 1, Offset: i}})
	}
	sl := &sliceLexer{toks: *lt, end: lexer.Position{Filename: file, Line: endLine, Column: len(toks) + 1, Offset: len(toks)}}
	pl, err := lexer.Upgrade(sl)
	if err != nil {
		return nil, endLine, 0, false
	}
	st, err = stmtParser.ParseFromLexer(pl)
	if err != nil {
		line, at = endLine, len(toks)
		if pe, ok := err.(participle.Error); ok {
			if pos := pe.Position(); pos.Line > 0 {
				line, at = pos.Line, pos.Offset
			}
		}
		return nil, line, at, false
	}
	return st, 0, 0, true
}

func mustPeek(toks []Token) *lexer.PeekingLexer {
	lt := make([]lexer.Token, len(toks))
	for i, t := range toks {
		lt[i] = lexer.Token{Type: kindType(t.Kind), Value: t.Val, Pos: lexer.Position{Line: t.Line}}
	}
	pl, _ := lexer.Upgrade(&sliceLexer{toks: lt})
	return pl
}
