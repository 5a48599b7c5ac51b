package nftload

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"carpfw/internal/lab"
)

// open connects from the client and checks that a line is echoed; nil
// and the outcome when it is not.
func open(t *testing.T, h *lab.Host, addr string) (net.Conn, string) {
	return openFrom(t, h, "", addr)
}

// openFrom is open from local address src ("" for the host's choice).
func openFrom(t *testing.T, h *lab.Host, src, addr string) (net.Conn, string) {
	var c net.Conn
	err := h.Do(func() (err error) {
		d := net.Dialer{Timeout: probeTimeout}
		if src != "" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
		}
		c, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		return nil, classify(err)
	}
	t.Cleanup(func() { c.Close() })
	if got := echo(c); got != pass {
		c.Close()
		return nil, got
	}
	return c, pass
}

// echo sends a line on c and classifies the answer.
func echo(c net.Conn) string {
	c.SetDeadline(time.Now().Add(probeTimeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return classify(err)
	}
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		return classify(err)
	}
	return pass
}

const echoAddr = srv + ":7"

// TestStateLimits: max, max-src-conn and max-src-conn-rate refuse the
// connection over the limit (pf drops its first packet), and overload
// with flush puts the source in the table and ends its connections, as
// pf.conf(5) "STATEFUL TRACKING OPTIONS" describes.
func TestStateLimits(t *testing.T) {
	tp := newTopo(t)
	tp.s.ServeEcho(":7")
	base := "block all\npass out all\n"

	t.Run("max", func(t *testing.T) {
		if err := tp.load(base+"pass in on r0 proto tcp to port 7 keep state (max 2)\n", nil); err != nil {
			t.Fatal(err)
		}
		c1, got1 := open(t, tp.c, echoAddr)
		_, got2 := open(t, tp.c, echoAddr)
		_, got3 := open(t, tp.c, echoAddr)
		if got1 != pass || got2 != pass || got3 != drop {
			t.Fatalf("three connections under max 2: %s, %s, %s; want pass, pass, drop", got1, got2, got3)
		}
		// A closed connection frees its slot.
		c1.Close()
		var got4 string
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
			if _, got4 = open(t, tp.c, echoAddr); got4 == pass {
				break
			}
		}
		if got4 != pass {
			t.Errorf("after one closed: %s, want pass", got4)
		}
	})

	t.Run("max-src-conn with overload flush global", func(t *testing.T) {
		conf := "table <bad> persist\nblock quick from <bad>\n" + base +
			"pass in on r0 proto tcp to port 7 keep state (max-src-conn 2, overload <bad> flush global)\n"
		if err := tp.load(conf, nil); err != nil {
			t.Fatal(err)
		}
		c1, got1 := open(t, tp.c, echoAddr)
		_, got2 := open(t, tp.c, echoAddr)
		_, got3 := open(t, tp.c, echoAddr)
		if got1 != pass || got2 != pass || got3 != drop {
			t.Fatalf("three connections under max-src-conn 2: %s, %s, %s; want pass, pass, drop", got1, got2, got3)
		}
		bad := readTable(t, tp.r, "bad")
		if ps := bad.Prefixes(); len(ps) != 1 || ps[0].String() != cli+"/32" {
			t.Errorf("<bad> after the overload: %v, want [%s/32]", ps, cli)
		}
		// Runtime edits keep the table's hosts-only form.
		if err := tp.r.Do(func() error {
			if _, err := TableCommand(newNSConn, "bad", "add", []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}); err == nil ||
				!strings.Contains(err.Error(), "host addresses only") {
				t.Errorf("-T add of a network to an overload table: %v, want a hosts-only error", err)
			}
			_, err := TableCommand(newNSConn, "bad", "add", []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		bad = readTable(t, tp.r, "bad")
		if got := fmt.Sprint(bad.Prefixes()); got != "["+cli+"/32 10.9.9.9/32]" {
			t.Errorf("<bad> after -T add 10.9.9.9: %s", got)
		}
		// flush: the first connection's state is gone, and block quick
		// from <bad> now drops its packets.
		if got := echo(c1); got == pass {
			t.Errorf("a connection of the overloading source still passes after flush")
		}
		if _, got := open(t, tp.c, echoAddr); got != drop {
			t.Errorf("a new connection of the overloading source: %s, want drop", got)
		}
	})

	t.Run("max-src-states", func(t *testing.T) {
		if err := tp.load(base+"pass in on r0 proto udp to port 53 keep state (max-src-states 2)\n", nil); err != nil {
			t.Fatal(err)
		}
		var got []string
		for range 3 {
			g, _ := udp(tp.c, srv+":53") // a new source port: a new state
			got = append(got, g)
		}
		if got[0] != pass || got[1] != pass || got[2] != drop {
			t.Errorf("three UDP states under max-src-states 2: %v; want pass, pass, drop", got)
		}
	})

	t.Run("max-src-nodes", func(t *testing.T) {
		const cli2 = "10.0.1.3"
		tp.c.AddAddr("eth0", cli2+"/24")
		t.Cleanup(func() { tp.c.DelAddr("eth0", cli2+"/24") })
		if err := tp.load(base+"pass in on r0 proto tcp to port 7 keep state (max-src-nodes 1)\n", nil); err != nil {
			t.Fatal(err)
		}
		c1, got1 := openFrom(t, tp.c, cli, echoAddr)
		c2, got2 := openFrom(t, tp.c, cli, echoAddr)
		_, got3 := openFrom(t, tp.c, cli2, echoAddr)
		if got1 != pass || got2 != pass || got3 != drop {
			t.Fatalf("under max-src-nodes 1, two connections from %s then one from %s: %s, %s, %s; want pass, pass, drop",
				cli, cli2, got1, got2, got3)
		}
		// Once the first source has no connection left, the second
		// one fits.
		c1.Close()
		c2.Close()
		var got4 string
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if _, got4 = openFrom(t, tp.c, cli2, echoAddr); got4 == pass {
				break
			}
		}
		if got4 != pass {
			t.Errorf("from %s after %s's connections closed: %s, want pass", cli2, cli, got4)
		}
	})

	t.Run("max-src-conn-rate", func(t *testing.T) {
		if err := tp.load(base+"pass in on r0 proto tcp to port 7 keep state (max-src-conn-rate 3/10)\n", nil); err != nil {
			t.Fatal(err)
		}
		var got []string
		for range 4 {
			c, g := open(t, tp.c, echoAddr)
			if c != nil {
				c.Close()
			}
			got = append(got, g)
		}
		if got[0] != pass || got[1] != pass || got[2] != pass || got[3] != drop {
			t.Errorf("four connections at once under max-src-conn-rate 3/10: %v; want pass, pass, pass, drop", got)
		}
	})
}

// readTable reads pf table name in host h.
func readTable(t *testing.T, h *lab.Host, name string) Contents {
	t.Helper()
	var c Contents
	if err := h.Do(func() error {
		conn, err := newNSConn()
		if err != nil {
			return err
		}
		c, err = ReadTable(conn, name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}
