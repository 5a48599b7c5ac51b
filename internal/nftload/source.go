package nftload

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
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
	// Stderr receives parse diagnostics and compile warnings, one line
	// each with its newline.
	Stderr func(string)
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
	if len(res.LoadAnchors) > 0 {
		stderr(fmt.Sprintf("%s: warning: load anchor is not loaded by pfconf yet\n", src.Name))
	}
	parser.ExpandNr(res.Rules)
	loc := newLocator(src, inv, res.Rules)
	opts := rules.CompileOptions{
		Tables: res.Tables, Skip: skip, Queues: res.Queues,
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
