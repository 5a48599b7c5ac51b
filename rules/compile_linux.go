package rules

// check classifies the options of a rule that have no Linux equivalent
// (reference §1.15). Where ignoring an option would change what passes,
// what is blocked or how it is translated or routed, it is an error;
// where only telemetry, tuning or queueing is lost, a warning (an error
// with --strict). docs/pfconf-nftables.md lists the classification.
func (c *compiler) check(r *Rule) {
	e := func(what string) { c.errorf(r, "%s: not supported on Linux", what) }
	w := func(what string) { c.warnf(r, "%s", what) }
	if r.RuleFlag&FlagAfTo != 0 {
		c.errorf(r, "af-to is not supported on Linux")
	}
	switch r.RT {
	case RouteTo:
		e("route-to")
	case RouteReply:
		e("reply-to")
	case RouteDup:
		e("dup-to")
	}
	switch r.Divert.Type {
	case DivertTo:
		e("divert-to")
	case DivertReply:
		e("divert-reply")
	case DivertPacket:
		e("divert-packet")
	}
	if r.RTableID >= 0 {
		e("rtable")
	}
	if r.OnRdomain >= 0 {
		e("on rdomain")
	}
	if r.OS != "" {
		e("os")
	}
	if r.QName != "" {
		e("queue")
	}
	if r.UID.Op != OpNone {
		e("user")
	}
	if r.GID.Op != OpNone {
		e("group")
	}
	if r.Prio != 0 {
		e("prio")
	}
	if r.TOS != 0 {
		e("tos")
	}
	if r.PktRate.Limit != 0 {
		e("max-pkt-rate")
	}
	if r.Flush == 1 {
		w("overload flush: every state the address opened is flushed on Linux, as with flush global")
	}
	if r.Prob != 0 {
		e("probability")
	}
	if r.RuleFlag&FlagOnce != 0 {
		e("once")
	}
	if r.Src.Addr.Type == AddrRTLabel || r.Dst.Addr.Type == AddrRTLabel {
		e("route labels")
	}
	if r.RuleFlag&FlagAfTo == 0 {
		c.checkTranslation(r)
	}

	switch r.KeepState {
	case StateModulate:
		w("modulate state is kept as keep state on Linux")
	case StateSynproxy:
		w("synproxy state is kept as keep state on Linux")
	}
	if r.RuleFlag&FlagIfBound != 0 {
		w("if-bound: states are floating on Linux")
	}
	if r.RuleFlag&FlagStateSloppy != 0 {
		w("sloppy ignored on Linux")
	}
	if r.RuleFlag&FlagPflow != 0 {
		w("pflow ignored on Linux")
	}
	if r.RuleFlag&(FlagSrcTrack|FlagRuleSrcTrack) != 0 && r.MaxSrcConn == 0 && r.MaxSrcConnRate.Limit == 0 && r.MaxSrcStates == 0 {
		// With max-src-conn(-rate), pfctl sets source-track rule
		// itself, and the limits are kept (compile_limits.go).
		w("source-track ignored on Linux")
	}
	for i, t := range r.Timeout {
		if t != 0 && !impliedTimeout(r, i) {
			w("per-rule timeouts ignored on Linux")
			break
		}
	}
	if r.ScrubFlags != 0 || r.MinTTL != 0 || r.MaxMSS != 0 {
		w("scrub options ignored on Linux")
	}
	if r.Delay != 0 || r.RuleFlag&FlagSetDelay != 0 {
		w("set delay ignored on Linux")
	}
	if r.ReturnTTL != 0 {
		w("return-rst ttl ignored on Linux")
	}
	if r.Log&LogAll != 0 {
		w("log (all): only the packet that creates the state is logged on Linux")
	}
	if r.Log&LogMatches != 0 {
		w("log (matches) ignored on Linux")
	}
	if r.Log&LogUser != 0 {
		w("log (user) ignored on Linux")
	}
	if r.RuleFlag&FlagFragment != 0 {
		w("fragment: Linux reassembles before filtering, the rule never sees fragments")
	}
}

// impliedTimeout reports whether timeout i of r is the one pfctl derives
// from a state limit rather than one the rule set: adaptive.start and
// adaptive.end from max, src.track from max-src-conn-rate (parse.y).
func impliedTimeout(r *Rule, i int) bool {
	switch i {
	case TimeoutAdaptiveStart:
		return r.MaxStates != 0 && r.Timeout[i] == (r.MaxStates/10)*6
	case TimeoutAdaptiveEnd:
		return r.MaxStates != 0 && r.Timeout[i] == (r.MaxStates/10)*12
	case TimeoutSrcNode:
		return r.MaxSrcConnRate.Seconds != 0 && r.Timeout[i] == r.MaxSrcConnRate.Seconds
	}
	return false
}
