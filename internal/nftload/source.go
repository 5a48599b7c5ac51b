package nftload

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"

	"carpfw/carp"
	"carpfw/internal/ctl"
	"carpfw/internal/hostinv"
	"carpfw/parser"
	"carpfw/rules"
)

// Source is a pf.conf to compile.
type Source struct {
	Name string // as printed in messages ("stdin" for standard input)
	Data []byte
	// Inventory answers parse-time look-ups; nil is hostinv.FromEnv().
	Inventory hostinv.Inventory
	Defines   []string
	// Groups resolves interface groups at compile time; nil uses
	// HostGroups (the inventory's groups, egress from the default
	// routes, carp from the carpN interfaces).
	Groups func(string) ([]string, bool)
	// IfAddrs lists interface addresses for (if); nil asks the kernel of
	// the calling thread's network namespace.
	IfAddrs func(string) []netip.Prefix
	Strict  bool
	// Anchors are the rulesets loaded into named anchors (pfconf -a
	// PATH -f FILE), by anchor path; they fill the main ruleset's
	// "anchor PATH" calls, and override its "load anchor" statements.
	Anchors map[string]AnchorSource
	// Stderr receives parse diagnostics and compile warnings, one line
	// each with its newline.
	Stderr func(string)
}

// AnchorSource is the ruleset of one anchor: its file name (for
// messages) and text.
type AnchorSource struct {
	Name string `json:"name"`
	Data string `json:"data"`
}

// ErrSyntax is returned after parse errors (already printed), with
// pfctl's wording.
var ErrSyntax = errors.New("Syntax error in config file: pf rules not loaded")

// Compile parses and compiles src. Parse errors and compile errors are
// printed through Stderr as "file:line: message"; the error returned is
// ErrSyntax or the *rules.CompileError.
func Compile(src Source) (*rules.Program, error) {
	stderr := src.Stderr
	if stderr == nil {
		stderr = func(string) {}
	}
	inv := src.Inventory
	if inv == nil {
		inv = hostinv.FromEnv()
	}
	var skip []string
	cfg := parser.Config{
		Inventory: inv, Defines: src.Defines, Verbose: 1,
		// The parser reports options only in its verbose echo; "set skip
		// on { a b }" is all the compiler needs from it.
		Stdout: func(s string) { skip = append(skip, skipOf(s)...) },
		Stderr: stderr,
	}
	res := parser.Parse(src.Name, src.Data, cfg)
	if res.Errors > 0 {
		return nil, ErrSyntax
	}
	anchors := map[string]AnchorSource{}
	for _, la := range res.LoadAnchors {
		data, err := os.ReadFile(la.File)
		if err != nil {
			stderr(fmt.Sprintf("%s: load anchor %q: %v\n", src.Name, la.Anchor, err))
			return nil, ErrSyntax
		}
		anchors[strings.TrimPrefix(la.Anchor, "/")] = AnchorSource{Name: la.File, Data: string(data)}
	}
	for path, a := range src.Anchors {
		anchors[path] = a
	}
	tables := res.Tables
	if !spliceAnchors(res.Rules, "", anchors, cfg, &tables) {
		return nil, ErrSyntax
	}
	parser.ExpandNr(res.Rules)
	loc := newLocator(src, inv, res.Rules)
	opts := rules.CompileOptions{
		Tables: tables, Skip: skip, Queues: res.Queues,
		Groups: src.Groups, IfAddrs: src.IfAddrs, ReadFile: os.ReadFile,
		Position: loc.position, QueuePosition: loc.queue, Strict: src.Strict,
	}
	if opts.Groups == nil {
		opts.Groups = HostGroups(inv)
	}
	if opts.IfAddrs == nil {
		opts.IfAddrs = KernelIfAddrs
	}
	prog, err := rules.Compile(res.Rules, opts)
	if err != nil {
		var ce *rules.CompileError
		if errors.As(err, &ce) {
			for _, m := range ce.Msgs {
				stderr(m + "\n")
			}
		}
		return nil, err
	}
	for _, w := range prog.Warnings {
		stderr(w + "\n")
	}
	return prog, nil
}

// skipOf extracts the interfaces of a verbose "set skip on { a b }" line.
func skipOf(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "set skip on {")
		if !ok {
			continue
		}
		rest = strings.TrimSuffix(strings.TrimSpace(rest), "}")
		out = append(out, strings.Fields(rest)...)
	}
	return out
}

// KernelIfAddrs lists an interface's addresses in the calling thread's
// network namespace.
func KernelIfAddrs(name string) []netip.Prefix {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil
	}
	as, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			ip, _ := netip.AddrFromSlice(n.IP)
			ones, _ := n.Mask.Size()
			ip = ip.Unmap()
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				continue
			}
			out = append(out, netip.PrefixFrom(ip, ones))
		}
	}
	return out
}

// HostIfAddrs lists an interface's addresses as pf sees them. A carp
// interface configured through carpctl (its worker's configuration is in
// run directory dir) holds its virtual addresses in every state, as
// OpenBSD's carpN does, although the worker puts them on the macvlan only
// while MASTER (docs/carp.md): "pass in to (carp0)" on a BACKUP matches
// the addresses it will answer for after a takeover. Every other
// interface's addresses come from the kernel (KernelIfAddrs).
func HostIfAddrs(dir string) func(string) []netip.Prefix {
	return func(name string) []netip.Prefix {
		if dir != "" && carp.ValidName(name) {
			var cfg carp.Config
			if ok, err := ctl.LoadState(dir, name, &cfg); ok && err == nil {
				out := make([]netip.Prefix, 0, len(cfg.Addrs))
				for _, a := range cfg.Addrs {
					out = append(out, a.Prefix)
				}
				return out
			}
		}
		return KernelIfAddrs(name)
	}
}

// spliceAnchors fills the anchor calls of rs (whose anchor path is
// prefix) that have no inline rules with the rulesets loaded for their
// paths, parsed as pfctl -a PATH parses them, recursively; it reports
// false after printing parse errors. The tables defined inside a loaded
// anchor are appended to tables under their scoped names (ScopedTable);
// with tables nil, the rules keep the names they were written with.
func spliceAnchors(rs *rules.Ruleset, prefix string, anchors map[string]AnchorSource, cfg parser.Config, tables *[]*rules.Table) bool {
	if rs == nil {
		return true
	}
	ok := true
	for _, r := range rs.Rules {
		if r.Anchor == nil {
			continue
		}
		path := AnchorPath(prefix, r.Anchor.Call)
		if r.Anchor.Inline || r.Anchor.Ruleset != nil {
			ok = spliceAnchors(r.Anchor.Ruleset, path, anchors, cfg, tables) && ok
			continue
		}
		if base, wild := strings.CutSuffix(path, "/*"); wild {
			r.Anchor.Children = nil
			for _, child := range childAnchors(anchors, base) {
				rs, good := spliceAnchor(child, anchors[child], anchors, cfg, tables)
				ok = ok && good
				if good {
					r.Anchor.Children = append(r.Anchor.Children, &rules.Anchor{Call: child, Ruleset: rs})
				}
			}
			continue
		}
		a, found := anchors[path]
		if !found {
			continue
		}
		rs, good := spliceAnchor(path, a, anchors, cfg, tables)
		ok = ok && good
		if good {
			r.Anchor.Ruleset = rs
		}
	}
	return ok
}

// spliceAnchor parses the loaded anchor at path, its own anchors spliced
// in, its tables scoped to it.
func spliceAnchor(path string, a AnchorSource, anchors map[string]AnchorSource, cfg parser.Config, tables *[]*rules.Table) (*rules.Ruleset, bool) {
	res := ParseAnchor(path, a, cfg)
	if res.Errors > 0 {
		return nil, false
	}
	scopeTables(res, path, tables)
	return res.Rules, spliceAnchors(res.Rules, path, anchors, cfg, tables)
}

// ScopedTable is the name pfconf gives table name defined in the anchor
// at path: pf attaches a table to the ruleset that defines it
// (pfr_attach_table), so an anchor's <t> is not the main ruleset's.
// pf's table names hold no "/", so the scoped names never meet the main
// ruleset's; nft accepts "/" in set names.
func ScopedTable(path, name string) string {
	if path == "" {
		return name
	}
	return path + "/" + name
}

// scopeTables renames the tables an anchor's parse defined to their
// scoped names, in the definitions (appended to tables) and in the
// anchor's own rules; a rule that names a table the anchor does not
// define uses the main ruleset's, as pf falls back to the root's table.
// Inline anchors inside the file are rulesets of their own in pf and
// keep the global names, but for pfctl's automatic tables (address
// pools), which the parse numbered from zero again.
func scopeTables(res *parser.Result, path string, tables *[]*rules.Table) {
	if len(res.Tables) == 0 || tables == nil {
		return
	}
	names := map[string]string{}
	for _, t := range res.Tables {
		c := *t
		c.Name = ScopedTable(path, t.Name)
		names[t.Name] = c.Name
		*tables = append(*tables, &c)
	}
	var rename func(rs *rules.Ruleset, top bool)
	rename = func(rs *rules.Ruleset, top bool) {
		if rs == nil {
			return
		}
		for _, r := range rs.Rules {
			if r.Anchor != nil {
				if r.Anchor.Inline {
					rename(r.Anchor.Ruleset, false)
				}
				continue
			}
			for _, a := range []*rules.AddrWrap{&r.Src.Addr, &r.Dst.Addr, &r.Nat.Addr, &r.Rdr.Addr, &r.Route.Addr} {
				if n, ok := names[a.Table]; ok && a.Type == rules.AddrTable && (top || strings.HasPrefix(a.Table, "__automatic_")) {
					a.Table = n
				}
			}
			if n, ok := names[r.OverloadTable]; ok && top {
				r.OverloadTable = n
			}
		}
	}
	rename(res.Rules, true)
}

// childAnchors are the loaded anchors directly below base ("" for the
// main ruleset), in name order as pf's anchor tree holds them.
func childAnchors(anchors map[string]AnchorSource, base string) []string {
	var out []string
	for p := range anchors {
		rest, ok := strings.CutPrefix(p, base+"/")
		if base == "" {
			rest, ok = p, true
		}
		if ok && rest != "" && !strings.Contains(rest, "/") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// AnchorPath is the path of an anchor called as call from the anchor at
// prefix ("" for the main ruleset); a leading "/" makes it absolute.
func AnchorPath(prefix, call string) string {
	if strings.HasPrefix(call, "/") || prefix == "" {
		return strings.TrimPrefix(call, "/")
	}
	return prefix + "/" + call
}

// ParseAnchor parses the ruleset of anchor path, as pfctl -a path -f
// parses it (no options, queues or nested "load anchor").
func ParseAnchor(path string, a AnchorSource, cfg parser.Config) *parser.Result {
	cfg.Anchor = path
	cfg.Stdout = func(string) {}
	return parser.Parse(a.Name, []byte(a.Data), cfg)
}

// FindAnchor returns the ruleset of the anchor at path in rs (compiled
// with its anchors spliced in), nil if there is none.
func FindAnchor(rs *rules.Ruleset, path string) *rules.Ruleset {
	var find func(rs *rules.Ruleset, prefix string) *rules.Ruleset
	find = func(rs *rules.Ruleset, prefix string) *rules.Ruleset {
		if rs == nil {
			return nil
		}
		for _, r := range rs.Rules {
			if r.Anchor == nil {
				continue
			}
			p := AnchorPath(prefix, r.Anchor.Call)
			if p == path && r.Anchor.Ruleset != nil {
				return r.Anchor.Ruleset
			}
			if found := find(r.Anchor.Ruleset, p); found != nil {
				return found
			}
			for _, child := range r.Anchor.Children {
				if child.Call == path {
					return child.Ruleset
				}
				if found := find(child.Ruleset, child.Call); found != nil {
					return found
				}
			}
		}
		return nil
	}
	return find(rs, "")
}

// LoadedAnchor returns the ruleset of anchor path in what the state file
// records as loaded (the main ruleset with its anchors), nil if the
// loaded ruleset has no such anchor.
func LoadedAnchor(saved Saved, path string) (*rules.Ruleset, error) {
	if saved.Main == nil {
		return nil, nil
	}
	var diag strings.Builder
	cfg := parser.Config{Inventory: hostinv.FromEnv(), Defines: saved.Main.Defines,
		Stdout: func(string) {}, Stderr: func(s string) { diag.WriteString(s) }}
	res := parser.Parse(saved.Main.Name, []byte(saved.Main.Data), cfg)
	if res.Errors > 0 {
		return nil, fmt.Errorf("the loaded ruleset no longer parses: %s", strings.TrimSpace(diag.String()))
	}
	// No tables: the rules keep the names they were written with, for
	// printing.
	if !spliceAnchors(res.Rules, "", saved.Anchors, cfg, nil) {
		return nil, fmt.Errorf("a loaded anchor no longer parses: %s", strings.TrimSpace(diag.String()))
	}
	if rs := FindAnchor(res.Rules, path); rs != nil {
		return rs, nil
	}
	if a, ok := saved.Anchors[path]; ok {
		// Loaded, though the main ruleset does not call it (pf keeps
		// such an anchor too).
		res := ParseAnchor(path, a, cfg)
		return res.Rules, nil
	}
	return nil, nil
}
