package parser

import (
	"fmt"
	"os"
	"strings"

	"carpfw/internal/hostinv"
	"carpfw/rules"
)

// Config is what a parse needs from its caller.
type Config struct {
	// Inventory answers host look-ups; nil means hostinv.FromEnv().
	Inventory hostinv.Inventory
	// Verbose is pfctl's -v count: 1 prints macros, options and tables as
	// they are parsed, 2 also numbers rules.
	Verbose int
	// Defines are -D macro=value definitions; they override the file.
	Defines []string
	// Stdout receives printed text; Stderr receives diagnostics, each
	// already terminated by a newline. Both are called in emission order.
	Stdout func(string)
	Stderr func(string)
	// Anchor is the anchor path the file is loaded into ("" for main).
	Anchor string
	// ReadFile reads include files, table files and load anchor files;
	// nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
}

// maxExpansion caps the rules one statement may expand to; pfctl has no
// such limit, but a few lists can otherwise ask for billions of rules.
const maxExpansion = 1 << 20

// maxMacro caps the length of a macro's value.
const maxMacro = 1 << 20

// maxFiles caps nested includes (pfctl recurses until it runs out of
// file descriptors).
const maxFiles = 64

// LoadAnchor is a load anchor statement, handled after the main ruleset.
type LoadAnchor struct {
	Anchor, File string
}

// Result is a parsed ruleset.
type Result struct {
	Rules       *rules.Ruleset
	Queues      []*rules.Queue
	Tables      []*rules.Table
	LoadAnchors []LoadAnchor
	Errors      int
}

// parser is the state of one parse (struct pfctl and parse.y's globals).
type parser struct {
	cfg         Config
	inv         hostinv.Inventory
	lex         *Lexer
	errors      int
	res         *Result
	cur         *rules.Ruleset
	depth       int
	braceN      int
	blockPolicy int
	tableNum    *int
	errFlag     int // yacc's yyerrflag: no syntax error messages while > 0
	expandBase  int // errors before the first expansion of a statement, -1 if none
	tokBuf      []Token
	stateDefs   []*StateOpt
	stateDefSet bool
	defaultLock uint32
	reassemble  bool
	queueNames  map[string]bool
}

// Parse reads a pf.conf from data; name is used in messages ("stdin" for
// standard input). Macros, options and tables are printed through
// cfg.Stdout as they are parsed when cfg.Verbose is set, and diagnostics
// through cfg.Stderr. Rules are returned, not printed.
func Parse(name string, data []byte, cfg Config) *Result {
	return parse(name, data, cfg, newShared())
}

// shared is the state that load anchor files share with the main file:
// automatic table numbers and the queue names.
type shared struct {
	tableNum   int
	queueNames map[string]bool
}

func newShared() *shared { return &shared{queueNames: map[string]bool{}} }

func parse(name string, data []byte, cfg Config, sh *shared) *Result {
	if cfg.Inventory == nil {
		cfg.Inventory = hostinv.FromEnv()
	}
	if cfg.Stdout == nil {
		cfg.Stdout = func(string) {}
	}
	if cfg.Stderr == nil {
		cfg.Stderr = func(string) {}
	}
	if cfg.ReadFile == nil {
		cfg.ReadFile = os.ReadFile
	}
	p := &parser{cfg: cfg, inv: cfg.Inventory, res: &Result{Rules: &rules.Ruleset{}},
		tableNum: &sh.tableNum, queueNames: sh.queueNames, reassemble: true}
	p.cur = p.res.Rules
	macros := NewMacros()
	for _, d := range cfg.Defines {
		if i := strings.LastIndexByte(d, '='); i >= 0 {
			macros.Set(d[:i], d[i+1:], true)
		}
	}
	p.lex = newLexer(name, data, macros, func(file string, line int, msg string) {
		p.errorAt(file, line, msg)
	}, p.stderr)
	p.lex.readFile = cfg.ReadFile
	p.run()
	p.res.Errors = p.errors
	return p.res
}

func (p *parser) stdout(s string) { p.cfg.Stdout(s) }
func (p *parser) stderr(s string) { p.cfg.Stderr(s) }

func (p *parser) verbose() bool { return p.cfg.Verbose > 0 }

// errorAt is yyerror: "file:line: message" and one more error.
func (p *parser) errorAt(file string, line int, msg string) {
	p.errors++
	p.stderr(fmt.Sprintf("%s:%d: %s\n", file, line, msg))
}

// stmt is one statement's tokens and the line its newline was on.
type stmt struct {
	toks    []Token
	endLine int
	file    string
}

// next collects the tokens of the next statement: up to a newline outside
// braces. ok is false at the end of input.
func (p *parser) next() (s stmt, ok bool) {
	depth := 0
	s.toks = p.tokBuf[:0]
	defer func() { p.tokBuf = s.toks[:0] }()
	for {
		t := p.lex.Next()
		switch t.Kind {
		case EOF:
			s.endLine = p.lex.tokLine
			s.file = p.lex.cur().name
			return s, len(s.toks) > 0
		case Error:
			// pfctl: the lexer skipped the rest of the line, the
			// parser reports a syntax error and then discards
			// tokens up to the next newline.
			p.syntaxError(t.File, t.Line, len(s.toks))
			for {
				u := p.lex.Next()
				if u.Kind == NL || u.Kind == EOF {
					break
				}
			}
			p.shift(1)
			s = stmt{toks: s.toks[:0]}
			depth = 0
			continue
		case NL:
			if depth == 0 {
				s.endLine = t.Line
				s.file = t.File
				return s, true
			}
		case Punct:
			switch t.Val {
			case "{":
				depth++
			case "}":
				if depth > 0 {
					depth--
				}
			}
		}
		s.toks = append(s.toks, t)
	}
}

func (p *parser) run() {
	for {
		s, ok := p.next()
		if !ok {
			return
		}
		if len(s.toks) > 0 {
			p.statement(s, true)
		}
		p.shift(1) // the newline
	}
}

// shift counts tokens the yacc parser would have shifted; three shifts
// after an error end its error recovery.
func (p *parser) shift(n int) {
	p.errFlag = max(0, p.errFlag-n)
}

// syntaxError reports a syntax error found after shifted tokens of the
// statement, unless yacc is still recovering from the previous error.
func (p *parser) syntaxError(file string, line, shifted int) {
	if p.errFlag <= shifted {
		p.errorAt(file, line, "syntax error")
	} else {
		p.errors++
	}
	p.errFlag = 3
}

// listOpeners are the tokens after which "{" opens a list, not an
// anchor's inline rules.
var listOpeners = map[string]bool{
	"on": true, "proto": true, "from": true, "to": true, "port": true,
	"user": true, "group": true, "icmp-type": true, "icmp6-type": true,
	"os": true, ",": true, "{": true, "nat-to": true, "rdr-to": true,
	"binat-to": true, "route-to": true, "reply-to": true, "dup-to": true,
	"!": true,
}

func dropNL(toks []Token) []Token {
	hasNL := false
	for _, t := range toks {
		if t.Kind == NL {
			hasNL = true
			break
		}
	}
	if !hasNL {
		return toks
	}
	out := make([]Token, 0, len(toks))
	for _, t := range toks {
		if t.Kind != NL {
			out = append(out, t)
		}
	}
	return out
}

// statement parses and applies one statement. top is false inside an
// anchor's braces, where only tables, rules, anchors and includes may
// appear (pfa_anchorlist).
func (p *parser) statement(s stmt, top bool) {
	toks := s.toks
	if toks[0].Kind == Keyword && toks[0].Val == "anchor" {
		depth := 0
		for i, t := range toks {
			if t.Kind != Punct {
				continue
			}
			if t.Val == "}" && depth > 0 {
				depth--
				continue
			}
			if t.Val != "{" {
				continue
			}
			if depth == 0 && i > 0 && !listOpeners[toks[i-1].Val] {
				p.anchorBlock(s, i)
				return
			}
			depth++
		}
	}
	toks = dropNL(toks)
	st, line, at, ok := parseTokens(toks, s.endLine, s.file)
	if !ok {
		p.partialOption(toks)
		p.syntaxError(s.file, line, at)
		return
	}
	if !top && (st.Option != nil || st.Load != nil || st.Queue != nil || st.Antispoof != nil || st.Varset != nil) {
		p.syntaxError(s.file, toks[0].Line, 0)
		return
	}
	p.shift(len(toks))
	base := p.errors
	p.expandBase = -1
	defer func() {
		if p.errors > base && (p.expandBase < 0 || p.expandBase > base) {
			p.errFlag = 3 // the action ended in YYERROR
		}
	}()
	switch {
	case st.Include != nil && !top:
		p.includeInAnchor(st.Include.File, s)
	case st.Include != nil:
		if err := p.lex.pushFile(st.Include.File); err != nil {
			p.stderr(fmt.Sprintf("pfctl: pushfile: %s: %s\n", st.Include.File, errText(err)))
			p.errorAt(s.file, s.endLine, "failed to include file "+st.Include.File)
		}
	case st.Varset != nil:
		p.varset(st.Varset, s)
	case st.Option != nil:
		p.option(st.Option, s)
	case st.Rule != nil:
		p.pfRule(st.Rule, s)
	case st.Anchor != nil:
		p.anchorRule(st.Anchor, s, nil)
	case st.Load != nil:
		p.loadRule(st.Load, s)
	case st.Queue != nil:
		p.queueSpec(st.Queue, s)
	case st.Antispoof != nil:
		p.antispoof(st.Antispoof, s)
	case st.Table != nil:
		p.tableDef(st.Table, s)
	}
}

// anchorBlock handles "anchor … {" newline rules "}": the inline rules
// are parsed first, into a holding ruleset, then the anchor rule itself.
func (p *parser) anchorBlock(s stmt, brace int) {
	toks := s.toks
	// Find the matching brace.
	depth := 0
	end := -1
	for i := brace; i < len(toks); i++ {
		if toks[i].Kind != Punct {
			continue
		}
		switch toks[i].Val {
		case "{":
			depth++
		case "}":
			depth--
			if depth == 0 && end < 0 {
				end = i
			}
		}
	}
	if end < 0 || end != len(toks)-1 || brace+1 >= len(toks) || toks[brace+1].Kind != NL {
		line := s.endLine
		if end >= 0 && end+1 < len(toks) {
			line = toks[end+1].Line
		} else if brace+1 < len(toks) && toks[brace+1].Kind != NL {
			line = toks[brace+1].Line
		}
		p.errorAt(s.file, line, "syntax error")
		return
	}
	if p.depth >= 63 {
		p.errorAt(s.file, toks[brace].Line, "pfa_anchor: anchors too deep")
		return
	}
	head, _, _, _ := parseTokens(dropNL(toks[:brace]), toks[brace].Line, s.file)
	body := &rules.Ruleset{}
	saved := p.cur
	p.cur = body
	p.depth++
	p.braceN++
	n := p.braceN
	var cur stmt
	inner := toks[brace+2 : end]
	d := 0
	for _, t := range inner {
		switch {
		case t.Kind == NL && d == 0:
			if len(cur.toks) > 0 {
				cur.endLine = t.Line
				cur.file = t.File
				p.statement(cur, false)
			}
			p.shift(1)
			cur = stmt{}
			continue
		case t.Kind == Punct && t.Val == "{":
			d++
		case t.Kind == Punct && t.Val == "}":
			d--
		}
		cur.toks = append(cur.toks, t)
	}
	if len(cur.toks) > 0 {
		cur.endLine = toks[end].Line
		cur.file = s.file
		p.statement(cur, false)
	}
	p.depth--
	p.cur = saved
	if head == nil || head.Anchor == nil {
		p.errorAt(s.file, toks[0].Line, "syntax error")
		return
	}
	p.anchorRule(head.Anchor, s, &rules.Anchor{Inline: true, Ruleset: body, Call: fmt.Sprintf("_%d", n)})
}

// partialOption mirrors pfctl running the action of a completed
// "set timeout x n" or "set limit x n" before it meets the comma that
// makes the statement a syntax error.
func (p *parser) partialOption(toks []Token) {
	if len(toks) < 5 || toks[0].Val != "set" || toks[2].Kind != String || toks[3].Kind != Number {
		return
	}
	nv := &NamedValue{Name: toks[2].Val, Value: toks[3].Num}
	nv.Pos.Line = toks[2].Line
	switch toks[1].Val {
	case "timeout":
		p.setTimeout(nv, toks[0].File)
	case "limit":
		p.setLimit(nv, toks[0].File)
	}
}

func errText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// includeInAnchor reads an included file in place, inside an inline
// anchor's braces, so that its rules land in that anchor.
func (p *parser) includeInAnchor(name string, s stmt) {
	data, err := p.cfg.ReadFile(name)
	if err == nil && p.depth+len(p.lex.files) >= maxFiles {
		err = fmt.Errorf("too many levels of include")
	}
	if err != nil {
		p.stderr(fmt.Sprintf("pfctl: pushfile: %s: %s\n", name, errText(err)))
		p.errorAt(s.file, s.endLine, "failed to include file "+name)
		return
	}
	saved := p.lex
	sub := newLexer(name, data, saved.macros, saved.errf, saved.stderr)
	sub.readFile = saved.readFile
	p.lex = sub
	p.tokBuf = nil // the caller still holds the enclosing statement's tokens
	for {
		st, ok := p.next()
		if !ok {
			break
		}
		if len(st.toks) > 0 {
			p.statement(st, false)
		}
		p.shift(1)
	}
	p.lex = saved
	p.tokBuf = nil
}
