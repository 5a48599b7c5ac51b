package parser

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"carpfw/rules"
)

// Check parses a ruleset and, when it is free of errors, "loads" it the
// way pfctl -n does: the queues are checked, then with Verbose the queues
// and the rules are printed, then the anchors named by load anchor are
// read and handled the same way. It returns the number of errors; zero
// means pfctl would have accepted the file.
func Check(name string, data []byte, cfg Config) int {
	return check(name, data, cfg, newShared())
}

func check(name string, data []byte, cfg Config, sh *shared) int {
	res := parse(name, data, cfg, sh)
	if cfg.Stdout == nil {
		cfg.Stdout = func(string) {}
	}
	if cfg.Stderr == nil {
		cfg.Stderr = func(string) {}
	}
	if res.Errors > 0 {
		return res.Errors
	}
	if msgs := CheckQueues(res.Queues); len(msgs) > 0 {
		for _, m := range msgs {
			cfg.Stderr("pfctl: " + m + "\n")
		}
		return len(msgs)
	}
	if cfg.Verbose > 0 {
		var w strings.Builder
		w.Grow(128 * len(res.Rules.Rules))
		for _, q := range res.Queues {
			rules.PrintQueue(&w, q)
		}
		ExpandNr(res.Rules)
		rules.PrintRuleset(&w, res.Rules, 0, cfg.Verbose > 1)
		cfg.Stdout(w.String())
	}
	for _, la := range res.LoadAnchors {
		if cfg.Verbose > 0 {
			cfg.Stderr(fmt.Sprintf("\nLoading anchor %s from %s\n", la.Anchor, la.File))
		}
		read := cfg.ReadFile
		if read == nil {
			read = os.ReadFile
		}
		data, err := read(la.File)
		if err != nil {
			cfg.Stderr(fmt.Sprintf("pfctl: %s: %s\n", la.File, errText(err)))
			return 1
		}
		sub := cfg
		sub.Anchor = la.Anchor
		if n := check(la.File, data, sub, sh); n > 0 {
			return n
		}
	}
	return 0
}

// ExpandNr replaces $nr in labels and tags with each rule's number, as
// pfctl does when it loads the rules (pfctl_expand_label_nr).
func ExpandNr(rs *rules.Ruleset) {
	for _, r := range rs.Rules {
		n := strconv.Itoa(r.Nr)
		r.Label = strings.ReplaceAll(r.Label, "$nr", n)
		r.Tag = strings.ReplaceAll(r.Tag, "$nr", n)
		r.MatchTag = strings.ReplaceAll(r.MatchTag, "$nr", n)
		if r.Anchor != nil && r.Anchor.Ruleset != nil {
			ExpandNr(r.Anchor.Ruleset)
		}
	}
}
