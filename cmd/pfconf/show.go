package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"carpfw/internal/cli"
	"carpfw/internal/nftload"
	"carpfw/rules"
)

// show implements -s rules|labels|Tables|info|states|all in pfctl's
// formats (pfctl(8); reference §3.2).
func show(cmd *cobra.Command, o *options) error {
	var b strings.Builder
	var err error
	switch o.show {
	case "rules":
		err = showRules(&b, o)
	case "labels":
		err = showLabels(&b)
	case "Tables":
		err = showTables(&b, o)
	case "info":
		err = showInfo(&b)
	case "states":
		err = showStates(&b, o)
	case "all":
		b.WriteString("FILTER RULES:\n")
		if err = showRules(&b, o); err == nil {
			b.WriteString("\nINFO:\n")
			err = showInfo(&b)
		}
		if err == nil {
			var t strings.Builder
			if err = showTables(&t, o); err == nil && t.Len() > 0 {
				b.WriteString("\nTABLES:\n" + t.String())
			}
		}
	}
	io.WriteString(cmd.OutOrStdout(), b.String())
	if err != nil {
		return cli.Errorf("%v", err)
	}
	return nil
}

// loaded returns the state file and the kernel counters, or an empty
// state when pfconf's table is not there.
func loaded() (nftload.Saved, map[string][2]uint64, error) {
	st, err := nftload.Status(newConn)
	if err != nil || !st.Loaded {
		return nftload.Saved{}, nil, err
	}
	dir, err := runDir()
	if err != nil {
		return nftload.Saved{}, nil, err
	}
	saved, err := nftload.ReadSaved(dir)
	if err != nil {
		return saved, nil, err
	}
	conn, err := newConn()
	if err != nil {
		return saved, nil, err
	}
	cs, err := nftload.Counters(conn)
	return saved, cs, err
}

// sums adds a rule's counters: total, inbound and outbound packets and
// bytes.
func sums(r nftload.SavedRule, cs map[string][2]uint64) (pk, by, inP, inB, outP, outB uint64) {
	for _, n := range r.Counters {
		c := cs[n]
		pk += c[0]
		by += c[1]
		if strings.HasSuffix(n, "_in") {
			inP, inB = inP+c[0], inB+c[1]
		} else {
			outP, outB = outP+c[0], outB+c[1]
		}
	}
	return
}

// showRules prints the main ruleset; with -v the counter lines follow
// each rule. Linux counts the packets a rule decided; pf's evaluation
// count has no equivalent and is shown as that number too.
func showRules(w *strings.Builder, o *options) error {
	if o.anchor != "" {
		return showAnchorRules(w, o)
	}
	saved, cs, err := loaded()
	if err != nil {
		return err
	}
	for _, r := range saved.Rules {
		if o.verbose > 1 {
			fmt.Fprintf(w, "@%d ", r.Nr)
		}
		w.WriteString(r.Text + "\n")
		if o.verbose > 0 {
			pk, by, _, _, _, _ := sums(r, cs)
			fmt.Fprintf(w, "  [ Evaluations: %-8d  Packets: %-8d  Bytes: %-10d  States: %-6d]\n", pk, pk, by, 0)
			fmt.Fprintf(w, "  [ Inserted: uid %d pid %d State Creations: %-6d]\n", 0, saved.PID, 0)
		}
	}
	return nil
}

// showLabels prints "label evals packets bytes in_packets in_bytes
// out_packets out_bytes states_total" per label, summed over its rules.
func showLabels(w *strings.Builder) error {
	saved, cs, err := loaded()
	if err != nil {
		return err
	}
	type tot struct{ ev, pk, by, ip, ib, op, ob uint64 }
	var order []string
	sum := map[string]*tot{}
	for _, r := range saved.Rules {
		if r.Label == "" {
			continue
		}
		t := sum[r.Label]
		if t == nil {
			t = &tot{}
			sum[r.Label] = t
			order = append(order, r.Label)
		}
		pk, by, ip, ib, op, ob := sums(r, cs)
		t.ev, t.pk, t.by, t.ip, t.ib, t.op, t.ob = t.ev+pk, t.pk+pk, t.by+by, t.ip+ip, t.ib+ib, t.op+op, t.ob+ob
	}
	for _, l := range order {
		t := sum[l]
		fmt.Fprintf(w, "%s %d %d %d %d %d %d %d %d\n", l, t.ev, t.pk, t.by, t.ip, t.ib, t.op, t.ob, 0)
	}
	return nil
}

// showTables lists the table names; -v adds pfctl's flag column.
func showTables(w *strings.Builder, o *options) error {
	conn, err := newConn()
	if err != nil {
		return err
	}
	names, err := nftload.TableNames(conn)
	if err != nil {
		return err
	}
	for _, n := range names {
		// An anchor's tables (nftload.ScopedTable) show under -a only.
		if o.anchor != "" {
			var ok bool
			if n, ok = strings.CutPrefix(n, o.anchor+"/"); !ok || strings.Contains(n, "/") {
				continue
			}
		} else if strings.Contains(n, "/") {
			continue
		}
		if o.verbose > 0 {
			fmt.Fprintf(w, "--a-r--\t%s\n", n)
			continue
		}
		fmt.Fprintln(w, n)
	}
	return nil
}

// showInfo prints the first lines of pfctl -s info: the status line
// with the time since the ruleset was loaded, and the decided packets.
func showInfo(w *strings.Builder) error {
	st, err := nftload.Status(newConn)
	if err != nil {
		return err
	}
	saved, cs, err := loaded()
	if err != nil {
		return err
	}
	status := "Disabled"
	if st.Enabled {
		d := time.Since(saved.Loaded)
		if saved.Loaded.IsZero() {
			d = 0
		}
		s := int(d.Seconds())
		status = fmt.Sprintf("Enabled for %d days %02d:%02d:%02d", s/86400, s/3600%24, s/60%60, s%60)
	}
	fmt.Fprintf(w, "Status: %-44s%15s\n\n", status, "Debug: err")
	var match uint64
	for _, c := range cs {
		match += c[0]
	}
	n, err := stateCount()
	if err != nil {
		n = 0
	}
	w.WriteString("State Table                          Total             Rate\n")
	fmt.Fprintf(w, "  %-25s %14d %14s\n", "current entries", n, "")
	w.WriteString("Counters\n")
	fmt.Fprintf(w, "  %-25s %14d %14s\n", "match", match, "")
	return nil
}

// showStates prints one line per pf state: floating states show "all"
// as their interface.
func showStates(w *strings.Builder, o *options) error {
	sts, err := nftload.States()
	if err != nil {
		return err
	}
	for _, s := range sts {
		w.WriteString("all " + s.Line + "\n")
	}
	return nil
}

func stateCount() (int, error) { return nftload.CountStates() }

// showAnchorRules prints the rules of anchor -a, inline in the main
// ruleset or loaded with -a -f, as pfctl -a ANCHOR -s rules does.
func showAnchorRules(w *strings.Builder, o *options) error {
	dir, err := runDir()
	if err != nil {
		return err
	}
	saved, err := nftload.ReadSaved(dir)
	if err != nil {
		return err
	}
	if saved.Main == nil {
		return errNoAnchor
	}
	rs, err := nftload.LoadedAnchor(saved, o.anchor)
	if err != nil {
		return err
	}
	if rs == nil {
		return errNoAnchor
	}
	rules.PrintRuleset(w, rs, 0, o.verbose > 1)
	return nil
}

// errNoAnchor is pfctl's message for an anchor that does not exist.
var errNoAnchor = errors.New("Anchor does not exist.")
