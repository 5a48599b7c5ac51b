// Package eval is a reference evaluator of OpenBSD pf semantics over the
// carpfw rule model (package rules). It answers, for one packet seen by
// pf on one interface in one direction, what pf would do: which rule
// wins, pass or block (and what block return would send), which
// translation applies, and whether a state is created. States are kept
// inside the Engine, so a later reply passes by its state without
// ruleset evaluation, as in pf.
//
// The model follows sys/net/pf.c:
//
//   - pf_test: packets on "set skip" interfaces pass untouched; otherwise
//     the state table is searched first (pf_find_state; for an ICMP error,
//     the state of the packet it quotes) and a packet that matches a
//     state passes without ruleset evaluation, translated by the state
//     (an error about a translated connection is translated back, the
//     quoted packet with it).
//   - pf_test_rule and pf_match_rule: rules are walked in order, the last
//     matching pass or block rule wins and a quick rule stops the walk;
//     match rules apply their options (tag, log, nat-to, rdr-to) as they
//     are met and later rules see the translated addresses; anchors are
//     walked in place (pf_step_into_anchor, paths as pf_anchor_setup
//     resolves them, "name/*" for the children of name) and "anchor …
//     quick" stops after the anchor when one of its own rules decided;
//     once rules expire at their first match.
//   - when no pass or block rule matches, pf's default rule passes the
//     packet, without a state and therefore without translation.
//   - a pass rule that keeps state creates one (pf_create_state), keyed
//     as pf_state_key_setup keys it, floating unless if-bound; ICMP error
//     messages never create states, and a stateful rule does not match
//     an ICMP reply (an echo reply needs the state of its request).
//   - block return sends a RST to TCP (not to a RST) and an ICMP or
//     ICMPv6 error to the rest (not to ICMP errors); return-rst only
//     answers TCP; set block-policy is applied to the rules by the parser.
//
// One Eval is one pass of pf: a forwarded packet is evaluated twice, in
// on the receiving interface and out on the sending one, and owns a
// state for each pass, as in pf.
//
// With the option Linux the engine models pfconf's nftables ruleset
// instead: the three places where Linux's connection tracking and NAT
// make it differ from pf (see Linux and docs/pfconf-nftables.md §7).
//
// For differential testing, RandomRuleset and RandomPacket draw small
// rulesets and packets over a shared address and port universe, Reply
// answers a packet, and NAT reports the port range pf chooses from.
//
// It is a model for tests, not a packet filter, and an Engine is not safe
// for concurrent use. Not modelled: TCP window tracking and state
// timeouts, fragments (fragment rules never match), synproxy (treated as
// keep state), routing (route-to and friends are ignored; no-route,
// urpf-failed and route labels never match), sockets (user and group
// behave as for a packet without a local socket), OS fingerprints (never
// match), max-pkt-rate and source tracking limits, rdomains other than
// 0, af-to, and pool choice beyond the first address (reported as
// NAT.Pool). Tables share one name space across anchors.
package eval
