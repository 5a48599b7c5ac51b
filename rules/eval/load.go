package eval

import (
	"fmt"
	"os"
	"strings"

	"carpfw/parser"
	"carpfw/rules"
)

// Loaded is a pf.conf parsed for evaluation: the main ruleset, the table
// definitions, the "set skip" interfaces and the anchors that "load
// anchor" statements fill.
type Loaded struct {
	Rules   *rules.Ruleset
	Tables  []*rules.Table
	Skip    []string
	Anchors map[string]*rules.Ruleset
	// TableFiles holds the entries read from the files of table
	// definitions (table <t> file "…"), by table name.
	TableFiles map[string][]string
}

// Load parses pf.conf text with the real parser (cfg as for
// parser.Parse; its Verbose, Stdout and Stderr are overridden) and reads
// the files of its load anchor statements. Options other than set skip
// and set block-policy (which the parser already applied to the rules)
// have no effect on evaluation.
func Load(name string, data []byte, cfg parser.Config) (*Loaded, error) {
	l := &Loaded{Anchors: map[string]*rules.Ruleset{}, TableFiles: map[string][]string{}}
	if err := l.load(name, data, cfg, 0); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Loaded) load(name string, data []byte, cfg parser.Config, depth int) error {
	if depth > maxAnchorDepth {
		return fmt.Errorf("%s: load anchor nested too deep", name)
	}
	var errs strings.Builder
	cfg.Verbose = 1
	cfg.Stderr = func(s string) { errs.WriteString(s) }
	cfg.Stdout = func(s string) {
		for _, line := range strings.Split(s, "\n") {
			if rest, ok := strings.CutPrefix(line, "set skip on "); ok {
				if rest == "none" {
					l.Skip = nil
					continue
				}
				l.Skip = append(l.Skip, strings.Fields(strings.Trim(rest, "{} "))...)
			}
		}
	}
	res := parser.Parse(name, data, cfg)
	if res.Errors > 0 {
		return fmt.Errorf("%s", strings.TrimSpace(errs.String()))
	}
	if cfg.Anchor == "" {
		l.Rules = res.Rules
	} else {
		l.Anchors[strings.Trim(cfg.Anchor, "/")] = res.Rules
	}
	l.Tables = append(l.Tables, res.Tables...)
	read := cfg.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	for _, t := range res.Tables {
		for _, ti := range t.Inits {
			if ti.File == "" {
				continue
			}
			b, err := read(ti.File)
			if err != nil {
				return fmt.Errorf("table <%s>: %v", t.Name, err)
			}
			l.TableFiles[t.Name] = append(l.TableFiles[t.Name], tableFileEntries(string(b))...)
		}
	}
	for _, la := range res.LoadAnchors {
		b, err := read(la.File)
		if err != nil {
			return fmt.Errorf("load anchor %s: %v", la.Anchor, err)
		}
		sub := cfg
		sub.Anchor = la.Anchor
		if err := l.load(la.File, b, sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// tableFileEntries reads a table file as pfctl does (pfr_buf_load):
// blank-separated addresses, "!" before an address negating it, "#"
// starting a comment, "weight N" ignored. Host and interface names are
// not resolved and are dropped by AddTable.
func tableFileEntries(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		for i := 0; i < len(f); i++ {
			if f[i] == "weight" {
				i++
				continue
			}
			out = append(out, f[i])
		}
	}
	return out
}

// New returns an engine for the loaded ruleset on host, with more
// options (Linux) after the loaded ones.
func (l *Loaded) New(host Host, more ...Option) *Engine {
	opts := []Option{WithTables(l.Tables...), WithSkip(l.Skip...)}
	for name, entries := range l.TableFiles {
		opts = append(opts, WithTableEntries(name, entries...))
	}
	for p, rs := range l.Anchors {
		opts = append(opts, WithAnchor(p, rs))
	}
	return New(l.Rules, host, append(opts, more...)...)
}
