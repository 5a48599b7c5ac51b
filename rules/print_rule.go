package rules

import (
	"fmt"
	"strconv"
	"strings"

	"carpfw/internal/hostinv"
)

// PrintRule renders one rule as pfctl's print_rule does; anchorCall is the
// name of the anchor an anchor rule calls ("" for other rules). With
// verbose (pfctl -vv) the rule number is prefixed as "@N ".
func PrintRule(w *strings.Builder, r *Rule, anchorCall string, verbose bool) {
	if verbose {
		fmt.Fprintf(w, "@%d ", r.Nr)
	}
	printAction(w, r, anchorCall)
	switch r.Direction {
	case DirIn:
		w.WriteString(" in")
	case DirOut:
		w.WriteString(" out")
	}
	printLog(w, r)
	if r.Quick {
		w.WriteString(" quick")
	}
	if r.IfName != "" {
		if r.IfNot {
			w.WriteString(" on ! " + r.IfName)
		} else {
			w.WriteString(" on " + r.IfName)
		}
	}
	if r.OnRdomain >= 0 {
		if r.IfNot {
			fmt.Fprintf(w, " on ! rdomain %d", r.OnRdomain)
		} else {
			fmt.Fprintf(w, " on rdomain %d", r.OnRdomain)
		}
	}
	switch r.AF {
	case AFInet:
		w.WriteString(" inet")
	case AFInet6:
		w.WriteString(" inet6")
	}
	if r.Proto != 0 {
		if name, ok := hostinv.ProtocolName(r.Proto); ok {
			w.WriteString(" proto " + name)
		} else {
			fmt.Fprintf(w, " proto %d", r.Proto)
		}
	}
	printFromTo(w, r)
	if r.RcvIfName != "" {
		not := ""
		if r.RcvIfNot {
			not = "!"
		}
		fmt.Fprintf(w, " %sreceived-on %s", not, r.RcvIfName)
	}
	if r.UID.Op != 0 {
		printUGID(w, r.UID, "user")
	}
	if r.GID.Op != 0 {
		printUGID(w, r.GID, "group")
	}
	if r.Flags != 0 || r.FlagSet != 0 {
		w.WriteString(" flags ")
		printFlags(w, r.Flags)
		w.WriteString("/")
		printFlags(w, r.FlagSet)
	} else if (r.Action == ActionPass || r.Action == ActionMatch) &&
		(r.Proto == 0 || r.Proto == 6) && r.RuleFlag&FlagFragment == 0 &&
		anchorCall == "" && r.KeepState != 0 {
		w.WriteString(" flags any")
	}
	printICMP(w, r)
	if r.TOS != 0 {
		fmt.Fprintf(w, " tos 0x%2.2x", r.TOS)
	}
	if r.Prio != 0 {
		p := r.Prio
		if p == PrioZero {
			p = 0
		}
		fmt.Fprintf(w, " prio %d", p)
	}
	if r.PktRate.Limit != 0 {
		fmt.Fprintf(w, " max-pkt-rate %d/%d", r.PktRate.Limit, r.PktRate.Seconds)
	}
	printSets(w, r)
	printState(w, r, anchorCall)
	if r.RuleFlag&FlagFragment != 0 {
		w.WriteString(" fragment")
	}
	printScrub(w, r)
	if r.AllowOpts {
		w.WriteString(" allow-opts")
	}
	if r.Label != "" {
		fmt.Fprintf(w, " label \"%s\"", r.Label)
	}
	if r.RuleFlag&FlagOnce != 0 {
		w.WriteString(" once")
	}
	if r.Tag != "" {
		w.WriteString(" tag " + r.Tag)
	}
	if r.MatchTag != "" {
		if r.MatchTagNot {
			w.WriteString(" !")
		}
		w.WriteString(" tagged " + r.MatchTag)
	}
	if r.RTableID != -1 {
		fmt.Fprintf(w, " rtable %d", r.RTableID)
	}
	switch r.Divert.Type {
	case DivertTo:
		fmt.Fprintf(w, " divert-to %s port %d", r.Divert.Addr.String(r.AF), r.Divert.Port)
	case DivertReply:
		w.WriteString(" divert-reply")
	case DivertPacket:
		fmt.Fprintf(w, " divert-packet port %d", r.Divert.Port)
	}
	printTranslation(w, r, anchorCall)
}

func printAction(w *strings.Builder, r *Rule, anchorCall string) {
	if anchorCall != "" {
		name := anchorCall
		if i := strings.LastIndexByte(anchorCall, '/'); i >= 0 {
			name = anchorCall[i+1:]
		}
		if strings.HasPrefix(name, "_") {
			w.WriteString("anchor")
		} else {
			fmt.Fprintf(w, "anchor \"%s\"", anchorCall)
		}
	} else {
		switch r.Action {
		case ActionPass:
			w.WriteString("pass")
		case ActionBlock:
			w.WriteString("block")
		case ActionMatch:
			w.WriteString("match")
		}
	}
	if r.Action != ActionBlock {
		return
	}
	switch {
	case r.RuleFlag&FlagReturn != 0:
		w.WriteString(" return")
	case r.RuleFlag&FlagReturnRST != 0:
		if r.ReturnTTL == 0 {
			w.WriteString(" return-rst")
		} else {
			fmt.Fprintf(w, " return-rst(ttl %d)", r.ReturnTTL)
		}
	case r.RuleFlag&FlagReturnICMP != 0:
		code4 := icmpCodeString(int(r.ReturnICMP>>8), int(r.ReturnICMP&255), AFInet)
		code6 := icmpCodeString(int(r.ReturnICMP6>>8), int(r.ReturnICMP6&255), AFInet6)
		switch r.AF {
		case AFInet:
			fmt.Fprintf(w, " return-icmp(%s)", code4)
		case AFInet6:
			fmt.Fprintf(w, " return-icmp6(%s)", code6)
		default:
			fmt.Fprintf(w, " return-icmp(%s, %s)", code4, code6)
		}
	default:
		w.WriteString(" drop")
	}
}

func icmpCodeString(t, c, af int) string {
	if name, ok := ICMPCodeName(t, c, af); ok {
		return name
	}
	return strconv.Itoa(c)
}

func printLog(w *strings.Builder, r *Rule) {
	if r.Log == 0 {
		return
	}
	w.WriteString(" log")
	if r.Log&^LogOn == 0 && r.LogIf == 0 {
		return
	}
	var opts []string
	if r.Log&LogAll != 0 {
		opts = append(opts, "all")
	}
	if r.Log&LogMatches != 0 {
		opts = append(opts, "matches")
	}
	if r.Log&LogUser != 0 {
		opts = append(opts, "user")
	}
	if r.LogIf != 0 {
		opts = append(opts, fmt.Sprintf("to pflog%d", r.LogIf))
	}
	w.WriteString(" (" + strings.Join(opts, ", ") + ")")
}

func printICMP(w *strings.Builder, r *Rule) {
	if r.Type == 0 {
		return
	}
	if r.AF != AFInet6 {
		w.WriteString(" icmp-type")
	} else {
		w.WriteString(" icmp6-type")
	}
	if name, ok := ICMPTypeName(r.Type-1, r.AF); ok {
		w.WriteString(" " + name)
	} else {
		fmt.Fprintf(w, " %d", r.Type-1)
	}
	if r.Code != 0 {
		if name, ok := ICMPCodeName(r.Type-1, r.Code-1, r.AF); ok {
			w.WriteString(" code " + name)
		} else {
			fmt.Fprintf(w, " code %d", r.Code-1)
		}
	}
}

func printSets(w *strings.Builder, r *Rule) {
	if r.ScrubFlags&(ScrubSetTOS|ScrubSetPrio) == 0 && r.QName == "" && r.RuleFlag&FlagSetDelay == 0 {
		return
	}
	var parts []string
	if r.ScrubFlags&ScrubSetPrio != 0 {
		if r.SetPrio[0] == r.SetPrio[1] {
			parts = append(parts, fmt.Sprintf("prio %d", r.SetPrio[0]))
		} else {
			parts = append(parts, fmt.Sprintf("prio(%d, %d)", r.SetPrio[0], r.SetPrio[1]))
		}
	}
	if r.QName != "" {
		if r.PQName != "" {
			parts = append(parts, fmt.Sprintf("queue(%s, %s)", r.QName, r.PQName))
		} else {
			parts = append(parts, "queue "+r.QName)
		}
	}
	if r.ScrubFlags&ScrubSetTOS != 0 {
		parts = append(parts, fmt.Sprintf("tos 0x%2.2x", r.SetTOS))
	}
	if r.RuleFlag&FlagSetDelay != 0 {
		parts = append(parts, fmt.Sprintf("delay %d", r.Delay))
	}
	w.WriteString(" set (" + strings.Join(parts, ", ") + ")")
}

func printState(w *strings.Builder, r *Rule, anchorCall string) {
	ropts := r.MaxStates != 0 || r.MaxSrcNodes != 0 || r.MaxSrcStates != 0 ||
		r.RuleFlag&(FlagNoSync|FlagSrcTrack|FlagIfBound|FlagStateSloppy|FlagPflow) != 0
	for _, t := range r.Timeout {
		if t != 0 {
			ropts = true
		}
	}
	switch {
	case r.KeepState == StateNone && r.Action == ActionPass && anchorCall == "":
		w.WriteString(" no state")
	case r.KeepState == StateNormal && ropts:
		w.WriteString(" keep state")
	case r.KeepState == StateModulate:
		w.WriteString(" modulate state")
	case r.KeepState == StateSynproxy:
		w.WriteString(" synproxy state")
	}
	if r.Prob != 0 {
		s := strconv.FormatFloat(float64(r.Prob)*100.0/(4294967295.0+1.0), 'f', 6, 64)
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
		fmt.Fprintf(w, " probability %s%%", s)
	}
	if !ropts {
		return
	}
	var opts []string
	if r.MaxStates != 0 {
		opts = append(opts, fmt.Sprintf("max %d", r.MaxStates))
	}
	if r.RuleFlag&FlagNoSync != 0 {
		opts = append(opts, "no-sync")
	}
	if r.RuleFlag&FlagSrcTrack != 0 {
		if r.RuleFlag&FlagRuleSrcTrack != 0 {
			opts = append(opts, "source-track rule")
		} else {
			opts = append(opts, "source-track global")
		}
	}
	if r.MaxSrcStates != 0 {
		opts = append(opts, fmt.Sprintf("max-src-states %d", r.MaxSrcStates))
	}
	if r.MaxSrcConn != 0 {
		opts = append(opts, fmt.Sprintf("max-src-conn %d", r.MaxSrcConn))
	}
	if r.MaxSrcConnRate.Limit != 0 {
		opts = append(opts, fmt.Sprintf("max-src-conn-rate %d/%d", r.MaxSrcConnRate.Limit, r.MaxSrcConnRate.Seconds))
	}
	if r.MaxSrcNodes != 0 {
		opts = append(opts, fmt.Sprintf("max-src-nodes %d", r.MaxSrcNodes))
	}
	if r.OverloadTable != "" {
		s := "overload <" + r.OverloadTable + ">"
		if r.Flush != 0 {
			s += " flush"
		}
		if r.Flush&2 != 0 {
			s += " global"
		}
		opts = append(opts, s)
	}
	if r.RuleFlag&FlagIfBound != 0 {
		opts = append(opts, "if-bound")
	}
	if r.RuleFlag&FlagStateSloppy != 0 {
		opts = append(opts, "sloppy")
	}
	if r.RuleFlag&FlagPflow != 0 {
		opts = append(opts, "pflow")
	}
	for i, t := range r.Timeout {
		if t != 0 {
			opts = append(opts, fmt.Sprintf("%s %d", Timeouts[i], t))
		}
	}
	w.WriteString(" (" + strings.Join(opts, ", ") + ")")
}

func printScrub(w *strings.Builder, r *Rule) {
	if r.ScrubFlags&(ScrubNoDF|ScrubRandomID|ScrubTCP) == 0 && r.MinTTL == 0 && r.MaxMSS == 0 {
		return
	}
	var opts []string
	if r.ScrubFlags&ScrubNoDF != 0 {
		opts = append(opts, "no-df")
	}
	if r.ScrubFlags&ScrubRandomID != 0 {
		opts = append(opts, "random-id")
	}
	if r.MinTTL != 0 {
		opts = append(opts, fmt.Sprintf("min-ttl %d", r.MinTTL))
	}
	if r.ScrubFlags&ScrubTCP != 0 {
		opts = append(opts, "reassemble tcp")
	}
	if r.MaxMSS != 0 {
		opts = append(opts, fmt.Sprintf("max-mss %d", r.MaxMSS))
	}
	w.WriteString(" scrub (" + strings.Join(opts, " ") + ")")
}

func printTranslation(w *strings.Builder, r *Rule, anchorCall string) {
	naf := r.AF
	if r.NAF != 0 {
		naf = r.NAF
	}
	switch {
	case anchorCall == "" && r.Nat.Addr.Type != AddrNone && r.RuleFlag&FlagAfTo != 0:
		fam := "inet6"
		if r.NAF == AFInet {
			fam = "inet"
		}
		w.WriteString(" af-to " + fam + " from ")
		printPool(w, &r.Nat, r.Nat.ProxyPort[0], r.Nat.ProxyPort[1], naf, poolNat)
		if r.Rdr.Addr.Type != AddrNone {
			w.WriteString(" to ")
			printPool(w, &r.Rdr, r.Rdr.ProxyPort[0], r.Rdr.ProxyPort[1], naf, poolRdr)
		}
	case anchorCall == "" && r.Nat.Addr.Type != AddrNone:
		w.WriteString(" nat-to ")
		printPool(w, &r.Nat, r.Nat.ProxyPort[0], r.Nat.ProxyPort[1], naf, poolNat)
	case anchorCall == "" && r.Rdr.Addr.Type != AddrNone:
		w.WriteString(" rdr-to ")
		printPool(w, &r.Rdr, r.Rdr.ProxyPort[0], r.Rdr.ProxyPort[1], r.AF, poolRdr)
	}
	if r.RT != RouteNone {
		switch r.RT {
		case RouteTo:
			w.WriteString(" route-to")
		case RouteReply:
			w.WriteString(" reply-to")
		case RouteDup:
			w.WriteString(" dup-to")
		}
		w.WriteString(" ")
		printPool(w, &r.Route, 0, 0, r.AF, poolRoute)
	}
}
