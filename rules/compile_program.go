package rules

import (
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"time"
)

// Program is a compiled ruleset: the content of nftables table
// "inet pfconf", in an order that one netlink batch can create it in
// (counters and sets first, then chains, then rules, then the verdict
// maps that refer to the chains). Every statement carries both its nft
// syntax and its kernel expressions, so Text and the netlink batch
// cannot drift apart.
type Program struct {
	Counters []string // named counter objects (nft "counter NAME")
	Sets     []*Set
	Chains   []*Chain
	// Rules describes each compiled pf rule, by rule id, for pfctl -s
	// rules and -s labels.
	Rules []RuleInfo
	// Warnings are the positioned Linux compatibility warnings.
	Warnings []string
	// Dynamic lists the interfaces whose addresses fill (if) sets.
	Dynamic []string
	// Ruleset is the compiled ruleset.
	Ruleset *Ruleset
	// Rejects: some rule answers with a RST or an ICMP error, which must
	// carry the rejected packet's mark (MarkReply): the loader sets
	// net.ipv4.fwmark_reflect and net.ipv6.fwmark_reflect.
	Rejects bool
}

// Info returns the RuleInfo of rule r, if it was compiled.
func (p *Program) Info(r *Rule) (RuleInfo, bool) {
	for _, ri := range p.Rules {
		if ri.Rule == r {
			return ri, true
		}
	}
	return RuleInfo{}, false
}

// RuleInfo ties a pf rule to its nftables counters.
type RuleInfo struct {
	ID       int    // rule id in the mark register
	Rule     *Rule  // the pf rule
	Anchor   string // anchor path, "" for the main ruleset
	Counters []string
}

// Hook placement of a base chain (nft "type T hook H priority P").
type Hook struct {
	Type     nftables.ChainType
	Hooknum  *nftables.ChainHook
	Name     string // hook name in nft syntax
	Priority int32
}

// Chain is one chain of the pfconf table; Hook is nil for regular chains.
type Chain struct {
	Name  string
	Hook  *Hook
	Rules []*NRule
}

// NRule is one nftables rule: its statements in order.
type NRule struct {
	Stmts   []Stmt
	Comment string
}

// Stmt is one nft statement or match: its text and its expressions.
type Stmt struct {
	Text  string
	Exprs []expr.Any
}

// Key types of pfconf's sets.
const (
	KeyIPv4 = iota
	KeyIPv6
	KeyMark
	KeyInteger // 32-bit host-order integer (numgen results)
)

// Set is a named set or verdict map.
type Set struct {
	Name     string
	Key      int
	Interval bool
	Map      bool // verdict map: elements carry Goto
	Const    bool
	// Anonymous sets are not declared in the table's text: the statement
	// that uses one renders it inline. DataIPv6 gives the data type of
	// an anonymous address map (ipv4_addr otherwise).
	Anonymous bool
	AddrMap   bool
	DataIPv6  bool
	Elems     []Elem
	// Table is the pf table the set holds (one set per family), "" for
	// other sets; Dynamic names the interface of an (if) set.
	Table    string
	Dynamic  string
	DynFlags int // the (if) modifiers: IfNetwork, IfBroadcast, IfPeer, IfNoAlias
	// Eval sets are written by rules ("add @set { ip saddr }", nft
	// "flags dynamic", NFT_SET_EVAL), Size bounds them and Timeout, when
	// not zero, expires their elements.
	Eval    bool
	Size    uint32
	Timeout time.Duration
}

// Elem is one set element: a key, an exclusive interval end (nil when
// the interval reaches the top of the address space or the set is not
// an interval set) and, in a verdict map, the chain to go to.
type Elem struct {
	Key, End []byte
	Goto     string
	Val      []byte // the data of an address map element
}

// chain returns the chain called name, creating a regular chain.
func (p *Program) chain(name string) *Chain {
	for _, ch := range p.Chains {
		if ch.Name == name {
			return ch
		}
	}
	ch := &Chain{Name: name}
	p.Chains = append(p.Chains, ch)
	return ch
}

// Set returns the set called name, or nil.
func (p *Program) Set(name string) *Set {
	for _, s := range p.Sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Chain returns the chain called name, or nil.
func (p *Program) Chain(name string) *Chain {
	for _, ch := range p.Chains {
		if ch.Name == name {
			return ch
		}
	}
	return nil
}
