package rules

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// TableName is the nftables table (family inet) that pfconf owns. The
// compiler writes nothing outside it, and a load replaces it whole.
const TableName = "pfconf"

// CompileOptions is what the compiler needs besides the rules: the
// parts of the parse result that are not in the Ruleset, and answers
// about the host that pf looks up in the kernel at run time.
type CompileOptions struct {
	// Tables are the table definitions (parser.Result.Tables).
	Tables []*Table
	// Skip lists the interfaces of "set skip on".
	Skip []string
	// Queues are the queue definitions; any is a Linux compatibility
	// error ("queue: not supported on Linux").
	Queues []*Queue
	// Groups resolves an interface group (egress, carp, lo, ...) to its
	// member interfaces; names it does not know are interface names, as
	// pf treats them. Nil knows no groups.
	Groups func(name string) ([]string, bool)
	// IfAddrs lists the addresses of an interface, for (if) dynamic
	// addresses; nil lists none.
	IfAddrs func(name string) []netip.Prefix
	// ReadFile reads the files of "table <t> file"; nil refuses them.
	ReadFile func(name string) ([]byte, error)
	// Position names where a rule came from, for "file:line: message"
	// diagnostics; nil or a zero line gives "rule N: message".
	Position func(r *Rule) (file string, line int)
	// QueuePosition is where the first queue definition is.
	QueuePosition func() (file string, line int)
	// Strict turns every warning into an error (pfconf --strict).
	Strict bool
}

// CompileError is every error of one compilation, each a line
// "file:line: message", in rule order.
type CompileError struct{ Msgs []string }

func (e *CompileError) Error() string { return strings.Join(e.Msgs, "\n") }

// Compile translates a ruleset into one nftables table, preserving pf's
// evaluation model (pf.conf(5) "PACKET FILTERING"): last matching rule
// wins unless a rule is quick, match rules apply options as they are met,
// pass rules keep state by default, and the default is pass without
// state. The scheme is described in docs/pfconf-nftables.md.
//
// Compile is pure: it never opens netlink. Errors are *CompileError;
// warnings (features whose loss does not change what passes, is blocked
// or translated) are in Program.Warnings, or errors with Strict.
func Compile(rs *Ruleset, opts CompileOptions) (*Program, error) {
	c := newCompiler(opts)
	overloadTables(rs, c.overload)
	c.overloadFlush()
	c.tables(opts.Tables)
	if len(opts.Queues) > 0 {
		file, line := "pf.conf", 0
		if opts.QueuePosition != nil {
			file, line = opts.QueuePosition()
		}
		c.errs = append(c.errs, posMsg(file, line, "queue: not supported on Linux"))
	}
	c.ruleset(rs, nil)
	c.finish()
	c.prog.Ruleset = rs
	if opts.Strict {
		for _, w := range c.prog.Warnings {
			c.errs = append(c.errs, strings.Replace(w, ": warning: ", ": ", 1))
		}
		c.prog.Warnings = nil
	}
	if len(c.errs) > 0 {
		return nil, &CompileError{Msgs: c.errs}
	}
	return c.prog, nil
}

// posMsg formats a positioned diagnostic.
func posMsg(file string, line int, msg string) string {
	if line <= 0 {
		return fmt.Sprintf("%s: %s", file, msg)
	}
	return fmt.Sprintf("%s:%d: %s", file, line, msg)
}

// where names a rule for diagnostics.
func (c *compiler) where(r *Rule) (string, int) {
	if c.opts.Position != nil {
		if f, l := c.opts.Position(r); l > 0 {
			return f, l
		}
	}
	return fmt.Sprintf("rule %d", r.Nr), 0
}

// errorf records a Linux compatibility error for rule r.
func (c *compiler) errorf(r *Rule, format string, args ...any) {
	f, l := c.where(r)
	c.errs = append(c.errs, posMsg(f, l, fmt.Sprintf(format, args...)))
}

// warnf records a warning for rule r, once per message and position.
func (c *compiler) warnf(r *Rule, format string, args ...any) {
	f, l := c.where(r)
	m := posMsg(f, l, "warning: "+fmt.Sprintf(format, args...))
	if c.warned[m] {
		return
	}
	c.warned[m] = true
	c.prog.Warnings = append(c.prog.Warnings, m)
}

// sortedKeys returns a map's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
