package rules

import (
	"fmt"
	"time"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// State limits (pf.conf(5) "STATEFUL TRACKING OPTIONS"): max,
// max-src-states, max-src-nodes, max-src-conn, max-src-conn-rate and
// overload <table> [flush [global]].
// A pass rule that keeps state checks them in its finaliser, on the
// packet that would create the state ("ct state new"), and drops it when
// a limit is reached, as pf drops the packet whose state it refuses
// (PFRES_MAXSTATES, PFRES_SRCLIMIT):
//
//	max N                ct state new ct count over N drop
//	max-src-states N     ct state new add @rN_in_ss_4 { ip saddr ct count over N } drop
//	max-src-nodes N      ct state new add @rN_in_sn_4 { ip saddr ct count 4294967295 }
//	                     ct state new ip saddr != @rN_in_sn_4 drop  (a set of size N)
//	max-src-conn N       ct state new add @rN_in_sc_4 { ip saddr ct count over N } [add @t_T_4 { ip saddr }] drop
//	max-src-conn-rate N/S ct state new update @rN_in_sr_4 { ip saddr limit rate over N/S burst N packets } [...] drop
//
// The counts are nft_connlimit lists (per rule and pass for max, per
// source address in a dynamic set for max-src-conn): they hold the
// connections that passed the check and forget them when conntrack
// does. pf counts max-src-conn once the handshake completes; the kernel
// counts from the SYN. An overload table's sets are plain dynamic sets
// (host addresses only: the kernel cannot add to an interval set from
// the packet path). "flush" clears, once, the pf state bits of every
// connection an address of the table opened (flushRules): its next
// packets are evaluated against the rules, as after pf kills its states.
// For a connection whose originator was translated by nat-to, the
// inbound pass sees its replies before the translation is undone; the
// outbound pass catches them.

// Limit sets are bounded; an address that does not fit is not limited.
const limitSetSize = 65535

// CtFlushed marks a connection that the overload flush has already
// seen: states created after the address entered the table are kept.
const CtFlushed = 0x00000008

// limitRules are the finaliser rules of pass rule r (id, pass d) that
// drop a state-creating packet over one of r's limits.
func (c *compiler) limitRules(r *Rule, id int, d pass) [][]Stmt {
	if r.Action != ActionPass || r.KeepState == StateNone {
		return nil
	}
	var out [][]Stmt
	drop := sVerdict(expr.VerdictDrop, "")
	if r.MaxStates != 0 {
		out = append(out, []Stmt{sCtStateNew(), sCtCountOver(r.MaxStates), drop})
	}
	for _, af := range ruleFamilies(r) {
		if r.MaxSrcStates != 0 {
			// Every protocol, counted as the states are created
			// (pf_insert_src_node); no overload. With source-track
			// global (pfctl's default for it) the rules share one
			// count per source address.
			name := fmt.Sprintf("r%d_%s_ss", id, d)
			if r.RuleFlag&FlagRuleSrcTrack == 0 {
				name = "src_states"
			}
			set := c.limitSet(name, af, 0)
			out = append(out, []Stmt{sNfproto(af), sCtStateNew(), sDynCount(af, set, r.MaxSrcStates), drop})
		}
		if r.MaxSrcNodes != 0 {
			// A set of the sources holding states of this rule,
			// sized to the limit: each element counts its source's
			// connections and goes when they are gone (the set's
			// garbage collection drops connlimit elements at zero).
			// A new source does not fit in a full set, and the
			// look-up after the add drops its packet.
			set := c.limitSetOf(fmt.Sprintf("r%d_%s_sn", id, d), af, 0, r.MaxSrcNodes)
			out = append(out, []Stmt{sNfproto(af), sCtStateNew(), sDynCountAll(af, set)},
				[]Stmt{sNfproto(af), sCtStateNew(), sAddrSet(af, true, set, true), drop})
		}
		over := c.overloadStmts(r, af)
		// pf checks both on TCP connections only (pf_src_connlimit).
		tcp := sL4proto(unix.IPPROTO_TCP, false)
		if r.MaxSrcConn != 0 {
			set := c.limitSet(fmt.Sprintf("r%d_%s_sc", id, d), af, 0)
			st := []Stmt{sNfproto(af), tcp, sCtStateNew(), sDynCount(af, set, r.MaxSrcConn)}
			out = append(out, append(append(st, over...), drop))
		}
		if rt := r.MaxSrcConnRate; rt.Limit != 0 && rt.Seconds != 0 {
			// Elements idle for twice the interval are back at a full
			// bucket anyway.
			set := c.limitSet(fmt.Sprintf("r%d_%s_sr", id, d), af, 2*time.Duration(rt.Seconds)*time.Second)
			st := []Stmt{sNfproto(af), tcp, sCtStateNew(), sDynRate(af, set, rt)}
			out = append(out, append(append(st, over...), drop))
		}
	}
	return out
}

// ruleFamilies are the address families rule r applies to.
func ruleFamilies(r *Rule) []int {
	if r.AF == AFInet || r.AF == AFInet6 {
		return []int{r.AF}
	}
	return []int{AFInet, AFInet6}
}

// limitSet declares a per-source set of rule limits.
func (c *compiler) limitSet(base string, af int, timeout time.Duration) string {
	return c.limitSetOf(base, af, timeout, limitSetSize)
}

// limitSetOf declares a per-source set of size elements.
func (c *compiler) limitSetOf(base string, af int, timeout time.Duration, size uint32) string {
	name := base + afSuffix(af)
	if c.prog.Set(name) == nil {
		c.prog.Sets = append(c.prog.Sets, &Set{Name: name, Key: keyOf(af), Eval: true, Size: size, Timeout: timeout})
	}
	return name
}

// overloadStmts add the source to r's overload table.
func (c *compiler) overloadStmts(r *Rule, af int) []Stmt {
	if r.OverloadTable == "" {
		return nil
	}
	return []Stmt{sDynAdd(af, TableSetName(r.OverloadTable, af))}
}

// overloadTables lists the tables that rules of rs (and its anchors)
// overload into, and whether any of them flushes.
func overloadTables(rs *Ruleset, out map[string]bool) {
	if rs == nil {
		return
	}
	for _, r := range rs.Rules {
		if r.OverloadTable != "" {
			out[r.OverloadTable] = out[r.OverloadTable] || r.Flush != 0
		}
		if r.Anchor != nil {
			overloadTables(r.Anchor.Ruleset, out)
		}
	}
}

// overloadFlush puts the flush rules of both passes before their state
// look-up.
func (c *compiler) overloadFlush() {
	for _, d := range []pass{passIn, passOut} {
		ch := c.prog.chain(passChain(d))
		i := 0
		for i < len(ch.Rules) && ch.Rules[i].Comment != "state" {
			i++
		}
		ch.Rules = append(ch.Rules[:i], append(c.flushRules(d), ch.Rules[i:]...)...)
	}
}

// flushRules are the overload flush at the top of pass d: a connection
// opened by an address of a flushing overload table loses its pf state
// bits, once.
func (c *compiler) flushRules(d pass) []*NRule {
	var out []*NRule
	for _, t := range sortedKeys(c.overload) {
		if !c.overload[t] {
			continue
		}
		// The connection's originator is the source of its original
		// direction and the destination of its replies (pf's state key
		// address; the packet's address here, since github.com/google/
		// nftables v0.3.0 cannot load "ct original ip saddr").
		for _, af := range []int{AFInet, AFInet6} {
			for _, reply := range []bool{false, true} {
				out = append(out, &NRule{Stmts: []Stmt{
					sNfproto(af), sCtDirection(reply), sAddrSet(af, !reply, TableSetName(t, af), false),
					sCtMarkTest(CtFlushed, 0, false),
					sCtMarkSet(^uint32(CtStates), CtFlushed),
				}, Comment: "overload <" + t + "> flush"})
			}
		}
	}
	return out
}

// sCtStateNew is "ct state new".
func sCtStateNew() Stmt { return sCtState(expr.CtStateBitNEW, "new") }

// sCtCountOver is "ct count over N" (nft_connlimit, NFT_CONNLIMIT_F_INV).
func sCtCountOver(n uint32) Stmt {
	return Stmt{fmt.Sprintf("ct count over %d", n), []expr.Any{&expr.Connlimit{Count: n, Flags: expr.NFT_CONNLIMIT_F_INV}}}
}

// sDynCount is "add @set { ip saddr ct count over N }": a connection
// count per source address (nft_dynset with an nft_connlimit).
func sDynCount(af int, set string, n uint32) Stmt {
	p, kw, _ := loadAddr(af, true)
	return Stmt{fmt.Sprintf("add @%s { %s ct count over %d }", set, kw, n), []expr.Any{p,
		&expr.Dynset{SrcRegKey: reg, SetName: set, Operation: unix.NFT_DYNSET_OP_ADD,
			Exprs: []expr.Any{&expr.Connlimit{Count: n, Flags: expr.NFT_CONNLIMIT_F_INV}}}}}
}

// sDynCountAll is "add @set { ip saddr ct count 4294967295 }": the
// source's element counts the connection and never refuses it; the add
// fails only when a new source does not fit in the set.
func sDynCountAll(af int, set string) Stmt {
	p, kw, _ := loadAddr(af, true)
	return Stmt{fmt.Sprintf("add @%s { %s ct count %d }", set, kw, uint32(0xffffffff)), []expr.Any{p,
		&expr.Dynset{SrcRegKey: reg, SetName: set, Operation: unix.NFT_DYNSET_OP_ADD,
			Exprs: []expr.Any{&expr.Connlimit{Count: 0xffffffff}}}}}
}

// sDynRate is "update @set { ip saddr limit rate over R/unit burst N
// packets }": pf's N connections per S seconds as a token bucket per
// source address holding N, refilled at N/S per second.
func sDynRate(af int, set string, rt Rate) Stmt {
	p, kw, _ := loadAddr(af, true)
	rate, unit, name := rateUnit(rt)
	return Stmt{fmt.Sprintf("update @%s { %s limit rate over %d/%s burst %d packets }", set, kw, rate, name, rt.Limit), []expr.Any{p,
		&expr.Dynset{SrcRegKey: reg, SetName: set, Operation: unix.NFT_DYNSET_OP_UPDATE,
			Exprs: []expr.Any{&expr.Limit{Type: expr.LimitTypePkts, Rate: rate, Over: true, Unit: unit, Burst: rt.Limit}}}}}
}

// rateUnit expresses N per S seconds in the smallest unit nft names
// (second, minute, hour, day, week) that makes it a whole number; a week
// always does for S up to a week, longer intervals round.
func rateUnit(rt Rate) (uint64, expr.LimitTime, string) {
	for _, u := range []struct {
		t    expr.LimitTime
		name string
	}{{expr.LimitTimeSecond, "second"}, {expr.LimitTimeMinute, "minute"}, {expr.LimitTimeHour, "hour"},
		{expr.LimitTimeDay, "day"}, {expr.LimitTimeWeek, "week"}} {
		n := uint64(rt.Limit) * uint64(u.t)
		if n%uint64(rt.Seconds) == 0 {
			return n / uint64(rt.Seconds), u.t, u.name
		}
	}
	return max(1, uint64(rt.Limit)*uint64(expr.LimitTimeWeek)/uint64(rt.Seconds)), expr.LimitTimeWeek, "week"
}

// sDynAdd is "add @set { ip saddr }".
func sDynAdd(af int, set string) Stmt {
	p, kw, _ := loadAddr(af, true)
	return Stmt{fmt.Sprintf("add @%s { %s }", set, kw), []expr.Any{p,
		&expr.Dynset{SrcRegKey: reg, SetName: set, Operation: unix.NFT_DYNSET_OP_ADD}}}
}

// sCtMarkSet is "ct mark set ct mark & KEEP | VAL".
func sCtMarkSet(keep, val uint32) Stmt {
	return Stmt{fmt.Sprintf("ct mark set ct mark & 0x%08x | 0x%08x", keep, val), []expr.Any{
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4, Mask: ne32(keep &^ val), Xor: ne32(val)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg, SourceRegister: true},
	}}
}
