package parser

import (
	"fmt"
	"strconv"
	"strings"

	"carpfw/rules"
)

// varset defines a macro (varset in parse.y): the values are joined with
// blanks and printed with -v.
func (p *parser) varset(v *Varset, s stmt) {
	val := strings.Join(v.Values, " ")
	if len(val) > maxMacro {
		p.errorAt(s.file, s.endLine, "macro value too long")
		return
	}
	if p.verbose() {
		p.stdout(fmt.Sprintf("%s = \"%s\"\n", v.Name, val))
	}
	if strings.ContainsAny(v.Name[min(1, len(v.Name)):], " \t\n\r\v\f") {
		p.errorAt(s.file, s.endLine, "macro name cannot contain whitespace")
		return
	}
	p.lex.macros.Set(v.Name, val, false)
}

var optimizations = map[string]bool{
	"default": true, "normal": true, "high-latency": true, "satellite": true,
	"aggressive": true, "conservative": true,
}

var limits = map[string]bool{
	"states": true, "src-nodes": true, "frags": true, "tables": true,
	"table-entries": true, "pktdelay-pkts": true, "anchors": true,
}

// option applies a set statement; pfctl prints each option as it is set
// when verbose (pfctl_set_* in pfctl.c).
func (p *parser) option(o *Option, s stmt) {
	line := s.endLine
	switch {
	case o.Reassemble != nil:
		on := true
		if o.Reassemble.Value == "no" {
			on = false
		} else if o.Reassemble.Value != "yes" {
			p.errorAt(s.file, line, fmt.Sprintf("invalid value '%s', expected 'yes' or 'no'", o.Reassemble.Value))
			return
		}
		p.reassemble = on
		if p.verbose() {
			yn := "no "
			if on {
				yn = "yes "
			}
			df := ""
			if o.Reassemble.NoDF {
				df = "no-df"
			}
			p.stdout("set reassemble " + yn + df + "\n")
		}
	case o.Optimization != nil:
		if !optimizations[*o.Optimization] {
			p.errorAt(s.file, line, "unknown optimization "+*o.Optimization)
			return
		}
		if p.verbose() {
			p.stdout("set optimization " + *o.Optimization + "\n")
		}
	case o.RulesetOpt != nil:
		v := strings.Join(o.RulesetOpt, " ")
		if v != "none" && v != "basic" && v != "profile" {
			p.errorAt(s.file, line, "unknown ruleset-optimization "+v)
		}
	case o.Timeouts != nil:
		for _, t := range o.Timeouts {
			if !p.setTimeout(t, s.file) {
				return
			}
		}
	case o.Limits != nil:
		for _, l := range o.Limits {
			if !p.setLimit(l, s.file) {
				return
			}
		}
	case o.LogInterface != nil:
		if p.verbose() {
			p.stdout("set loginterface " + *o.LogInterface + "\n")
		}
	case o.HostID != nil:
		var v uint64
		if o.HostID.Num != nil {
			if *o.HostID.Num < 0 {
				v = 1 << 40
			} else {
				v = uint64(*o.HostID.Num)
			}
		} else {
			u, err := strconv.ParseUint(*o.HostID.Str, 0, 64)
			if err != nil {
				p.errorAt(s.file, line, *o.HostID.Str+" is not a number")
				return
			}
			v = u
		}
		if v == 0 || v > 0xffffffff {
			p.errorAt(s.file, line, "hostid must be non-zero")
			return
		}
		if p.verbose() {
			p.stdout(fmt.Sprintf("set hostid 0x%08x\n", v))
		}
	case o.BlockPolicy != nil:
		if p.verbose() {
			p.stdout("set block-policy " + *o.BlockPolicy + "\n")
		}
		if *o.BlockPolicy == "drop" {
			p.blockPolicy = 0
		} else {
			p.blockPolicy = rules.FlagReturn
		}
	case o.Fingerprints != nil:
		if p.verbose() {
			p.stdout(fmt.Sprintf("set fingerprints \"%s\"\n", *o.Fingerprints))
		}
	case o.StatePolicy != nil:
		if p.verbose() {
			p.stdout("set state-policy " + *o.StatePolicy + "\n")
		}
		if *o.StatePolicy == "if-bound" {
			p.defaultLock = rules.FlagIfBound
		} else {
			p.defaultLock = 0
		}
	case o.Debug != nil:
		switch *o.Debug {
		case "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug":
		default:
			p.errorAt(s.file, line, "error setting debuglevel "+*o.Debug)
			return
		}
		if p.verbose() {
			p.stdout("set debug " + *o.Debug + "\n")
		}
	case o.Skip != nil:
		p.setSkip(o.Skip, s)
	case o.StateDefaults != nil:
		if p.stateDefSet {
			p.errorAt(s.file, line, "cannot redefine state-defaults")
			return
		}
		p.stateDefSet = true
		p.stateDefs = o.StateDefaults
	case o.Syncookies != nil:
		p.setSyncookies(o.Syncookies, s)
	}
}

func (p *parser) setTimeout(t *NamedValue, file string) bool {
	if t.Value < 0 || t.Value > 0xffffffff {
		p.errorAt(file, t.Pos.Line, "only positive values permitted")
		return false
	}
	if rules.TimeoutIndex(strings.ToLower(t.Name)) < 0 {
		p.stderr("pfctl: Bad timeout name.\n")
		p.errorAt(file, t.Pos.Line, "unknown timeout "+t.Name)
		return false
	}
	if p.verbose() {
		p.stdout(fmt.Sprintf("set timeout %s %d\n", t.Name, t.Value))
	}
	return true
}

func (p *parser) setLimit(l *NamedValue, file string) bool {
	if l.Value < 0 || l.Value > 0xffffffff {
		p.errorAt(file, l.Pos.Line, "only positive values permitted")
		return false
	}
	if !limits[strings.ToLower(l.Name)] {
		p.stderr("pfctl: Bad pool name.\n")
		p.errorAt(file, l.Pos.Line, fmt.Sprintf("unable to set limit %s %d", l.Name, l.Value))
		return false
	}
	if p.verbose() {
		p.stdout(fmt.Sprintf("set limit %s %d\n", l.Name, l.Value))
	}
	return true
}

// setSkip is expand_skip_interface.
func (p *parser) setSkip(ifs *Interface, s stmt) {
	items := ifs.Items
	if len(items) == 1 && !items[0].Not && items[0].Name != nil && *items[0].Name == "none" {
		if p.verbose() {
			p.stdout("set skip on none\n")
		}
		return
	}
	var w strings.Builder
	w.WriteString("set skip on {")
	errs := 0
	for _, it := range items {
		name := "any"
		if it.Name != nil {
			name = *it.Name
		}
		if it.Rdomain != nil {
			name = ""
		}
		w.WriteString(" " + name)
		if it.Not {
			p.errorAt(s.file, s.endLine, "skip on ! <interface> is not supported")
			errs++
		} else if it.Rdomain != nil {
			p.errorAt(s.file, s.endLine, "skip on rdomain <num> is not supported")
			errs++
		}
	}
	w.WriteString(" }\n")
	if p.verbose() {
		p.stdout(w.String())
	}
	if errs > 0 {
		p.errorAt(s.file, s.endLine, "error setting skip interface(s)")
	}
}

// setSyncookies is set syncookies never|always|adaptive [(start n%, end
// m%)] (pfctl_set_syncookies).
func (p *parser) setSyncookies(sc *Syncookies, s stmt) {
	line := s.endLine
	switch sc.Mode {
	case "never", "adaptive", "always":
	default:
		p.errorAt(s.file, line, "illegal value for syncookies")
		return
	}
	var hi, lo float64
	for _, o := range sc.Opts {
		v, rest := strtod(o.Value)
		if rest != "%" {
			p.syntaxError(s.file, line, 0)
			return
		}
		if v <= 0 || v > 100 {
			p.errorAt(s.file, line, "illegal percentage value")
			return
		}
		switch o.Name {
		case "start":
			hi = v
		case "end":
			lo = v
		default:
			p.errorAt(s.file, line, "illegal syncookie option")
			return
		}
	}
	if sc.Opts != nil {
		if sc.Mode != "adaptive" {
			p.stderr("pfctl: syncookies start/end only apply to adaptive\n")
			p.errorAt(s.file, line, "error setting syncookies")
			return
		}
		if hi == 0 {
			hi = 25
		}
		if lo == 0 {
			lo = hi / 2
		}
		if lo >= hi {
			p.stderr("pfctl: start must be higher than end\n")
			p.errorAt(s.file, line, "error setting syncookies")
			return
		}
	}
	if !p.verbose() {
		return
	}
	if sc.Mode == "adaptive" && sc.Opts != nil {
		p.stdout(fmt.Sprintf("set syncookies adaptive (start %d%%, end %d%%)\n", uint32(hi), uint32(lo)))
		return
	}
	p.stdout("set syncookies " + sc.Mode + "\n")
}
