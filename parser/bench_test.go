package parser_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"carpfw/internal/hostinv"
	"carpfw/parser"
)

// genRuleset writes a pf.conf of n rules that uses 50 macros, 20 tables
// and lists, in the style of a large site ruleset.
func genRuleset(n int) []byte {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "net%d = \"{ 10.%d.0.0/16, 172.16.%d.0/24 }\"\n", i, i, i)
		case 1:
			fmt.Fprintf(&b, "ports%d = \"{ %d, %d, %d:%d }\"\n", i, 1000+i, 2000+i, 3000+i, 3100+i)
		default:
			fmt.Fprintf(&b, "host%d = \"192.168.%d.1\"\n", i, i)
		}
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "table <t%d> persist { 10.%d.0.0/16 !10.%d.1.0/24 192.0.2.%d }\n", i, i, i, i)
	}
	b.WriteString("set limit states 100000\nset block-policy drop\nblock log all\n")
	for i := 0; i < n; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "pass in on lo0 proto tcp from $net%d to $host%d port $ports%d keep state\n", (i%17)*3, (i%16)*3+2, (i%16)*3+1)
		case 1:
			fmt.Fprintf(&b, "block in quick from <t%d> to any label \"bad-$srcaddr\"\n", i%20)
		case 2:
			fmt.Fprintf(&b, "pass out on lo0 inet proto { tcp udp } to { 198.51.100.%d, 203.0.113.%d } port domain\n", i%250, i%250)
		case 3:
			fmt.Fprintf(&b, "match out on lo0 from 10.%d.0.0/16 to any nat-to 192.0.2.%d\n", i%250, i%250)
		default:
			fmt.Fprintf(&b, "pass in inet proto icmp from any to $host%d icmp-type echoreq keep state (max %d)\n", (i%16)*3+2, 100+i)
		}
	}
	return []byte(b.String())
}

// BenchmarkParsePrint parses and prints a generated 10,000-rule ruleset.
func BenchmarkParsePrint(b *testing.B) {
	const n = 10000
	src := genRuleset(n)
	inv := hostinv.OpenBSDRegress()
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		var out strings.Builder
		errs := parser.Check("bench.conf", src, parser.Config{
			Inventory: inv,
			Verbose:   1,
			Stdout:    func(s string) { out.WriteString(s) },
			Stderr:    func(s string) { b.Fatal(s) },
		})
		if errs != 0 {
			b.Fatalf("%d errors", errs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/rule")
	// CPU time of the whole process (parsing and the garbage collector),
	// which unlike wall time does not depend on other load on the host.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/n, "cpu-ns/rule")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
