// Package pfconfbench measures pfconf: loading a large ruleset against
// nft -f of the same text, and forwarding throughput through a compiled
// ruleset. Run as root:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/pfconf/
package pfconfbench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"carpfw/internal/hostinv"
	"carpfw/internal/lab"
	"carpfw/internal/nftload"
	"carpfw/rules"
)

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bigRuleset writes a pf.conf of n filter rules and a table file of m
// addresses (every other address of 172.16.0.0/12, so that no two merge
// into one interval) and returns the pf.conf path.
func bigRuleset(b *testing.B, n, m int) string {
	dir := b.TempDir()
	var t strings.Builder
	for i := 0; i < m; i++ {
		v := 2 * i
		fmt.Fprintf(&t, "172.%d.%d.%d\n", 16+v>>16, v>>8&0xff, v&0xff)
	}
	tf := filepath.Join(dir, "big.txt")
	os.WriteFile(tf, []byte(t.String()), 0o644)
	var w strings.Builder
	fmt.Fprintf(&w, "table <big> file \"%s\"\nblock all\n", tf)
	for i := 0; i < n-3; i++ {
		fmt.Fprintf(&w, "pass in on r0 proto tcp from 10.%d.%d.0/24 to any port %d\n", 100+i/256, i%256, 1024+i%30000)
	}
	w.WriteString("block in quick from <big>\npass all\n")
	p := filepath.Join(dir, "pf.conf")
	os.WriteFile(p, []byte(w.String()), 0o644)
	return p
}

// BenchmarkLoad loads 10,000 rules and a 100,000-address table, five
// times each through pfconf's library (one netlink batch) and through
// nft -f of the --print-nft text, in one namespace, and prints the
// medians and their ratio.
func BenchmarkLoad(b *testing.B) {
	const loads = 5
	path := bigRuleset(b, 10000, 100000)
	data, _ := os.ReadFile(path)
	l := lab.New(b)
	h := l.Host("r")
	var prog *rules.Program
	var compile time.Duration
	err := h.Do(func() (err error) {
		start := time.Now()
		prog, err = nftload.Compile(nftload.Source{Name: "pf.conf", Data: data, Inventory: hostinv.OpenBSDRegress(),
			Groups: func(string) ([]string, bool) { return nil, false }})
		compile = time.Since(start)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	text := "table inet pfconf {}\ndelete table inet pfconf\n" + prog.Text()
	nftFile := filepath.Join(b.TempDir(), "r.nft")
	os.WriteFile(nftFile, []byte(text), 0o644)
	var lib, nft []time.Duration
	for i := 0; i < loads; i++ {
		if err := h.Do(func() error {
			start := time.Now()
			conn, err := nftload.Dial()
			if err != nil {
				return err
			}
			if err := nftload.Load(conn, prog, nftload.LoadOptions{}); err != nil {
				return err
			}
			lib = append(lib, time.Since(start))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if out, err := h.RunTimeout(5*time.Minute, "nft", "-f", nftFile); err != nil {
			b.Fatalf("nft -f: %v\n%s", err, out)
		}
		nft = append(nft, time.Since(start))
	}
	ml, mn := median(lib), median(nft)
	fmt.Printf("pfconf load rules=10000 table_addrs=100000 loads=%d compile_ms=%.0f pfconf_load_ms median=%.0f min=%.0f max=%.0f nft_f_ms median=%.0f min=%.0f max=%.0f ratio_pfconf/nft=%.2f nft_text_bytes=%d\n",
		loads, ms(compile), ms(ml), ms(slices.Min(lib)), ms(slices.Max(lib)), ms(mn), ms(slices.Min(nft)), ms(slices.Max(nft)), float64(ml)/float64(mn), len(text))
	b.ReportMetric(ms(compile), "compile-ms")
	b.ReportMetric(ms(ml), "pfconf-load-ms")
	b.ReportMetric(ms(mn), "nft-f-ms")
	b.ReportMetric(float64(ml)/float64(mn), "ratio")
}
