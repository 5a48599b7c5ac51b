package nftload

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"carpfw/internal/hostinv"
	"carpfw/internal/lab"
)

// topo is the router test topology:
//
//	client c ──────────── r0 router r1 ──────────── server s
//	10.0.1.2/24   10.0.1.1/24     10.0.2.1/24    10.0.2.2/24
//	fd00:1::2/64  fd00:1::1/64    fd00:2::1/64   fd00:2::2/64
//
// The server answers TCP on ports 22, 25, 80, 2000, 8080 and UDP on 53
// and 1500 with the address it sees the client as; the router answers
// TCP on 2222 the same way. The router's default route points to the
// server, so its egress group is r1.
type topo struct {
	l       *lab.Lab
	c, r, s *lab.Host
}

var (
	serverTCP = []int{22, 25, 80, 2000, 8080}
	serverUDP = []int{53, 1500}
)

func newTopo(t *testing.T) *topo {
	t.Helper()
	l := lab.New(t)
	tp := &topo{l: l, c: l.Host("c"), r: l.Host("r"), s: l.Host("s")}
	l.Link(tp.c, "eth0", tp.r, "r0")
	l.Link(tp.r, "r1", tp.s, "eth0")
	tp.c.AddAddr("eth0", "10.0.1.2/24")
	tp.c.AddAddr("eth0", "fd00:1::2/64")
	tp.r.AddAddr("r0", "10.0.1.1/24")
	tp.r.AddAddr("r0", "fd00:1::1/64")
	tp.r.AddAddr("r1", "10.0.2.1/24")
	tp.r.AddAddr("r1", "fd00:2::1/64")
	tp.r.AddAddr("r1", "10.0.2.9/32") // binat-to's external address
	tp.s.AddAddr("eth0", "10.0.2.2/24")
	tp.s.AddAddr("eth0", "fd00:2::2/64")
	tp.c.AddRoute("default", "10.0.1.1")
	tp.c.AddRoute("default", "fd00:1::1")
	tp.s.AddRoute("default", "10.0.2.1")
	tp.s.AddRoute("default", "fd00:2::1")
	tp.r.AddRoute("default", "10.0.2.2")
	tp.r.Sysctl("net.ipv4.ip_forward", "1")
	tp.r.Sysctl("net.ipv6.conf.all.forwarding", "1")
	for _, p := range serverTCP {
		tp.serveTCP(t, tp.s, "tcp", fmt.Sprintf(":%d", p))
	}
	tp.serveTCP(t, tp.r, "tcp", ":2222")
	for _, p := range serverUDP {
		tp.serveUDP(t, tp.s, fmt.Sprintf(":%d", p))
	}
	return tp
}

// serveTCP answers every connection with the peer's address.
func (tp *topo) serveTCP(t *testing.T, h *lab.Host, network, addr string) {
	ln, err := h.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "%s\n", host)
			c.Close()
		}
	}()
}

// serveUDP answers every datagram with the peer's address.
func (tp *topo) serveUDP(t *testing.T, h *lab.Host, addr string) {
	pc, err := h.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("listen udp %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(from.String())
			pc.WriteTo([]byte(host+"\n"), from)
		}
	}()
}

// load compiles conf inside the router (real host inventory of its
// namespace) and loads it through the library.
func (tp *topo) load(conf string, groups map[string][]string) error {
	return tp.r.Do(func() error {
		var diag strings.Builder
		src := Source{Name: "pf.conf", Data: []byte(conf), Inventory: hostinv.Real(),
			Stderr: func(s string) { diag.WriteString(s) }}
		hg := HostGroups(hostinv.Real())
		src.Groups = func(n string) ([]string, bool) {
			if ms, ok := groups[n]; ok {
				return ms, true
			}
			return hg(n)
		}
		prog, err := Compile(src)
		if err != nil {
			return fmt.Errorf("%v\n%s", err, diag.String())
		}
		conn, err := newNSConn()
		if err != nil {
			return err
		}
		return Load(conn, prog, LoadOptions{})
	})
}

// probe outcomes.
const (
	pass    = "pass"
	drop    = "drop"
	rst     = "rst"
	unreach = "unreach"
)

const probeTimeout = 700 * time.Millisecond

// tcp connects from h to addr and classifies the result; on success it
// also returns the address the far end saw.
func tcp(h *lab.Host, addr string) (string, string) {
	c, err := h.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return classify(err), ""
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(probeTimeout))
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil {
		return classify(err), ""
	}
	return pass, strings.TrimSpace(string(buf[:n]))
}

// udp sends one datagram from h to addr and waits for the answer.
func udp(h *lab.Host, addr string) (string, string) {
	c, err := h.Dial("udp", addr)
	if err != nil {
		return classify(err), ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(probeTimeout))
	if _, err := c.Write([]byte("x")); err != nil {
		return classify(err), ""
	}
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return unreach, "" // ICMP port unreachable
		}
		return classify(err), ""
	}
	return pass, strings.TrimSpace(string(buf[:n]))
}

// ping sends one echo request.
func ping(h *lab.Host, addr string) (string, string) {
	args := []string{"-c1", "-W1", "-n", addr}
	if strings.Contains(addr, ":") {
		args = append([]string{"-6"}, args...)
	}
	out, err := h.RunTimeout(3*time.Second, "ping", args...)
	switch {
	case err == nil:
		return pass, ""
	case strings.Contains(out, "Unreachable"):
		return unreach, ""
	}
	return drop, ""
}

func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return rst
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return unreach
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return drop
	}
	return "error: " + err.Error()
}
