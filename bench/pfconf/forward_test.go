package pfconfbench

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"carpfw/internal/hostinv"
	"carpfw/internal/lab"
	"carpfw/internal/nftload"
)

// forwardTopo is client c — router r — server s, as in the nftload
// tests, with an iperf3 server on s.
func forwardTopo(b *testing.B) (c, r, s *lab.Host) {
	l := lab.New(b)
	c, r, s = l.Host("c"), l.Host("r"), l.Host("s")
	l.Link(c, "eth0", r, "r0")
	l.Link(r, "r1", s, "eth0")
	c.AddAddr("eth0", "10.0.1.2/24")
	r.AddAddr("r0", "10.0.1.1/24")
	r.AddAddr("r1", "10.0.2.1/24")
	s.AddAddr("eth0", "10.0.2.2/24")
	c.AddRoute("default", "10.0.1.1")
	s.AddRoute("default", "10.0.2.1")
	r.Sysctl("net.ipv4.ip_forward", "1")
	s.Start("iperf3", "-s")
	time.Sleep(300 * time.Millisecond)
	return c, r, s
}

// ruleset1000 is 1,000 rules: 998 rules that do not match the iperf3
// flow (other sources and ports), then block all and, last, the rule
// that passes it; with keep state only the first packet is evaluated,
// with no state every packet walks all 1,000 rules.
func ruleset1000(state string) string {
	var w strings.Builder
	w.WriteString("block all\n")
	for i := 0; i < 998; i++ {
		fmt.Fprintf(&w, "pass in on r0 proto tcp from 10.%d.%d.0/24 to any port %d %s\n", 100+i/256, i%256, 1024+i, state)
	}
	fmt.Fprintf(&w, "pass proto tcp from any to any %s\n", state)
	return w.String()
}

func load(b *testing.B, r *lab.Host, conf string) {
	err := r.Do(func() error {
		prog, err := nftload.Compile(nftload.Source{Name: "pf.conf", Data: []byte(conf), Inventory: hostinv.OpenBSDRegress(),
			Groups: func(string) ([]string, bool) { return nil, false }})
		if err != nil {
			return err
		}
		conn, err := nftload.Dial()
		if err != nil {
			return err
		}
		return nftload.Load(conn, prog, nftload.LoadOptions{})
	})
	if err != nil {
		b.Fatal(err)
	}
}

// iperf runs a 3-second TCP test from c and returns Gbit/s received.
func iperf(b *testing.B, c *lab.Host) float64 {
	out, err := c.RunTimeout(30*time.Second, "iperf3", "-c", "10.0.2.2", "-t", "3", "-J")
	if err != nil {
		b.Fatalf("iperf3: %v\n%s", err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		b.Fatalf("iperf3 json: %v", err)
	}
	return res.End.SumReceived.BitsPerSecond / 1e9
}

// BenchmarkForward measures iperf3 throughput through the router with no
// ruleset, with a compiled 1,000-rule ruleset keeping state (pf's
// default), and with the same rules without state.
func BenchmarkForward(b *testing.B) {
	c, r, _ := forwardTopo(b)
	const runs = 3
	measure := func() float64 {
		var xs []float64
		for i := 0; i < runs; i++ {
			xs = append(xs, iperf(b, c))
		}
		return medianF(xs)
	}
	none := measure()
	load(b, r, ruleset1000(""))
	stateful := measure()
	load(b, r, ruleset1000("no state flags any"))
	stateless := measure()
	fmt.Printf("pfconf forward runs=%d gbps none=%.2f rules1000_keep_state=%.2f (ratio %.2f) rules1000_no_state=%.2f (ratio %.2f)\n",
		runs, none, stateful, stateful/none, stateless, stateless/none)
	b.ReportMetric(none, "none-gbps")
	b.ReportMetric(stateful, "state-gbps")
	b.ReportMetric(stateless, "nostate-gbps")
}

func medianF(xs []float64) float64 {
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] < xs[i] {
				xs[i], xs[j] = xs[j], xs[i]
			}
		}
	}
	return xs[len(xs)/2]
}
