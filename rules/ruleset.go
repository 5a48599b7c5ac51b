package rules

import (
	"fmt"
	"strings"
)

// Ruleset is the rules of one anchor (the main ruleset is the root).
type Ruleset struct {
	Rules []*Rule
}

// Table flags (PFR_TFLAG_*).
const (
	TableConst    = 0x02
	TablePersist  = 0x01
	TableCounters = 0x04
)

// TableHost is one address in a table definition.
type TableHost struct {
	Not    bool
	AF     int
	Addr   AddrWrap
	IfName string
}

// TableInit is one initialiser of a table: a file or an address list.
type TableInit struct {
	File  string
	Hosts []TableHost
}

// Table is a table definition (table <name> …).
type Table struct {
	Name     string
	Flags    int
	InitAddr bool
	Inits    []TableInit
}

// PrintTable renders a table definition as print_tabledef does: flags,
// then each file and each run of address lists merged into one list.
func PrintTable(w *strings.Builder, t *Table) {
	fmt.Fprintf(w, "table <%s>", t.Name)
	if t.Flags&TableConst != 0 {
		w.WriteString(" const")
	}
	if t.Flags&TablePersist != 0 {
		w.WriteString(" persist")
	}
	if t.Flags&TableCounters != 0 {
		w.WriteString(" counters")
	}
	for i := 0; i < len(t.Inits); i++ {
		ti := t.Inits[i]
		if ti.File != "" {
			fmt.Fprintf(w, " file \"%s\"", ti.File)
			continue
		}
		w.WriteString(" {")
		for {
			for _, h := range t.Inits[i].Hosts {
				if h.Not {
					w.WriteString(" !")
				} else {
					w.WriteString(" ")
				}
				printAddr(w, &h.Addr, h.AF)
				if h.IfName != "" {
					w.WriteString("@" + h.IfName)
				}
			}
			if i+1 < len(t.Inits) && t.Inits[i+1].File == "" {
				i++
				continue
			}
			break
		}
		w.WriteString(" }")
	}
	if t.InitAddr && len(t.Inits) == 0 {
		w.WriteString(" { }")
	}
	w.WriteString("\n")
}

// Queue flags (PFQS_*).
const (
	QueueRoot    = 0x1
	QueueDefault = 0x1000
	QueueFlow    = 0x2
)

// Bandwidth is a queue bandwidth in bits per second or percent.
type Bandwidth struct {
	Absolute uint64
	Percent  int
}

// ServiceCurve is an HFSC service curve.
type ServiceCurve struct {
	M1, M2 Bandwidth
	D      int
}

// Queue is a queue definition (struct pf_queuespec).
type Queue struct {
	Name, Parent, IfName string
	Flags                int
	Flows, Quantum       int
	Interval, Target     int
	LinkShare, RealTime  ServiceCurve
	UpperLimit           ServiceCurve
	QLimit               int
}

func printBW(w *strings.Builder, prefix string, bw Bandwidth) {
	if bw.Percent != 0 {
		fmt.Fprintf(w, "%s%d%%", prefix, bw.Percent)
	} else if bw.Absolute != 0 {
		rate := bw.Absolute
		unit := " KMG"
		i := 0
		for rate >= 1000 && i <= 3 && rate%1000 == 0 {
			rate /= 1000
			i++
		}
		if i < len(unit) {
			fmt.Fprintf(w, "%s%d%c", prefix, rate, unit[i])
		} else {
			fmt.Fprintf(w, "%s%d", prefix, rate)
		}
	}
}

func printSC(w *strings.Builder, prefix string, sc ServiceCurve) {
	printBW(w, prefix, sc.M2)
	if sc.D != 0 {
		w.WriteString(" burst ")
		printBW(w, "", sc.M1)
		fmt.Fprintf(w, " for %dms", sc.D)
	}
}

// PrintQueue renders a queue as print_queuespec does.
func PrintQueue(w *strings.Builder, q *Queue) {
	w.WriteString("queue " + q.Name)
	if q.Parent != "" {
		w.WriteString(" parent " + q.Parent)
	} else if q.IfName != "" {
		w.WriteString(" on " + q.IfName)
	}
	if q.Flags&QueueFlow != 0 {
		fmt.Fprintf(w, " flows %d", q.Flows)
		if q.Quantum > 0 {
			fmt.Fprintf(w, " quantum %d", q.Quantum)
		}
		if q.Interval > 0 {
			fmt.Fprintf(w, " interval %dms", q.Interval/1000000)
		}
		if q.Target > 0 {
			fmt.Fprintf(w, " target %dms", q.Target/1000000)
		}
	}
	if q.LinkShare.M1.Absolute != 0 || q.LinkShare.M2.Absolute != 0 {
		printSC(w, " bandwidth ", q.LinkShare)
		printSC(w, ", min ", q.RealTime)
		printSC(w, ", max ", q.UpperLimit)
	}
	if q.Flags&QueueDefault != 0 {
		w.WriteString(" default")
	}
	if q.QLimit != 0 {
		fmt.Fprintf(w, " qlimit %d", q.QLimit)
	}
	w.WriteString("\n")
}

// PrintRuleset renders a ruleset the way pfctl -v loads it
// (pfctl_load_ruleset): one rule per line, anchors with inline rules
// followed by their rules in braces, two blanks of indent per level.
func PrintRuleset(w *strings.Builder, rs *Ruleset, depth int, verbose bool) {
	for _, r := range rs.Rules {
		if !verbose {
			// pfctl indents nested rules with -v but not with -vv
			// (pfctl_load_rule); closing braces are always indented.
			indent(w, depth)
		}
		call := ""
		if r.Anchor != nil {
			call = r.Anchor.Call
		}
		PrintRule(w, r, call, verbose)
		if r.Anchor != nil && r.Anchor.Ruleset != nil && len(r.Anchor.Ruleset.Rules) > 0 {
			w.WriteString(" {\n")
			PrintRuleset(w, r.Anchor.Ruleset, depth+1, verbose)
			indent(w, depth)
			w.WriteString("}\n")
			continue
		}
		w.WriteString("\n")
	}
}

func indent(w *strings.Builder, depth int) {
	for i := 0; i < depth; i++ {
		w.WriteString("  ")
	}
}
