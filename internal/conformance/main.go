// Command conformance runs pfconf against OpenBSD's pfctl regression
// corpus (regress/sbin/pfctl) the way the upstream Makefile runs pfctl:
//
//	pf:     pfconf -o none -nv -f - < pfN.in, stdout against pfN.ok
//	selfpf: the same with pfN.ok as input, which must give pfN.ok again
//	pfail:  pfconf -o none -nv -f - < pfailN.in 2>&1, against pfailN.ok
//
// The working directory is the corpus folder, so that include and load
// anchor find pf95.include and pf103.include. PFCONF_HOST is set to
// openbsd-regress. Tests that need a file from inferred/ (reconstructed,
// not retrieved) are counted separately. Usage:
//
//	go run ./internal/conformance -pfconf bin/pfconf -corpus ../shared/conformance/pfctl
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type result struct{ pass, fail int }

func main() {
	bin := flag.String("pfconf", "bin/pfconf", "the pfconf binary to test")
	corpus := flag.String("corpus", "../shared/conformance/pfctl", "the pfctl regression corpus")
	verbose := flag.Bool("v", false, "print the full diff of each failure")
	only := flag.String("run", "", "only run tests whose name matches this regexp")
	flag.Parse()
	if *corpus == "" {
		*corpus = "../shared/conformance/pfctl"
	}
	absBin, err := filepath.Abs(*bin)
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(absBin); err != nil {
		fatal(fmt.Errorf("%w (build it with: go build -o bin/pfconf ./cmd/pfconf)", err))
	}
	dir, err := filepath.Abs(*corpus)
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		fatal(err)
	}
	var re *regexp.Regexp
	if *only != "" {
		re = regexp.MustCompile(*only)
	}
	r := &runner{bin: absBin, dir: dir, verbose: *verbose, results: map[string]*result{}}
	for _, n := range r.tests("pf") {
		if re != nil && !re.MatchString("pf"+n) {
			continue
		}
		r.runPf(n)
	}
	for _, n := range r.tests("pfail") {
		if re != nil && !re.MatchString("pfail"+n) {
			continue
		}
		r.runPfail(n)
	}
	for _, g := range []string{"pf", "selfpf", "pfail", "pf (inferred)", "selfpf (inferred)", "pfail (inferred)"} {
		if res, ok := r.results[g]; ok {
			fmt.Printf("%s: %d passed, %d failed\n", g, res.pass, res.fail)
		}
	}
	if len(r.missing) > 0 {
		fmt.Printf("not run (expected output missing from the corpus): %s\n", strings.Join(r.missing, " "))
	}
	for _, res := range r.results {
		if res.fail > 0 {
			os.Exit(1)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "conformance:", err)
	os.Exit(2)
}

type runner struct {
	bin, dir string
	verbose  bool
	results  map[string]*result
	missing  []string
}

// tests lists the numbers N for which prefixN.in exists in the corpus or
// in inferred/.
func (r *runner) tests(prefix string) []string {
	re := regexp.MustCompile("^" + prefix + `(\d+)\.in$`)
	seen := map[string]bool{}
	for _, d := range []string{r.dir, filepath.Join(r.dir, "inferred")} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if m := re.FindStringSubmatch(e.Name()); m != nil {
				seen[m[1]] = true
			}
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i])
		b, _ := strconv.Atoi(out[j])
		return a < b
	})
	return out
}

// file finds name in the corpus, then in inferred/.
func (r *runner) file(name string) (data []byte, inferred bool, ok bool) {
	if b, err := os.ReadFile(filepath.Join(r.dir, name)); err == nil {
		return b, false, true
	}
	if b, err := os.ReadFile(filepath.Join(r.dir, "inferred", name)); err == nil {
		return b, true, true
	}
	return nil, false, false
}

func (r *runner) run(input []byte, merge bool) []byte {
	cmd := exec.Command(r.bin, "-o", "none", "-nv", "-f", "-")
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "PFCONF_HOST=openbsd-regress")
	cmd.Stdin = bytes.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout = &out
	if merge {
		cmd.Stderr = &out
	}
	_ = cmd.Run()
	return out.Bytes()
}

func (r *runner) record(group string, inferred bool, name string, got, want []byte) bool {
	if inferred {
		group += " (inferred)"
	}
	res := r.results[group]
	if res == nil {
		res = &result{}
		r.results[group] = res
	}
	if bytes.Equal(got, want) {
		res.pass++
		return true
	}
	res.fail++
	fmt.Printf("FAIL %s (%s)\n%s", name, group, diff(want, got, r.verbose))
	return false
}

func (r *runner) runPf(n string) {
	in, inf1, ok1 := r.file("pf" + n + ".in")
	ok, inf2, ok2 := r.file("pf" + n + ".ok")
	if !ok1 || !ok2 {
		r.missing = append(r.missing, "pf"+n)
		return
	}
	inferred := inf1 || inf2
	r.record("pf", inferred, "pf"+n, r.run(in, false), ok)
	r.record("selfpf", inferred, "selfpf"+n, r.run(ok, false), ok)
}

func (r *runner) runPfail(n string) {
	in, inf1, ok1 := r.file("pfail" + n + ".in")
	ok, inf2, ok2 := r.file("pfail" + n + ".ok")
	if !ok1 || !ok2 {
		r.missing = append(r.missing, "pfail"+n)
		return
	}
	r.record("pfail", inf1 || inf2, "pfail"+n, r.run(in, true), ok)
}

// diff is a short line diff: the lines of want missing from got ("-")
// and the lines of got not in want ("+"), in order, at most 12 unless
// verbose.
func diff(want, got []byte, verbose bool) string {
	w := strings.SplitAfter(string(want), "\n")
	g := strings.SplitAfter(string(got), "\n")
	// Longest common subsequence on lines.
	n, m := len(w), len(g)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	lines := 0
	emit := func(prefix, s string) {
		lines++
		if lines > 12 && !verbose {
			return
		}
		if !strings.HasSuffix(s, "\n") {
			s += "\\ no newline at end\n"
		}
		b.WriteString("  " + prefix + s)
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && w[i] == g[j]:
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			emit("+", g[j])
			j++
		default:
			emit("-", w[i])
			i++
		}
	}
	if lines > 12 && !verbose {
		fmt.Fprintf(&b, "  ... %d more lines\n", lines-12)
	}
	return b.String()
}
