// Package eval is a reference evaluator of OpenBSD pf semantics over the
// carpfw rule model (package rules). It answers, for one packet seen by
// pf on one interface in one direction, what pf would do: which rule
// wins, pass or block (and what block return would send), which
// translation applies, and whether a state is created. States are kept
// inside the Engine, so a later reply packet passes by its state without
// ruleset evaluation, as in pf.
//
// The model follows sys/net/pf.c:
//
//   - pf_test: packets on "set skip" interfaces pass untouched; otherwise
//     the state table is searched first (pf_find_state) and a packet that
//     matches a state passes without ruleset evaluation.
//   - pf_test_rule and pf_match_rule: rules are walked in order, the last
//     matching pass or block rule wins, a quick rule stops the walk,
//     match rules apply their options (tag, log, nat-to, rdr-to) as they
//     are met and later rules see the translated addresses; anchors are
//     walked in place (pf_step_into_anchor) and "anchor … quick" stops
//     after the anchor when its own rules decided the packet; once rules
//     expire at their first match.
//   - when no pass or block rule matches, pf's default rule passes the
//     packet without creating a state.
//   - a pass rule that keeps state creates one (pf_create_state), except
//     for ICMP error messages, which only ever match existing states.
//
// It is a model for tests, not a packet filter: there is no TCP window
// tracking, no timeouts, no fragment handling, no routing (no-route,
// urpf-failed and route labels never match), no sockets (user and group
// behave as for a packet without a local socket), no OS fingerprints and
// no rate limits.
package eval
