package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"carpfw/carp"
	"carpfw/internal/cli"
	"carpfw/internal/ctl"
	"carpfw/internal/lab"
	"carpfw/pfsync"
)

// carpctlPath is a carpctl built by TestMain for the kernel tests.
var carpctlPath string

// TestMain lets the test binary stand in for pfsyncctl (with
// PFSYNCCTL_TEST_MAIN=1 it is the command and, through os.Executable,
// the keeper and worker it starts), and builds carpctl for the kernel
// tests when running as root.
func TestMain(m *testing.M) {
	if os.Getenv("PFSYNCCTL_TEST_MAIN") == "1" {
		cli.Main(newRootCmd())
	}
	var tmp string
	if os.Geteuid() == 0 {
		var err error
		if tmp, err = os.MkdirTemp("", "pfsyncctl-test"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		carpctlPath = filepath.Join(tmp, "carpctl")
		if out, err := exec.Command("go", "build", "-o", carpctlPath, "carpfw/cmd/carpctl").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build carpctl: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// node is one firewall: a lab host and its run directory, shared by its
// carp and pfsync workers (the demotion ledger lives there).
type node struct {
	t   *testing.T
	h   *lab.Host
	dir string
}

func (n *node) pfsyncctl(args ...string) string {
	n.t.Helper()
	out, err := n.h.Run("env", append([]string{"CARPFW_RUNDIR=" + n.dir, "PFSYNCCTL_TEST_MAIN=1", os.Args[0]}, args...)...)
	if err != nil {
		n.t.Fatalf("%s: pfsyncctl %s: %v\n%s", n.h, strings.Join(args, " "), err, n.log("pfsync0"))
	}
	return out
}

func (n *node) carpctl(args ...string) string {
	n.t.Helper()
	out, err := n.h.Run("env", append([]string{"CARPFW_RUNDIR=" + n.dir, carpctlPath}, args...)...)
	if err != nil {
		n.t.Fatalf("%s: carpctl %s: %v", n.h, strings.Join(args, " "), err)
	}
	return out
}

func (n *node) log(ifname string) string {
	b, _ := os.ReadFile(filepath.Join(n.dir, ifname+".log"))
	return string(b)
}

func (n *node) carpState(ifname string) carp.State {
	var st carp.Status
	if err := ctl.Call(context.Background(), n.dir, ifname, carp.OpStatus, nil, &st); err != nil {
		return carp.Init
	}
	return st.State
}

func (n *node) stats() pfsync.Stats {
	n.t.Helper()
	var st pfsync.Stats
	if err := ctl.Call(context.Background(), n.dir, "pfsync0", pfsync.OpStats, nil, &st); err != nil {
		n.t.Fatalf("%s: pfsync stats: %v", n.h, err)
	}
	return st
}

// waitCarp waits until both carp interfaces are in state want.
func (n *node) waitCarp(want carp.State, timeout time.Duration) time.Duration {
	n.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if n.carpState("carp0") == want && n.carpState("carp1") == want {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatalf("%s: carp0 %s carp1 %s, want both %s within %v\ncarp0 log:\n%s\npfsync0 log:\n%s", n.h,
		n.carpState("carp0"), n.carpState("carp1"), want, timeout, n.log("carp0"), n.log("pfsync0"))
	return 0
}

// ctCount counts the conntrack entries of proto in the node that match
// the extra conntrack(8) filter words.
func (n *node) ctCount(args ...string) int {
	out, _ := n.h.Run("conntrack", append([]string{"-L"}, args...)...)
	c := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "src=") {
			c++
		}
	}
	return c
}

// crash emulates a power loss: the links go down first, so nothing more
// leaves the host, then every worker and keeper dies with SIGKILL. With
// reboot, the conntrack table is emptied too, as after a reboot.
func (n *node) crash(reboot bool) {
	n.t.Helper()
	n.h.Crash()
	for _, ifname := range []string{"carp0", "carp1", "pfsync0"} {
		b, err := os.ReadFile(ctl.PIDPath(n.dir, ifname))
		if err != nil {
			continue
		}
		keeper, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		kids, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", keeper))
		syscall.Kill(keeper, syscall.SIGKILL)
		for _, k := range kids {
			b, _ := os.ReadFile(k)
			for _, f := range strings.Fields(string(b)) {
				pid, _ := strconv.Atoi(f)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		os.Remove(ctl.PIDPath(n.dir, ifname))
	}
	if reboot {
		n.h.Run("conntrack", "-F")
	}
}

// cluster is the seed's topology: client — LAN switch — fw1/fw2 — WAN
// switch — server, plus a direct sync link between the firewalls.
//
//	client 10.10.0.100 ── lan ── fw1 eth0 .2 / fw2 eth0 .3, VIP 10.10.0.1 (carp0, vhid 1)
//	server 10.20.0.100 ── wan ── fw1 eth1 .2 / fw2 eth1 .3, VIP 10.20.0.1 (carp1, vhid 2)
//	fw1 sync0 10.30.0.1/30 ─────── fw2 sync0 10.30.0.2/30
//
// Both firewalls run a stateful nftables ruleset that admits only new
// connections from the LAN (TCP only with a SYN) and have
// nf_conntrack_tcp_loose=0, so a mid-stream packet without a state is
// dropped. With nat the firewalls translate LAN sources to the WAN VIP
// and the server has no route back to the LAN.
type cluster struct {
	l              *lab.Lab
	client, server *lab.Host
	lan, wan       *lab.Switch
	fw             [2]*node
	nat            bool
}

const ruleset = `
table inet fw {
	chain forward {
		type filter hook forward priority 0; policy drop;
		tcp dport 2222 ct label set 127
		ct state established,related counter accept
		ct state invalid counter drop
		iifname { "eth0", "carp0" } tcp flags & (syn|ack) == syn ct state new accept
		iifname { "eth0", "carp0" } meta l4proto { udp, icmp } ct state new accept
	}
	# The firewall itself: a packet to a NAT address that conntrack
	# cannot match (out of window during a takeover) must not reach
	# the local TCP stack, which would answer with a reset.
	chain input {
		type filter hook input priority 0; policy accept;
		ct state invalid drop
	}
}

# Counters only, for the diagnosis of a stalled stream: where the
# stream's packets are seen and what conntrack made of them.
table inet probe {
	chain arriving {
		type filter hook prerouting priority raw; policy accept;
		tcp dport 5001 iifname "eth0" counter
		tcp dport 5001 iifname "carp0" counter
		tcp sport 5001 iifname "eth1" counter
		tcp sport 5001 iifname "carp1" counter
	}
	chain conntrack {
		type filter hook prerouting priority mangle; policy accept;
		tcp dport 5001 ct state established ct direction original counter
		tcp sport 5001 ct state established ct direction reply counter
		tcp dport 5001 ct state new counter
		tcp dport 5001 ct state invalid counter
		tcp sport 5001 ct state invalid counter
		tcp dport 5001 ct state untracked counter
	}
	chain toself {
		type filter hook input priority raw; policy accept;
		tcp dport 5001 counter
		tcp sport 5001 counter
	}
	chain leaving {
		type filter hook postrouting priority 300; policy accept;
		tcp dport 5001 oifname "eth1" counter
		tcp dport 5001 oifname "carp1" counter
		tcp sport 5001 oifname "eth0" counter
		tcp sport 5001 oifname "carp0" counter
	}
}
`

const natRules = `
table ip fwnat {
	chain postrouting {
		type nat hook postrouting priority 100;
		oifname { "eth1", "carp1" } ip saddr 10.10.0.0/24 snat to 10.20.0.1
	}
}
`

type clusterOpts struct {
	nat     bool
	advskew [2]string
	preempt bool
}

func newCluster(t *testing.T, o clusterOpts) *cluster {
	l := lab.New(t)
	lan, wan := l.Switch("lan"), l.Switch("wan")
	c := &cluster{l: l, client: l.Host("client"), server: l.Host("server"), lan: lan, wan: wan, nat: o.nat}
	lan.Attach(c.client, "eth0")
	c.client.AddAddr("eth0", "10.10.0.100/24")
	c.client.AddRoute("default", "10.10.0.1")
	wan.Attach(c.server, "eth0")
	c.server.AddAddr("eth0", "10.20.0.100/24")
	if !o.nat {
		c.server.AddRoute("default", "10.20.0.1")
	}
	h1, h2 := l.Host("fw1"), l.Host("fw2")
	l.Link(h1, "sync0", h2, "sync0")
	if o.advskew == [2]string{} {
		o.advskew = [2]string{"0", "100"}
	}
	for i, h := range []*lab.Host{h1, h2} {
		lan.Attach(h, "eth0")
		wan.Attach(h, "eth1")
		h.AddAddr("eth0", fmt.Sprintf("10.10.0.%d/24", i+2))
		h.AddAddr("eth1", fmt.Sprintf("10.20.0.%d/24", i+2))
		h.AddAddr("sync0", fmt.Sprintf("10.30.0.%d/30", i+1))
		h.Sysctl("net.ipv4.ip_forward", "1")
		rules := ruleset
		if o.nat {
			rules += natRules
		}
		if out, err := h.Run("sh", "-c", "nft -f - <<'EOF'\n"+rules+"\nEOF"); err != nil {
			t.Fatalf("%s: nft: %v\n%s", h, err, out)
		}
		// The sysctl exists once nf_conntrack is in use in the namespace.
		h.Sysctl("net.netfilter.nf_conntrack_tcp_loose", "0")
		n := &node{t: t, h: h, dir: t.TempDir()}
		c.fw[i] = n
		if o.preempt {
			n.carpctl("sysctl", "net.inet.carp.preempt=1")
		}
	}
	return c
}

// startCarp configures carp0 (LAN) and carp1 (WAN) on fw i.
func (c *cluster) startCarp(i int, advskew string) {
	n := c.fw[i]
	n.carpctl("carp0", "vhid", "1", "pass", "lanpass", "carpdev", "eth0", "advskew", advskew, "inet", "10.10.0.1/24")
	n.carpctl("carp1", "vhid", "2", "pass", "wanpass", "carpdev", "eth1", "advskew", advskew, "inet", "10.20.0.1/24")
}

// startPfsync brings pfsync0 up on fw i over the sync link.
func (c *cluster) startPfsync(i int) {
	c.fw[i].pfsyncctl("pfsync0", "syncdev", "sync0", "up")
}

// diag gathers what explains a stalled stream through n: its conntrack
// table and statistics, its ruleset with counters, its workers' logs and
// counters, and the client's and server's neighbour caches.
func (c *cluster) diag(n *node) string {
	var b strings.Builder
	run := func(h *lab.Host, name string, args ...string) {
		out, err := h.Run(name, args...)
		fmt.Fprintf(&b, "--- %s: %s %s (%v)\n%s\n", h, name, strings.Join(args, " "), err, out)
	}
	run(n.h, "conntrack", "-L")
	run(n.h, "conntrack", "-S")
	run(n.h, "nft", "list", "ruleset")
	run(n.h, "ip", "-s", "link")
	run(n.h, "ip", "addr")
	run(n.h, "ip", "neigh")
	run(n.h, "nstat", "-as")
	for _, h := range []*lab.Host{c.client, c.server} {
		run(h, "ip", "neigh")
		run(h, "ss", "-tinoe")
		run(h, "nstat", "-as")
	}
	for _, sw := range []*lab.Switch{c.lan, c.wan} {
		run(sw.Host(), "bridge", "fdb", "show", "dynamic")
		run(sw.Host(), "ip", "-s", "link")
	}
	var st pfsync.Stats
	err := ctl.Call(context.Background(), n.dir, "pfsync0", pfsync.OpStats, nil, &st)
	fmt.Fprintf(&b, "--- %s: pfsync stats (%v)\n%+v\n", n.h, err, st)
	for _, ifname := range []string{"carp0", "carp1", "pfsync0"} {
		fmt.Fprintf(&b, "--- %s: %s log\n%s\n", n.h, ifname, n.log(ifname))
	}
	return b.String()
}
