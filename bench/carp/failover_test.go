// Package carpbench measures CARP failover on the two-firewall topology:
// the client-visible outage when the master host crashes, against the
// protocol's master-down time, and the takeover latency from the backup's
// master-down timer firing to its gratuitous ARP on the wire.
//
//	go test -run '^$' -bench Failover -benchtime 1x ./bench/carp/   (TRIALS=5 SUBTRIALS=20 by default)
//
// Each trial crashes the master right after one of its advertisements, as
// seen by the client: the backup heard it at the same moment, so its
// master-down timer runs in full, and the outage should equal the
// master-down time plus the takeover latency and the probe interval.
// "Crash" is the host dying: its links go down and its carp worker and
// keeper get SIGKILL. The master is then restored (links up, worker
// restarted) and takes back over through preemption before the next trial.
package carpbench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// carpctlBin is carpctl built for this run.
var carpctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "carpbench")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	carpctlBin = filepath.Join(dir, "carpctl")
	if out, err := exec.Command("go", "build", "-o", carpctlBin, "carpfw/cmd/carpctl").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build carpctl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkFailover runs the two cases the issue names: advbase 1 (fw2
// advskew 100, master-down 4.171875 s) and a sub-second interval (advbase
// 0; fw2 advskew 26, about 0.1 s, master-down 0.3046875 s).
func BenchmarkFailover(b *testing.B) {
	cases := []failoverCase{
		{name: "advbase1", advbase: 1, skew1: 0, skew2: 100, trials: envInt("TRIALS", 5)},
		{name: "advbase0-skew26", advbase: 0, skew1: 13, skew2: 26, trials: envInt("SUBTRIALS", 20)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				r := runCase(b, c)
				r.report(b)
			}
		})
	}
}
