package difftest

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/packet"
	"github.com/ti-mo/conntrack"

	"carpfw/internal/lab"
	"carpfw/internal/nftload"
	"carpfw/rules/eval"
)

// The topology: one router namespace r with three interfaces em0, em1
// and em2, each cabled to its own interface p0, p1, p2 of one peer
// namespace p. The peer has no addresses at all: it writes whole
// Ethernet frames on a packet socket and reads what comes back on all
// three cables.
//
//	          em0 172.16.0.1 ──── p0
//	router r  em1 172.16.1.1 ──── p1   peer p (packet sockets)
//	          em2 172.16.2.1 ──── p2
//
// The router forwards by policy routing, whatever the addresses: a
// packet received on em<i> leaves by em<(i+1+t)%3>, t being 1 when its
// TOS is 0x10 (no random rule matches TOS), so the test chooses both
// interfaces of a forwarded packet. Its next hop on each cable is
// 172.16.<n>.2, a permanent neighbour entry with the MAC of p<n>, so the
// router never ARPs. Packets the router generates itself (RSTs, ICMP
// errors) follow the main table, by em0; they are seen wherever they
// leave.
const (
	nIfs     = 3
	tosAlt   = 0x10
	etherAll = 0x0003
)

func ifName(i int) string   { return fmt.Sprintf("em%d", i) }
func peerName(i int) string { return fmt.Sprintf("p%d", i) }
func rtrAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{172, 16, byte(i), 1})
}
func peerAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{172, 16, byte(i), 2})
}

// egress is the interface a packet received on in leaves by.
func egress(in, tos int) int {
	t := 0
	if tos == tosAlt {
		t = 1
	}
	return (in + 1 + t) % nIfs
}

// tosFor is the TOS that sends a packet received on in out by out.
func tosFor(in, out int) uint8 {
	if egress(in, 0) == out {
		return 0
	}
	return tosAlt
}

// rxFrame is a frame the peer read, with the index of its cable.
type rxFrame struct {
	port int
	data []byte
}

type topo struct {
	r, p    *lab.Host
	host    *eval.FakeHost
	rtrMAC  [nIfs]net.HardwareAddr
	peerMAC [nIfs]net.HardwareAddr
	conns   [nIfs]*packet.Conn
	rx      chan rxFrame
	liberal bool
}

func newTopo(t *testing.T) *topo {
	t.Helper()
	l := lab.New(t)
	tp := &topo{r: l.Host("r"), p: l.Host("p"), rx: make(chan rxFrame, 1024)}
	specs := make([]string, nIfs)
	for _, h := range []*lab.Host{tp.r, tp.p} {
		h.Sysctl("net.ipv6.conf.all.disable_ipv6", "1")
		h.Sysctl("net.ipv6.conf.default.disable_ipv6", "1")
	}
	for i := 0; i < nIfs; i++ {
		l.Link(tp.r, ifName(i), tp.p, peerName(i))
		tp.r.AddAddr(ifName(i), netip.PrefixFrom(rtrAddr(i), 24).String())
		tp.rtrMAC[i] = tp.r.LinkMAC(ifName(i))
		tp.peerMAC[i] = tp.p.LinkMAC(peerName(i))
		specs[i] = ifName(i) + " " + netip.PrefixFrom(rtrAddr(i), 24).String()
	}
	tp.host = eval.NewFakeHost(specs...)
	r := tp.r
	r.Sysctl("net.ipv4.ip_forward", "1")
	r.Sysctl("net.ipv4.icmp_ratelimit", "0")
	r.Sysctl("net.ipv4.icmp_msgs_per_sec", "1000000")
	r.Sysctl("net.ipv4.icmp_msgs_burst", "1000000")
	r.Sysctl("net.ipv4.conf.all.rp_filter", "0")
	r.Sysctl("net.ipv4.conf.default.rp_filter", "0")
	r.Sysctl("net.ipv4.conf.all.send_redirects", "0")
	for i := 0; i < nIfs; i++ {
		r.Sysctl("net.ipv4.conf."+ifName(i)+".rp_filter", "0")
		r.MustRun("ip", "neigh", "replace", peerAddr(i).String(), "lladdr", tp.peerMAC[i].String(),
			"dev", ifName(i), "nud", "permanent")
	}
	for i := 0; i < nIfs; i++ {
		for tt := 0; tt < 2; tt++ {
			o := egress(i, []int{0, tosAlt}[tt])
			table := fmt.Sprint(100 + 2*i + tt)
			r.MustRun("ip", "route", "add", "default", "via", peerAddr(o).String(), "dev", ifName(o),
				"onlink", "table", table)
			args := []string{"rule", "add", "iif", ifName(i)}
			if tt == 1 {
				args = append(args, "tos", fmt.Sprintf("%#x", tosAlt), "pref", fmt.Sprint(100+i))
			} else {
				args = append(args, "pref", fmt.Sprint(200+i))
			}
			r.MustRun("ip", append(args, "lookup", table)...)
		}
	}
	r.MustRun("ip", "route", "add", "default", "via", peerAddr(0).String(), "dev", ifName(0), "onlink")

	for i := 0; i < nIfs; i++ {
		i := i
		err := tp.p.Do(func() error {
			ifi, err := net.InterfaceByName(peerName(i))
			if err != nil {
				return err
			}
			c, err := packet.Listen(ifi, packet.Raw, etherAll, nil)
			if err != nil {
				return err
			}
			tp.conns[i] = c
			return nil
		})
		if err != nil {
			t.Fatalf("packet socket on %s: %v", peerName(i), err)
		}
		c := tp.conns[i]
		t.Cleanup(func() { c.Close() })
		go func() {
			for {
				buf := make([]byte, 2048)
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				// Only what the router sends; the socket also sees our own
				// frames leaving.
				if n < 14 || net.HardwareAddr(buf[6:12]).String() != tp.rtrMAC[i].String() {
					continue
				}
				tp.rx <- rxFrame{i, buf[:n]}
			}
		}()
	}
	return tp
}

// load compiles conf for the router and loads it atomically, then
// forgets every connection the kernel tracks.
func (tp *topo) load(conf string) error {
	var diag strings.Builder
	src := nftload.Source{Name: "pf.conf", Data: []byte(conf), Inventory: tp.host,
		Groups: eval.GroupsOf(tp.host), IfAddrs: eval.IfAddrsOf(tp.host),
		Stderr: func(s string) { diag.WriteString(s) }}
	prog, err := nftload.Compile(src)
	if err != nil {
		return fmt.Errorf("compile: %v\n%s", err, diag.String())
	}
	err = tp.r.Do(func() error {
		conn, err := nftables.New()
		if err != nil {
			return err
		}
		if err := nftload.Load(conn, prog, nftload.LoadOptions{}); err != nil {
			return err
		}
		ct, err := conntrack.Dial(nil)
		if err != nil {
			return err
		}
		defer ct.Close()
		return ct.Flush()
	})
	if err != nil {
		return err
	}
	if os.Getenv("DIFFTEST_DEBUG") != "" {
		// Counts what the router itself sends, before pfconf's output pass.
		tp.r.Run("nft", "delete", "table", "ip", "dbg")
		if out, err := tp.r.Run("nft", "add table ip dbg; add chain ip dbg o { type filter hook output priority -500; }; add rule ip dbg o ip protocol tcp counter; add rule ip dbg o ip protocol icmp counter; add chain ip dbg p { type filter hook postrouting priority 500; }; add rule ip dbg p ip protocol tcp counter; add rule ip dbg p ip protocol icmp counter"); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
	}
	if !tp.liberal {
		// Connection tracking is loaded now. The evaluator does not model
		// TCP window tracking, so the kernel's is switched off.
		if _, err := tp.r.Run("sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_be_liberal=1"); err != nil {
			return err
		}
		tp.liberal = true
	}
	return nil
}

// observed is what the peer saw after sending one packet.
type observed struct {
	kind string // pass, drop, rst, unreach
	port int    // pass: the cable it came out of
	pkt  *wirePkt
	code uint8 // unreach
	// other frames from the router, for messages.
	other []string
}

func (o observed) String() string {
	switch o.kind {
	case "pass":
		return fmt.Sprintf("pass out %s: %s", ifName(o.port), o.pkt)
	case "unreach":
		return fmt.Sprintf("unreach code %d", o.code)
	}
	return o.kind
}

const (
	sentinelWait = 500 * time.Millisecond
	grace        = 15 * time.Millisecond
	// patience bounds the wait for a packet, RST or ICMP error the
	// evaluator expects when nothing came by the end of the grace
	// period.
	patience = 200 * time.Millisecond
)

// send writes w on cable in and gathers what the router sends back:
// frames until the answer to an ARP request sent right after w (the
// router handles the frames of one cable in order, and sends its
// answers synchronously), and for a short grace period after it; when
// nothing came and something is expected (expectDrop false), until
// patience has passed since sending.
func (tp *topo) send(in int, w *wirePkt, expectDrop bool) (observed, error) {
	for drained := false; !drained; {
		select {
		case <-tp.rx:
		default:
			drained = true
		}
	}
	c := tp.conns[in]
	to := &packet.Addr{HardwareAddr: tp.rtrMAC[in]}
	if _, err := c.WriteTo(frame(tp.rtrMAC[in], tp.peerMAC[in], etherIPv4, w.ipPacket()), to); err != nil {
		return observed{}, err
	}
	if _, err := c.WriteTo(arpRequest(tp.peerMAC[in], peerAddr(in), rtrAddr(in)), to); err != nil {
		return observed{}, err
	}
	var o observed
	o.kind = "drop"
	sentAt := time.Now()
	deadline := time.NewTimer(sentinelWait)
	defer deadline.Stop()
	var graceC <-chan time.Time
	for {
		select {
		case f := <-tp.rx:
			if f.port == in && isARPReply(f.data, rtrAddr(in)) {
				if graceC == nil {
					graceC = time.After(grace)
				}
				continue
			}
			got, ok := parseFrame(f.data)
			if !ok {
				continue
			}
			switch {
			case got.ID == w.ID && got.Proto == w.Proto && o.kind != "pass":
				o.kind, o.port, o.pkt = "pass", f.port, got
			case got.Proto == eval.ProtoTCP && got.Flags&eval.TCPRst != 0 && w.Proto == eval.ProtoTCP && o.kind == "drop":
				o.kind, o.pkt = "rst", got
			case got.Proto == eval.ProtoICMP && got.Type == 3 && got.Inner != nil && got.Inner.ID == w.ID && o.kind == "drop":
				o.kind, o.code, o.pkt = "unreach", got.Code, got
			default:
				o.other = append(o.other, fmt.Sprintf("%s: %s", peerName(f.port), got))
			}
		case <-graceC:
			if o.kind == "drop" && !expectDrop {
				if rest := patience - time.Since(sentAt); rest > 0 {
					expectDrop = true
					graceC = time.After(rest)
					continue
				}
			}
			return o, nil
		case <-deadline.C:
			return o, fmt.Errorf("no answer to the ARP request on %s", peerName(in))
		}
	}
}
