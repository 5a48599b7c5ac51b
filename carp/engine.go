package carp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"time"

	"carpfw/internal/demote"
)

// netIO is what the engine needs from the kernel; *LinuxNet provides it.
type netIO interface {
	Inbound() <-chan Inbound
	LinkEvents() <-chan bool
	Send(frame []byte) error
	Source(family int) (netip.Addr, bool)
	PeerMAC(ip netip.Addr) (net.HardwareAddr, bool)
	CarpdevMAC() net.HardwareAddr
	AddVIPs(addrs []Address) error
	DelVIPs(addrs []Address) error
	Index() int
	Close() error
}

// retryOpen is how often the engine retries a carpdev it could not open
// (it does not exist yet, or is being renamed).
const retryOpen = 2 * time.Second

// engine runs the protocol of one carp interface. It owns the Machine,
// the netIO and the timer, and is driven from the worker's single loop:
// control requests, received packets, carpdev link changes, timer expiry
// and demotion changes arrive one at a time, so nothing here needs a lock.
type engine struct {
	name   string
	log    *log.Logger
	clock  Clock
	ledger *demote.Ledger
	open   func(Config, net.HardwareAddr) (netIO, error)

	cfg   Config
	sys   Sysctl
	m     *Machine // nil until the interface has a vhid and a carpdev
	io    netIO    // nil while the carpdev cannot be opened
	retry time.Time

	cookie  [8]byte // replay cookie (carp.md §1.5)
	ipid    uint16
	own     int // this interface's own demotion contribution
	stats   Stats
	timer   ClockTimer
	pending []Event
}

func newEngine(name string, logger *log.Logger, clock Clock, ledger *demote.Ledger, cfg Config, sys Sysctl) *engine {
	e := &engine{name: name, log: logger, clock: DefaultClock(clock), ledger: ledger, cfg: cfg, sys: sys,
		open: func(c Config, mac net.HardwareAddr) (netIO, error) { return OpenLinuxNet(c, mac) }}
	e.timer = e.clock.NewTimer(time.Hour)
	e.timer.Stop()
	id, _ := rand.Int(rand.Reader, big.NewInt(1<<16))
	e.ipid = uint16(id.Int64())
	return e
}

// ready reports whether cfg is complete enough to run the protocol.
func (e *engine) ready() bool { return e.cfg.VHID != 0 && e.cfg.CarpDev != "" }

func (e *engine) vmac() net.HardwareAddr {
	if e.cfg.LLAddr != "" {
		if mac, err := net.ParseMAC(e.cfg.LLAddr); err == nil {
			return mac
		}
	}
	return VirtualMAC(uint8(e.cfg.VHID))
}

func (e *engine) params() Params { return NewParams(e.cfg, e.sys.Preempt) }

// restart (re)builds the protocol for the current configuration: after a
// vhid, carpdev or lladdr change the macvlan itself changes. A MASTER
// bows out first.
func (e *engine) restart() {
	e.stop()
	if !e.ready() {
		return
	}
	io, err := e.open(e.cfg, e.vmac())
	if err != nil {
		e.log.Printf("%s: %v", e.name, err)
		e.retry = e.clock.Now().Add(retryOpen)
		e.rearm()
		return
	}
	e.io, e.retry = io, time.Time{}
	if _, err := rand.Read(e.cookie[:]); err != nil {
		e.log.Printf("%s: replay cookie: %v", e.name, err)
	}
	e.m = NewMachine(e.params())
	e.setOwnDemote(0)
	e.step(DemoteChanged{Value: e.effectiveDemote()})
	if e.cfg.Up {
		e.step(AdminUp{})
	}
}

// stop takes the protocol down: a MASTER bows out and withdraws its
// addresses; the sockets close, the macvlan stays.
func (e *engine) stop() {
	if e.m != nil && e.io != nil {
		e.step(AdminDown{})
		if err := e.io.DelVIPs(e.cfg.Addrs); err != nil {
			e.log.Printf("%s: %v", e.name, err)
		}
	}
	if e.io != nil {
		e.io.Close()
	}
	e.io, e.m = nil, nil
	e.timer.Stop()
}

// step delivers ev and the events its actions cause, performing the
// actions in order, then re-arms the timer.
func (e *engine) step(ev Event) {
	if e.m == nil {
		return
	}
	queue := []Event{ev}
	for n := 0; len(queue) > 0 && n < 64; n++ {
		ev, queue = queue[0], queue[1:]
		for _, a := range e.m.Step(ev, e.clock.Now()) {
			e.perform(a)
		}
		queue, e.pending = append(queue, e.pending...), nil
	}
	e.rearm()
}

// rearm sets the one timer to the earliest deadline.
func (e *engine) rearm() {
	e.timer.Stop()
	var at time.Time
	if e.m != nil {
		at, _, _ = e.m.Deadlines().Next()
	}
	if !e.retry.IsZero() && (at.IsZero() || e.retry.Before(at)) {
		at = e.retry
	}
	if !at.IsZero() {
		e.timer.Reset(max(at.Sub(e.clock.Now()), 0))
	}
}

// expire delivers every deadline that has passed.
func (e *engine) expire() {
	now := e.clock.Now()
	if !e.retry.IsZero() && !e.retry.After(now) && e.io == nil {
		e.retry = time.Time{}
		e.restart()
		return
	}
	for range 4 {
		if e.m == nil {
			break
		}
		at, ev, ok := e.m.Deadlines().Next()
		if !ok || at.After(now) {
			break
		}
		e.step(ev)
	}
	e.rearm()
}

func (e *engine) perform(a Action) {
	switch a := a.(type) {
	case SendAdvert:
		e.sendAdvert(a)
	case AddVIPs:
		if err := e.io.AddVIPs(e.cfg.Addrs); err != nil {
			e.log.Printf("%s: %v", e.name, err)
		}
	case DelVIPs:
		if err := e.io.DelVIPs(e.cfg.Addrs); err != nil {
			e.log.Printf("%s: %v", e.name, err)
		}
	case SendGratuitous:
		e.sendGratuitous(a)
	case Log:
		if int(a.Level) <= e.sys.Log {
			e.log.Print(a.Text)
		}
	case StateChanged:
		if a.To == Master {
			e.stats.Preempt++
		}
	case AdjustDemote:
		e.setOwnDemote(e.own + a.Delta)
		if int(LogErr) <= e.sys.Log {
			for _, g := range e.cfg.Groups {
				n, _ := e.ledger.Group(g)
				e.log.Printf("carp: %s demoted group %s by %d to %d (%s)", e.name, g, a.Delta, n, a.Reason)
			}
		}
		if d := e.effectiveDemote(); d != e.m.Demote() {
			e.pending = append(e.pending, DemoteChanged{Value: d, Increased: d > e.m.Demote()})
		}
	}
}

// setOwnDemote records this interface's contribution in every group it
// is in (carp_group_demote_adj).
func (e *engine) setOwnDemote(n int) {
	e.own = max(n, 0)
	for _, g := range e.cfg.Groups {
		if err := e.ledger.Set(g, e.name, e.own); err != nil {
			e.log.Printf("%s: %v", e.name, err)
		}
	}
}

func (e *engine) effectiveDemote() int {
	d, err := e.ledger.Effective(e.cfg.Groups)
	if err != nil {
		e.log.Printf("%s: %v", e.name, err)
	}
	return d
}

// demoteChanged re-reads the group counters after another process
// changed them.
func (e *engine) demoteChanged() {
	if e.m == nil {
		return
	}
	if d := e.effectiveDemote(); d != e.m.Demote() {
		e.step(DemoteChanged{Value: d, Increased: d > e.m.Demote()})
	}
}

func (e *engine) hmacInput() HMACInput {
	var realMAC net.HardwareAddr
	if e.io != nil {
		realMAC = e.io.CarpdevMAC()
	}
	in, err := NewHMACInput(e.cfg, realMAC)
	if err != nil {
		e.log.Printf("%s: %v", e.name, err)
	}
	return in
}

func (e *engine) sendAdvert(a SendAdvert) {
	ad := NewAdvertisement(uint8(e.cfg.VHID), a.AdvBase, a.AdvSkew, a.Demote, e.cookie)
	ad.HMAC = ComputeHMAC(e.hmacInput(), e.cookie)
	payload, err := ad.MarshalBinary()
	if err != nil {
		e.log.Printf("%s: %v", e.name, err)
		return
	}
	if a.Inet {
		e.sendResult(Inet, e.send4(payload))
	}
	if a.Inet6 {
		e.sendResult(Inet6, e.send6(payload))
	}
}

// errNoPeerMAC means a unicast carppeer is being resolved; not an error
// that demotes (EHOSTDOWN in OpenBSD).
var errNoPeerMAC = errors.New("carppeer not resolved yet")

func (e *engine) send4(payload []byte) error {
	src, ok := e.io.Source(4)
	if !ok {
		// No address on the carpdev: OpenBSD then uses one of the carp
		// interface's own.
		i := slices.IndexFunc(e.cfg.Addrs, func(a Address) bool { return a.Prefix.Addr().Is4() })
		if i < 0 {
			return errors.New("no IPv4 source address")
		}
		src = e.cfg.Addrs[i].Prefix.Addr()
	}
	var dstMAC net.HardwareAddr
	if e.cfg.Peer != DefaultPeer {
		if dstMAC, ok = e.io.PeerMAC(e.cfg.Peer); !ok {
			return errNoPeerMAC
		}
	}
	e.ipid++
	f, err := AdvertFrame4(e.vmac(), dstMAC, src, e.cfg.Peer, e.ipid, payload)
	if err != nil {
		return err
	}
	if err := e.io.Send(f); err != nil {
		return err
	}
	e.stats.OPackets++
	return nil
}

func (e *engine) send6(payload []byte) error {
	src, ok := e.io.Source(6)
	if !ok {
		return errors.New("carpdev has no IPv6 link-local address")
	}
	f, err := AdvertFrame6(e.vmac(), src, payload)
	if err != nil {
		return err
	}
	if err := e.io.Send(f); err != nil {
		return err
	}
	e.stats.OPackets6++
	return nil
}

func (e *engine) sendResult(f Family, err error) {
	switch {
	case err == nil:
		e.pending = append(e.pending, SendOK{Family: f})
	case errors.Is(err, errNoPeerMAC):
	default:
		e.stats.OErrors++
		if int(LogWarning) <= e.sys.Log {
			e.log.Printf("%s: send failed: %v", e.name, err)
		}
		e.pending = append(e.pending, SendFailed{Family: f})
	}
}

func (e *engine) sendGratuitous(a SendGratuitous) {
	src6, have6 := e.io.Source(6)
	router := readSysctl("ipv6/conf/all/forwarding") == "1"
	for _, ad := range e.cfg.Addrs {
		var f []byte
		var err error
		switch addr := ad.Prefix.Addr(); {
		case addr.Is4() && a.ARP:
			f, err = GratuitousARP(e.vmac(), addr)
		case addr.Is6() && a.NA && have6:
			f, err = UnsolicitedNA(e.vmac(), src6, addr, router)
		default:
			continue
		}
		if err == nil {
			err = e.io.Send(f)
		}
		if err != nil {
			e.log.Printf("%s: gratuitous announcement of %v: %v", e.name, ad.Prefix.Addr(), err)
		}
	}
}

// receive runs the checks of carp_proto_input_if, in OpenBSD's order
// (carp.md §1.6), and delivers an advertisement that passes them.
func (e *engine) receive(p Inbound) {
	if !e.sys.Allow || e.m == nil {
		return
	}
	if p.Family == 4 {
		e.stats.IPackets++
	} else {
		e.stats.IPackets6++
	}
	if p.TTL != 255 {
		e.stats.BadTTL++
		e.logf(LogNotice, "%s: received ttl %d != 255 on %s", e.name, p.TTL, e.cfg.CarpDev)
		return
	}
	var ad Advertisement
	err := ad.UnmarshalBinary(p.Payload)
	switch {
	case errors.Is(err, ErrTooShort):
		e.stats.HDrops++
		e.logf(LogInfo, "%s: received len %d < sizeof(struct carp_header)", e.name, len(p.Payload))
		return
	case errors.Is(err, ErrBadChecksum):
		e.stats.BadSum++
		e.logf(LogInfo, "%s: checksum failed on %s", e.name, e.cfg.CarpDev)
		return
	}
	unicastCfg, unicastAd := e.cfg.Peer != DefaultPeer, !p.Dst.IsMulticast()
	if int(ad.VHID) != e.cfg.VHID || unicastCfg != unicastAd {
		e.stats.BadVHID++
		return
	}
	if err != nil { // ErrBadVersion, checked after the vhid as OpenBSD does
		e.stats.BadVer++
		e.logf(LogNotice, "%s: invalid version %d", e.name, ad.Version)
		return
	}
	if !VerifyHMAC(e.hmacInput(), ad.Counter, ad.HMAC) {
		e.stats.BadAuth++
		e.logf(LogInfo, "%s: incorrect hash", e.name)
		return
	}
	if ad.Counter == e.cookie {
		e.stats.Loops++
		e.logf(LogWarning, "%s: replay or network loop detected", e.name)
		return
	}
	f := Inet
	if p.Family == 6 {
		f = Inet6
	}
	e.step(AdvertReceived{Family: f, AdvBase: ad.AdvBase, AdvSkew: ad.AdvSkew, Demote: ad.Demote})
}

func (e *engine) logf(l LogLevel, format string, a ...any) {
	if int(l) <= e.sys.Log {
		e.log.Printf(format, a...)
	}
}

// link delivers a carpdev state change.
func (e *engine) link(up bool) {
	if up {
		e.step(LinkUp{})
	} else {
		e.step(LinkDown{})
	}
}

// reconfigure moves from the configuration in effect to next.
func (e *engine) reconfigure(next Config, force string) {
	prev := e.cfg
	e.cfg = next
	if groupsChanged := !slices.Equal(prev.Groups, next.Groups); groupsChanged {
		for _, g := range prev.Groups {
			if !slices.Contains(next.Groups, g) {
				e.ledger.Set(g, e.name, 0)
			}
		}
		e.setOwnDemote(e.own)
	}
	if prev.VHID != next.VHID || prev.CarpDev != next.CarpDev || prev.LLAddr != next.LLAddr || (e.m == nil && e.ready()) {
		e.cfg = prev
		e.stop()
		e.cfg = next
		e.restart()
		e.applyForce(force)
		return
	}
	if e.m == nil {
		return
	}
	if prev.Up && !next.Up {
		e.step(AdminDown{})
	}
	removed := slices.DeleteFunc(slices.Clone(prev.Addrs), func(a Address) bool { return slices.Contains(next.Addrs, a) })
	added := slices.ContainsFunc(next.Addrs, func(a Address) bool { return !slices.Contains(prev.Addrs, a) })
	if len(removed) > 0 && e.io != nil {
		e.io.DelVIPs(removed)
	}
	if p := e.params(); p != e.m.Params() || added || len(removed) > 0 {
		e.step(ConfigChanged{Params: p, AddressAdded: added})
	}
	if !prev.Up && next.Up {
		e.step(AdminUp{})
	}
	if e.m.State() == Master && e.io != nil {
		e.io.AddVIPs(e.cfg.Addrs)
	}
	e.demoteChanged()
	e.applyForce(force)
}

func (e *engine) applyForce(force string) {
	switch force {
	case "backup":
		e.step(ForceState{To: Backup})
	case "master":
		e.step(ForceState{To: Master})
	}
}

// setSysctl applies new net.inet.carp values.
func (e *engine) setSysctl(s Sysctl) {
	old := e.sys
	e.sys = s
	if e.m != nil && old.Preempt != s.Preempt {
		e.step(PreemptChanged{On: s.Preempt})
	}
}

// status reports the interface for carpctl.
func (e *engine) status() Status {
	c := e.cfg.Clone()
	c.Pass = "" // ifconfig(8) never shows the key
	st := Status{Config: c, State: Init, Demote: e.effectiveDemote()}
	if e.m != nil {
		st.State, st.Running, st.Demote = e.m.State(), e.m.Running(), e.m.Demote()
	}
	if e.io != nil {
		st.Index = e.io.Index()
	}
	return st
}

// destroy withdraws everything: bow-out, addresses, the macvlan and this
// interface's demotion.
func (e *engine) destroy() error {
	e.stop()
	e.setOwnDemote(0)
	if err := DestroyMacvlan(e.name); err != nil {
		return fmt.Errorf("%s: destroy: %w", e.name, err)
	}
	return nil
}
