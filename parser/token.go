// Package parser reads pf.conf(5) as OpenBSD's pfctl does: a lexer that
// reproduces pfctl's (macros expanded as text while reading, line
// continuation, quoting, comments), a participle/v2 grammar of the
// statements, and expansion passes that turn each statement into rules
// with pfctl's defaults and consistency checks (sbin/pfctl/parse.y).
package parser

// Kind is a token kind of pfctl's lexer (yylex in parse.y).
type Kind int

// Token kinds. Keywords come out as Keyword with the word as value; every
// other word and every quoted string is a String.
const (
	EOF Kind = iota
	NL
	Keyword
	String
	Number
	Punct   // one of = { } ( ) , / < > ! - and any other single byte
	NE      // !=
	LE      // <=
	GE      // >=
	PortBin // <> or ><
	Error   // the lexer reported an error and skipped to the end of line
)

// Token is one token with the line and file it started on.
type Token struct {
	Kind   Kind
	Val    string
	Num    int64
	Line   int
	File   string
	Quoted bool
}

// keywords is pfctl's keyword table (lookup in parse.y); a bare word in it
// is a keyword, anything else a string.
var keywords = map[string]bool{}

func init() {
	for _, k := range []string{
		"af-to", "all", "allow-opts", "anchor", "antispoof", "any", "bandwidth",
		"binat-to", "bitmask", "block", "block-policy", "burst", "code", "debug",
		"default", "delay", "divert-packet", "divert-reply", "divert-to", "drop",
		"dup-to", "file", "fingerprints", "flags", "floating", "flows", "flush",
		"for", "fragment", "from", "global", "group", "hostid", "icmp-type",
		"icmp6-type", "if-bound", "in", "include", "inet", "inet6", "keep",
		"label", "least-states", "limit", "load", "log", "loginterface", "match",
		"matches", "max", "max-mss", "max-pkt-rate", "max-src-conn",
		"max-src-conn-rate", "max-src-nodes", "max-src-states", "min", "min-ttl",
		"modulate", "nat-to", "no", "no-df", "no-route", "no-sync", "on", "once",
		"optimization", "os", "out", "overload", "parent", "pass", "pflow",
		"port", "prio", "probability", "proto", "qlimit", "quantum", "queue",
		"quick", "random", "random-id", "rdomain", "rdr-to", "reassemble",
		"received-on", "reply-to", "return", "return-icmp", "return-icmp6",
		"return-rst", "round-robin", "route", "route-to", "rtable", "rule",
		"ruleset-optimization", "scrub", "set", "skip", "sloppy", "source-hash",
		"source-track", "state", "state-defaults", "state-policy", "static-port",
		"sticky-address", "syncookies", "synproxy", "table", "tag", "tagged",
		"timeout", "to", "tos", "ttl", "urpf-failed", "user", "weight",
	} {
		keywords[k] = true
	}
}
