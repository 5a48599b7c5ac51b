package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"carpfw/carp"
	"carpfw/internal/ctnat"
	"carpfw/internal/lab"
	"carpfw/pfsync"
)

// TestUDPICMPReplicateNoSyncDoesNot: UDP and ICMP states reach the
// backup; a TCP connection the ruleset marks no-sync (ct label 127, port
// 2222) does not, while a plain one opened after it does.
func TestUDPICMPReplicateNoSyncDoesNot(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	fw1, fw2 := c.fw[0], c.fw[1]
	c.startPfsync(0)
	c.startPfsync(1)
	waitBulkDone(t, fw1, fw2)
	c.startCarp(0, "0")
	c.startCarp(1, "100")
	fw1.waitCarp(carp.Master, 6*time.Second)

	if out, err := c.client.Run("ping", "-c1", "-W2", "10.20.0.100"); err != nil {
		t.Fatalf("ping through fw1: %v\n%s", err, out)
	}
	pc, err := c.server.ListenPacket("udp", "10.20.0.100:5353")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 100)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], a)
		}
	}()
	u, err := c.client.Dial("udp", "10.20.0.100:5353")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(3 * time.Second))
	u.Write([]byte("q"))
	if _, err := u.Read(make([]byte, 10)); err != nil {
		t.Fatalf("udp through fw1: %v", err)
	}
	nosync := startStream(t, c.client, c.server, "10.20.0.100:2222")
	synced := startStream(t, c.client, c.server, "10.20.0.100:5001")
	for _, s := range []*stream{nosync, synced} {
		if _, ok := s.progresses(0, 5*time.Second); !ok {
			t.Fatal("no echo through fw1")
		}
	}
	waitCT(t, fw2, 3*time.Second, "-p", "icmp", "-d", "10.20.0.100")
	waitCT(t, fw2, 3*time.Second, "-p", "udp", "--dport", "5353")
	waitCT(t, fw2, 3*time.Second, "-p", "tcp", "--dport", "5001")
	if n := fw2.ctCount("-p", "tcp", "--dport", "2222"); n != 0 {
		t.Errorf("the no-sync connection reached fw2 (%d entries)", n)
	}
	if n := fw1.ctCount("-p", "tcp", "--dport", "2222"); n != 1 {
		t.Errorf("fw1 has %d entries for the no-sync connection, want 1 (the control)", n)
	}
	if st := fw1.stats(); st.NoSync == 0 {
		t.Errorf("fw1 counted no entry as not synced: %+v", st)
	}
	out := fw2.h.MustRun("conntrack", "-L", "-p", "udp", "--dport", "5353")
	t.Logf("fw2's copies:\n%s%s", out, fw2.h.MustRun("conntrack", "-L", "-p", "icmp"))
}

// sendRaw sends frames as IP protocol 240 from h to dst with the TTL
// given for each.
func sendRaw(t *testing.T, h *lab.Host, src, dst string, frames [][]byte, ttls []int) {
	t.Helper()
	err := h.Do(func() error {
		c, err := net.ListenPacket("ip4:240", src)
		if err != nil {
			return err
		}
		defer c.Close()
		p := ipv4.NewPacketConn(c)
		for i, f := range frames {
			if err := p.SetTTL(ttls[i]); err != nil {
				return err
			}
			if _, err := p.WriteTo(f, nil, &net.IPAddr{IP: net.ParseIP(dst)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// insFrame returns a valid INS frame for an established TCP state from
// 10.10.0.<host>:sport to the server.
func insFrame(t *testing.T, host byte, sport uint16, id uint64) []byte {
	e := ctnat.Entry{
		Orig:    ctnat.Tuple{Src: netip.AddrFrom4([4]byte{10, 10, 0, host}), Dst: netip.MustParseAddr("10.20.0.100"), Proto: unix.IPPROTO_TCP, SrcPort: sport, DstPort: 80},
		Reply:   ctnat.Tuple{Src: netip.MustParseAddr("10.20.0.100"), Dst: netip.AddrFrom4([4]byte{10, 10, 0, host}), Proto: unix.IPPROTO_TCP, SrcPort: 80, DstPort: sport},
		Status:  ctnat.StatusSeenReply | ctnat.StatusAssured,
		Timeout: 600,
		TCP:     &ctnat.TCP{State: ctnat.TCPEstablished},
	}
	s, _, err := pfsync.Export(e, pfsync.Ref{CreatorID: 0x0badf00d, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&pfsync.Packet{Sections: []pfsync.Section{{Action: pfsync.ActionIns, Records: []pfsync.Record{&s}}}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadFramesCountedAndDropped sends malformed, truncated and
// wrong-TTL frames to fw2's pfsync: each is counted and none is applied;
// a good frame sent last is applied (the control).
func TestBadFramesCountedAndDropped(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	fw2 := c.fw[1]
	c.startPfsync(1)

	good := insFrame(t, 50, 1000, 1)
	badTTL := insFrame(t, 51, 1001, 2)
	// A section that claims two states but holds one: the whole frame
	// is dropped, including the first state.
	trunc := insFrame(t, 52, 1002, 3)
	trunc[pfsync.HeaderLen+3] = 2
	badVer := insFrame(t, 53, 1003, 4)
	badVer[0] = 5
	badLen := insFrame(t, 54, 1004, 5)
	badLen[2], badLen[3] = 0x10, 0
	badAct := append(insFrame(t, 55, 1005, 6), 200, 0, 0, 0)
	badAct[2], badAct[3] = byte(len(badAct)>>8), byte(len(badAct))
	short := []byte{6, 0, 0}

	frames := [][]byte{badTTL, trunc, badVer, badLen, badAct, short, good}
	ttls := []int{64, 255, 255, 255, 255, 255, 255}
	sendRaw(t, c.fw[0].h, "10.30.0.1", "10.30.0.2", frames, ttls)

	waitCT(t, fw2, 3*time.Second, "-p", "tcp", "-s", "10.10.0.50")
	st := fw2.stats()
	want := map[string][2]uint64{
		"bad ttl":        {st.BadTTL, 1},
		"short":          {st.HdrOps, 1},
		"bad version":    {st.BadVer, 1},
		"bad length":     {st.BadLen, 2},
		"bad action":     {st.BadAct, 1},
		"inserted":       {st.Inserted, 1},
		"received (all)": {st.IPackets, 7},
	}
	for what, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s: %d, want %d", what, v[0], v[1])
		}
	}
	for host := 51; host <= 55; host++ {
		if n := fw2.ctCount("-p", "tcp", "-s", fmt.Sprintf("10.10.0.%d", host)); n != 0 {
			t.Errorf("a state from a dropped frame (10.10.0.%d) was applied", host)
		}
	}
	out := fw2.pfsyncctl("stats")
	for _, line := range []string{"\t\t1 packets discarded for bad ttl\n", "\t\t1 packets discarded for bad version\n", "\t\t1 packets discarded for bad action\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("pfsyncctl stats lacks %q:\n%s", line, out)
		}
	}
	if js := fw2.pfsyncctl("stats", "--json"); !strings.Contains(js, `"badttl": 1`) {
		t.Errorf("pfsyncctl stats --json:\n%s", js)
	}
}

// TestLateBackupWaitsForBulk: fw2 starts after fw1 has thousands of
// states, with its sync link down at first. It holds the carp group
// demoted (33: 32 for the bulk, 1 for the link) and stays BACKUP although
// it is the preferred node with preemption; once the link is up it gets
// every state by bulk update and only then becomes MASTER.
func TestLateBackupWaitsForBulk(t *testing.T) {
	const states = 3000
	c := newCluster(t, clusterOpts{preempt: true})
	fw1, fw2 := c.fw[0], c.fw[1]
	// Both start empty, so fw1's own bulk update completes; then fw2's
	// pfsync goes away until the test starts it again, late.
	c.startPfsync(0)
	c.startPfsync(1)
	waitBulkDone(t, fw1, fw2)
	fw2.pfsyncctl("pfsync0", "destroy")
	c.startCarp(0, "100")
	fw1.waitCarp(carp.Master, 6*time.Second)
	err := fw1.h.Do(func() error {
		ct, err := ctnat.Dial()
		if err != nil {
			return err
		}
		defer ct.Close()
		for i := range states {
			src := netip.AddrFrom4([4]byte{10, 10, byte(1 + i/250), byte(1 + i%250)})
			e := ctnat.Entry{
				Orig:    ctnat.Tuple{Src: src, Dst: netip.MustParseAddr("10.20.0.100"), Proto: unix.IPPROTO_TCP, SrcPort: 40000, DstPort: 80},
				Status:  ctnat.StatusSeenReply | ctnat.StatusAssured,
				Timeout: 3600,
				TCP:     &ctnat.TCP{State: ctnat.TCPEstablished},
			}
			if err := ct.Create(e); err != nil {
				return fmt.Errorf("create %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); fw1.stats().LocalStates < states; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("fw1 tracks %d states, want %d", fw1.stats().LocalStates, states)
		}
	}

	fw2.h.SetLinkDown("sync0") // fw1's link goes down too: it demotes by 1
	c.startPfsync(1)
	c.startCarp(1, "0")
	fw2.waitCarp(carp.Backup, 6*time.Second)
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if st := fw2.carpState("carp0"); st != carp.Backup {
			t.Fatalf("fw2 became %s while its bulk update was pending", st)
		}
	}
	if got := fw2.carpctl("-g", "carp"); got != "carp: carp demote count 33\n" {
		t.Errorf("carpctl -g carp while waiting: %q", got)
	}
	if st := fw2.stats(); st.Bulk != "start" || st.Demote != 33 {
		t.Errorf("fw2 pfsync while waiting: bulk %s demote %d", st.Bulk, st.Demote)
	}
	upAt := time.Now()
	fw2.h.SetLinkUp("sync0")
	var atMaster pfsync.Stats
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if fw2.carpState("carp0") == carp.Master {
			atMaster = fw2.stats()
			break
		}
		if time.Now().After(end) {
			t.Fatalf("fw2 never took over: %+v\n%s", fw2.stats(), fw2.log("pfsync0"))
		}
	}
	t.Logf("fw2 MASTER %v after its sync link came up, with %d states (bulk %s)", time.Since(upAt), atMaster.States, atMaster.Bulk)
	if atMaster.States < states || atMaster.BulkReceived != 1 {
		t.Errorf("fw2 became MASTER with %d states, bulk %s, %d bulks received; want %d states after the bulk\nfw1: %+v\nfw2: %+v\nfw1's log:\n%s\nfw2's log:\n%s", atMaster.States, atMaster.Bulk, atMaster.BulkReceived, states, fw1.stats(), atMaster, fw1.log("pfsync0"), fw2.log("pfsync0"))
	}
	if n := fw2.ctCount("-p", "tcp", "--dport", "80"); n < states {
		t.Errorf("fw2's conntrack holds %d of the %d states", n, states)
	}
	if got := fw2.carpctl("-g", "carp"); got != "carp: carp demote count 0\n" {
		t.Errorf("carpctl -g carp after the bulk: %q", got)
	}
}

// TestQuietFlowKeptAlive: conntrack sends no event when a packet only
// refreshes an entry's timeout, so a UDP flow that stays in one state
// would expire on the backup after udp_timeout_stream (9 s here) while it
// lives on the master. The worker's keep-alive (an UPD_C for entries whose
// timeout rose since the last dump) must keep fw2's copy for 25 s.
func TestQuietFlowKeptAlive(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	fw1, fw2 := c.fw[0], c.fw[1]
	for _, n := range c.fw {
		n.h.Sysctl("net.netfilter.nf_conntrack_udp_timeout", "6")
		n.h.Sysctl("net.netfilter.nf_conntrack_udp_timeout_stream", "9")
	}
	c.startPfsync(0)
	c.startPfsync(1)
	waitBulkDone(t, fw1, fw2)
	c.startCarp(0, "0")
	c.startCarp(1, "100")
	fw1.waitCarp(carp.Master, 6*time.Second)
	pc, err := c.server.ListenPacket("udp", "10.20.0.100:5353")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 100)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], a)
		}
	}()
	u, err := c.client.Dial("udp", "10.20.0.100:5353")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	buf := make([]byte, 10)
	for i := range 25 {
		u.SetDeadline(time.Now().Add(2 * time.Second))
		u.Write([]byte("q"))
		if _, err := u.Read(buf); err != nil {
			t.Fatalf("udp exchange %d through fw1: %v", i, err)
		}
		if i >= 3 && fw2.ctCount("-p", "udp", "--dport", "5353") == 0 {
			t.Fatalf("fw2's copy of the flow expired after %d s: %+v\n%s", i, fw1.stats(), fw1.h.MustRun("conntrack", "-L", "-p", "udp"))
		}
		time.Sleep(time.Second)
	}
	st := fw1.stats()
	if st.Refreshes == 0 {
		t.Errorf("fw1 sent no keep-alive: %+v", st)
	}
	t.Logf("fw1: %d keep-alive updates, %d reconciliations in 25 s; fw2: %s", st.Refreshes, st.Reconciles,
		fw2.h.MustRun("conntrack", "-L", "-p", "udp", "--dport", "5353"))
}

// TestHandshakeUpdateReachesPeer: a connection whose first state went
// out while it was SYN_SENT (no reply yet) and which then completed its
// handshake must be, on the peer, a state that has seen its reply, as it
// is on the master. Otherwise the peer's kernel classifies every later
// packet of the original direction as NEW, and after a takeover the
// stateful ruleset drops the stream (it did, on loaded test machines).
func TestHandshakeUpdateReachesPeer(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	fw1, fw2 := c.fw[0], c.fw[1]
	c.startPfsync(0)
	c.startPfsync(1)
	waitBulkDone(t, fw1, fw2)
	e := ctnat.Entry{
		Orig:    ctnat.Tuple{Src: netip.MustParseAddr("10.10.0.100"), Dst: netip.MustParseAddr("10.20.0.100"), Proto: unix.IPPROTO_TCP, SrcPort: 40001, DstPort: 5001},
		Timeout: 120,
		TCP:     &ctnat.TCP{State: ctnat.TCPSynSent},
	}
	ct := func(fn func(*ctnat.Conn) error) {
		t.Helper()
		err := fw1.h.Do(func() error {
			c, err := ctnat.Dial()
			if err != nil {
				return err
			}
			defer c.Close()
			return fn(c)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ct(func(c *ctnat.Conn) error { return c.Create(e) })
	waitCT(t, fw2, 3*time.Second, "-p", "tcp", "--dport", "5001", "--state", "SYN_SENT")
	if out := fw2.h.MustRun("conntrack", "-L", "-p", "tcp", "--dport", "5001"); !strings.Contains(out, "[UNREPLIED]") {
		t.Fatalf("fw2's copy of a SYN_SENT state has seen a reply (the control):\n%s", out)
	}
	e.TCP.State = ctnat.TCPEstablished
	e.Status = ctnat.StatusSeenReply | ctnat.StatusAssured
	e.Timeout = 3600
	ct(func(c *ctnat.Conn) error { return c.Update(e) })
	waitCT(t, fw2, 3*time.Second, "-p", "tcp", "--dport", "5001", "--state", "ESTABLISHED")
	var out string
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		out = fw2.h.MustRun("conntrack", "-L", "-p", "tcp", "--dport", "5001")
		if !strings.Contains(out, "[UNREPLIED]") && strings.Contains(out, "[ASSURED]") {
			t.Logf("fw2: %s", strings.TrimSpace(out))
			return
		}
	}
	t.Fatalf("fw2's copy is ESTABLISHED but not seen-reply and assured:\n%s\nfw2 pfsync log:\n%s", out, fw2.log("pfsync0"))
}
