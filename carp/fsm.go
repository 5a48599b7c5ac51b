package carp

import (
	"fmt"
	"time"
)

// Params are the settings of one vhost that the state machine uses.
type Params struct {
	Name    string // carpN, for log lines
	AdvBase uint8  // seconds
	AdvSkew uint8
	Preempt bool // net.inet.carp.preempt
	Inet    bool // the carp interface has IPv4 addresses (sc_naddrs)
	Inet6   bool // the carp interface has IPv6 addresses (sc_naddrs6)
}

// NewParams returns the Params of carp interface c; preempt is
// net.inet.carp.preempt. advbase and advskew are taken modulo 256 (the
// request parser keeps them in range).
func NewParams(c Config, preempt bool) Params {
	p := Params{Name: c.Name, AdvBase: uint8(c.AdvBase), AdvSkew: uint8(c.AdvSkew), Preempt: preempt}
	for _, a := range c.Addrs {
		if a.Prefix.Addr().Is4() {
			p.Inet = true
		} else {
			p.Inet6 = true
		}
	}
	return p
}

// Machine is the INIT/BACKUP/MASTER state machine of one CARP vhost, after
// struct carp_vhost_entry and the functions of sys/netinet/ip_carp.c rev
// 1.370 that drive it (carp.md §3). It is a pure value: Step takes an
// event and the current time and returns what to do. It has no sockets,
// goroutines or clock; the worker authenticates advertisements (HMAC,
// counter) before it delivers them, runs the timers Step arms, and
// performs the actions in order.
type Machine struct {
	p          Params
	state      State
	up         bool // IFF_UP
	suppressed bool // sc_suppress: the carpdev is down
	demote     int  // carp_group_demote_count, 0..255
	delayedARP int  // sc_delayed_arp: advertisements until the second ARP round; -1 none
	sendErrors int  // sc_sendad_errors
	sendOK     int  // sc_sendad_success
	t          Deadlines

	now time.Time
	out []Action
}

// maxSendErrors is CARP_SENDAD_MAX_ERRORS (and _MIN_SUCCESS) for an
// interface with one vhost.
const maxSendErrors = 3

// NewMachine returns a vhost in INIT, administratively down, with its
// carpdev assumed up and no demotion. Deliver DemoteChanged and LinkDown
// as needed, then AdminUp.
func NewMachine(p Params) *Machine {
	return &Machine{p: p, state: Init, delayedARP: -1}
}

// State returns the vhost's state.
func (m *Machine) State() State { return m.state }

// Params returns the current parameters.
func (m *Machine) Params() Params { return m.p }

// Demote returns the effective demotion counter, the header's demote byte.
func (m *Machine) Demote() int { return m.demote }

// Running reports IFF_RUNNING as carp_setrun decides it: up, carpdev up,
// and at least one address.
func (m *Machine) Running() bool {
	return m.up && !m.suppressed && (m.p.Inet || m.p.Inet6)
}

// Deadlines returns when the armed timers expire.
func (m *Machine) Deadlines() Deadlines { return m.t }

// Step applies ev at time now and returns the actions to perform, in
// order. now must come from the clock the worker runs the timers on.
func (m *Machine) Step(ev Event, now time.Time) []Action {
	m.now, m.out = now, nil
	switch ev := ev.(type) {
	case AdminUp:
		m.adminUp()
	case AdminDown:
		m.adminDown()
	case LinkDown:
		m.linkDown()
	case LinkUp:
		m.linkUp()
	case AdvertReceived:
		m.receive(ev)
	case MasterDownExpired:
		if m.due(m.t.masterDown(ev.Family)) {
			m.masterDown()
		}
	case AdvertTimerExpired:
		if m.due(&m.t.Advert) && m.state == Master {
			m.sendAd(false)
		}
	case DemoteChanged:
		m.demote = min(max(ev.Value, 0), 255)
		if ev.Increased && m.state == Master && m.Running() {
			m.sendAd(false)
		}
	case ForceState:
		m.force(ev.To)
	case ConfigChanged:
		m.configure(ev)
	case PreemptChanged:
		m.p.Preempt = ev.On
	case SendFailed:
		m.sendFailed(ev.Family)
	case SendOK:
		m.sendSucceeded(ev.Family)
	}
	out := m.out
	m.out = nil
	return out
}

func (m *Machine) emit(a Action) { m.out = append(m.out, a) }

// setState is carp_set_state: log the transition (LOG_CRIT between BACKUP
// and MASTER, LOG_WARNING when either side is INIT) and move the VIPs.
func (m *Machine) setState(to State) {
	from := m.state
	if from == to {
		return
	}
	level := LogCrit
	if from == Init || to == Init {
		level = LogWarning
	}
	m.emit(Log{Level: level, Text: fmt.Sprintf("%s: state transition: %s -> %s", m.p.Name, from, to)})
	m.state = to
	m.emit(StateChanged{From: from, To: to})
	if from == Master {
		m.emit(DelVIPs{})
	}
	if to == Master {
		m.emit(AddVIPs{})
	}
	if to == Init {
		m.stopTimers(true, true, true)
	}
}

// setrun is carp_setrun(vhe, af): INIT becomes BACKUP, a BACKUP restarts
// the master-down timer of af (of every family with addresses when af is
// 0), a MASTER restarts its advertisement timer. A vhost that is not
// RUNNING does nothing.
func (m *Machine) setrun(af Family) {
	if !m.Running() {
		return
	}
	switch m.state {
	case Init:
		m.setState(Backup)
		m.setrun(0)
	case Backup:
		m.stopTimers(true, false, false)
		m.delayedARP = -1
		d := MasterDownInterval(m.p.AdvBase, m.p.AdvSkew)
		switch af {
		case Inet, Inet6:
			m.armMasterDown(af, d)
		default:
			// OpenBSD leaves the timer of a family without addresses
			// alone; we stop it so that removing the last IPv6 address
			// cannot make a BACKUP take over later.
			m.stopTimers(false, !m.p.Inet, !m.p.Inet6)
			if m.p.Inet {
				m.armMasterDown(Inet, d)
			}
			if m.p.Inet6 {
				m.armMasterDown(Inet6, d)
			}
		}
	case Master:
		m.armAdvert(AdvertInterval(m.p.AdvBase, m.p.AdvSkew))
	}
}

// masterDown is carp_master_down: a BACKUP becomes MASTER, advertises at
// once, announces its addresses (gratuitous ARP and unsolicited NA) and
// schedules a second ARP round after two more advertisements.
func (m *Machine) masterDown() {
	if m.state != Backup {
		return
	}
	m.setState(Master)
	m.sendAd(false)
	m.emit(SendGratuitous{ARP: m.p.Inet, NA: m.p.Inet6})
	m.delayedARP = 2
	m.stopTimers(false, true, true)
}

// sendAd is carp_send_ad: one advertisement per family with addresses;
// a bow-out one carries advbase and advskew 255 and arms no timer.
func (m *Machine) sendAd(bowOut bool) {
	base, skew := m.p.AdvBase, m.p.AdvSkew
	if bowOut {
		base, skew = BowOut, BowOut
	}
	m.emit(SendAdvert{AdvBase: base, AdvSkew: skew, Demote: uint8(m.demote), Inet: m.p.Inet, Inet6: m.p.Inet6})
	if bowOut {
		return
	}
	if m.p.Inet { // the countdown runs on the IPv4 path only
		if m.delayedARP > 0 {
			m.delayedARP--
		}
		if m.delayedARP == 0 {
			m.emit(SendGratuitous{ARP: true})
			m.delayedARP = -1
		}
	}
	m.armAdvert(AdvertInterval(base, skew))
}

// receive is the decision of carp_proto_input_c for an authenticated
// advertisement (carp.md §3.4). Timings compare as advbase seconds plus
// advskew/256 s with our configured skew; demote is the effective count.
func (m *Machine) receive(ev AdvertReceived) {
	if m.state == Init || !m.Running() {
		return
	}
	us, them := intervalUS(m.p.AdvBase, m.p.AdvSkew), intervalUS(ev.AdvBase, ev.AdvSkew)
	d, dt := m.demote, int(ev.Demote)
	switch m.state {
	case Master:
		if (us >= them && dt <= d) || dt < d {
			m.stopTimers(true, false, false)
			m.setState(Backup)
			m.setrun(0)
		}
	case Backup:
		switch {
		case m.p.Preempt && us < them && dt >= d:
			m.masterDown()
		case dt > d:
			m.masterDown()
		case m.p.AdvBase != 0 && 3*int64(m.p.AdvBase)*usecPerSec+intervalUS(0, m.p.AdvSkew) < them:
			m.masterDown() // the master would time out anyway: bow-out
		default:
			m.setrun(ev.Family)
		}
	}
}

func (m *Machine) adminUp() {
	if m.state == Init {
		m.up = true
		m.setrun(0)
	}
}

// adminDown is SIOCSIFFLAGS without IFF_UP: a vhost that is not INIT stops
// its timers, bows out if MASTER, and goes INIT.
func (m *Machine) adminDown() {
	if m.state != Init {
		m.stopTimers(true, true, true)
		if m.state == Master {
			m.sendAd(true)
		}
		m.setState(Init)
	}
	m.up = false
}

// linkDown is carp_carpdev_state with the carpdev down: INIT, suppressed,
// and the interface's groups demoted by one, once.
func (m *Machine) linkDown() {
	m.stopTimers(true, true, true)
	m.setState(Init)
	if !m.suppressed {
		m.suppressed = true
		m.emit(AdjustDemote{Delta: 1, Reason: "carpdev"})
	}
}

// linkUp is carp_carpdev_state with the carpdev back: BACKUP via setrun,
// which waits a full master-down interval, and the demotion undone.
func (m *Machine) linkUp() {
	if !m.suppressed {
		return
	}
	m.setState(Init)
	m.suppressed = false
	m.setrun(0)
	m.emit(AdjustDemote{Delta: -1, Reason: "carpdev"})
}

// force is "ifconfig carpN state backup|master" (SIOCSVH carpr_state):
// only from BACKUP or MASTER, and only to the other one.
func (m *Machine) force(to State) {
	if m.state == Init || to == m.state {
		return
	}
	switch to {
	case Backup:
		m.stopTimers(true, false, false)
		m.setState(Backup)
		m.setrun(0)
	case Master:
		m.masterDown()
	}
}

// configure applies SIOCSVH or an address change: an added address resets
// the vhost to INIT (carp_set_addr), no address leaves it INIT and down
// (carp_addr_updated), then carp_setrun restarts the timers.
func (m *Machine) configure(ev ConfigChanged) {
	m.p = ev.Params
	if ev.AddressAdded {
		m.up = true
		m.setState(Init)
	}
	if !m.p.Inet && !m.p.Inet6 {
		m.up = false
		m.setState(Init)
	}
	m.setrun(0)
}

// sendFailed and sendSucceeded count ip_output results as carp_send_ad
// does: three failures in a row demote by one, then three successes in a
// row undo it.
func (m *Machine) sendFailed(f Family) {
	if m.sendErrors < maxSendErrors {
		m.sendErrors++
		if m.sendErrors == maxSendErrors {
			m.emit(AdjustDemote{Delta: 1, Reason: "> " + sendReason(f)})
		}
	}
	m.sendOK = 0
}

func (m *Machine) sendSucceeded(f Family) {
	if m.sendErrors < maxSendErrors {
		m.sendErrors = 0
		return
	}
	m.sendOK++
	if m.sendOK >= maxSendErrors {
		m.emit(AdjustDemote{Delta: -1, Reason: "< " + sendReason(f)})
		m.sendErrors = 0
	}
}

func sendReason(f Family) string {
	if f == Inet6 {
		return "snd6errors"
	}
	return "snderrors"
}

// Event is an input of Machine.Step.
type Event interface{ event() }

// Events.
type (
	// AdminUp: the interface is set UP (ifconfig carpN up, or the worker's
	// start once vhid, carpdev and an address are configured).
	AdminUp struct{}
	// AdminDown: the interface is set down or destroyed; a MASTER bows
	// out (carp.md §3.6).
	AdminDown struct{}
	// LinkDown: the carpdev lost its link or was set down (carp.md §3.9).
	LinkDown struct{}
	// LinkUp: the carpdev is back.
	LinkUp struct{}
	// AdvertReceived: an advertisement for this vhid that passed the
	// TTL, length, checksum, version, HMAC and own-cookie checks.
	AdvertReceived struct {
		Family                   Family
		AdvBase, AdvSkew, Demote uint8
	}
	// MasterDownExpired: the master-down timer of Family fired.
	MasterDownExpired struct{ Family Family }
	// AdvertTimerExpired: the advertisement timer fired.
	AdvertTimerExpired struct{}
	// DemoteChanged: the effective demotion counter is now Value (the
	// worker computes it from the group ledger). Increased asks a MASTER
	// to advertise at once, which OpenBSD does after a positive
	// carpdemote, or when a kernel adjustment leaves a group at 1
	// (carp_group_demote_adj, carp_ifgattr_ioctl; carp.md §3.5).
	DemoteChanged struct {
		Value     int
		Increased bool
	}
	// ForceState: ifconfig carpN state backup|master (carp.md §3.3).
	ForceState struct{ To State }
	// ConfigChanged: advbase, advskew or the address families changed
	// (SIOCSVH or an address change). AddressAdded resets to INIT first
	// and sets the interface up, as SIOCSIFADDR does.
	ConfigChanged struct {
		Params       Params
		AddressAdded bool
	}
	// PreemptChanged: net.inet.carp.preempt was set.
	PreemptChanged struct{ On bool }
	// SendFailed reports that sending one advertisement of Family
	// failed; leave out EHOSTDOWN to a unicast carppeer.
	SendFailed struct{ Family Family }
	// SendOK reports that one advertisement of Family was sent.
	SendOK struct{ Family Family }
)

func (AdminUp) event()            {}
func (AdminDown) event()          {}
func (LinkDown) event()           {}
func (LinkUp) event()             {}
func (AdvertReceived) event()     {}
func (MasterDownExpired) event()  {}
func (AdvertTimerExpired) event() {}
func (DemoteChanged) event()      {}
func (ForceState) event()         {}
func (ConfigChanged) event()      {}
func (PreemptChanged) event()     {}
func (SendFailed) event()         {}
func (SendOK) event()             {}

// Action is an output of Machine.Step.
type Action interface{ action() }

// Actions.
type (
	// SendAdvert: send one advertisement per family marked, with these
	// header fields, the vhost's counter and the NOV6LL HMAC.
	SendAdvert struct {
		AdvBase, AdvSkew, Demote uint8
		Inet, Inet6              bool
	}
	// AddVIPs: put the virtual addresses on the carp interface (MASTER).
	AddVIPs struct{}
	// DelVIPs: take them off (leaving MASTER).
	DelVIPs struct{}
	// SendGratuitous: gratuitous ARP for every IPv4 address and/or
	// unsolicited NA for every IPv6 address (carp.md §3.8).
	SendGratuitous struct{ ARP, NA bool }
	// ArmAdvertTimer: (re)start the advertisement timer to fire after D.
	ArmAdvertTimer struct{ D time.Duration }
	// ArmMasterDown: (re)start Family's master-down timer to fire after D.
	ArmMasterDown struct {
		Family Family
		D      time.Duration
	}
	// StopTimers: stop the timers marked.
	StopTimers struct{ Advert, MasterDown, MasterDown6 bool }
	// Log: a syslog line in OpenBSD's words; the worker drops it if Level
	// is above net.inet.carp.log.
	Log struct {
		Level LogLevel
		Text  string
	}
	// StateChanged: the vhost moved from From to To.
	StateChanged struct{ From, To State }
	// AdjustDemote: add Delta to the demotion counter of the interface
	// and of every group it is in (carp_group_demote_adj), then deliver
	// DemoteChanged.
	AdjustDemote struct {
		Delta  int
		Reason string // "carpdev", "> snderrors", ...
	}
)

func (SendAdvert) action()     {}
func (AddVIPs) action()        {}
func (DelVIPs) action()        {}
func (SendGratuitous) action() {}
func (ArmAdvertTimer) action() {}
func (ArmMasterDown) action()  {}
func (StopTimers) action()     {}
func (Log) action()            {}
func (StateChanged) action()   {}
func (AdjustDemote) action()   {}

// LogLevel is a syslog(3) priority.
type LogLevel int

// Log levels CARP uses (carp.md §3.7).
const (
	LogCrit    LogLevel = 2
	LogErr     LogLevel = 3
	LogWarning LogLevel = 4
	LogNotice  LogLevel = 5
	LogInfo    LogLevel = 6
	LogDebug   LogLevel = 7
)

// String returns the syslog(3) name without LOG_, in lower case.
func (l LogLevel) String() string {
	switch l {
	case LogCrit:
		return "crit"
	case LogErr:
		return "err"
	case LogWarning:
		return "warning"
	case LogNotice:
		return "notice"
	case LogInfo:
		return "info"
	case LogDebug:
		return "debug"
	}
	return fmt.Sprintf("level(%d)", int(l))
}
