package carp

import "time"

// Family is an address family: which advertisements a vhost sends and
// which master-down timer an advertisement restarts (carp.md §3.2).
type Family uint8

// Address families; the zero Family means both, as af 0 does in
// carp_setrun.
const (
	Inet  Family = 1 // AF_INET: md_tmo, IPv4 advertisements to 224.0.0.18
	Inet6 Family = 2 // AF_INET6: md6_tmo, IPv6 advertisements to ff02::12
)

// String returns "inet", "inet6" or "any".
func (f Family) String() string {
	switch f {
	case Inet:
		return "inet"
	case Inet6:
		return "inet6"
	}
	return "any"
}

const (
	usecPerSec    = 1_000_000
	minIntervalUS = usecPerSec / 256 // 3906 µs when advbase and advskew are 0
)

// AdvertInterval returns how often a MASTER advertises, as carp_setrun and
// carp_send_ad compute it in ip_carp.c rev 1.370 (carp.md §3.2): advbase
// seconds plus advskew/256 s truncated to whole microseconds, and 1/256 s
// (3906 µs) when that is zero.
func AdvertInterval(advbase, advskew uint8) time.Duration {
	us := intervalUS(advbase, advskew)
	if us == 0 {
		us = minIntervalUS
	}
	return time.Duration(us) * time.Microsecond
}

// MasterDownInterval returns how long a BACKUP waits for an advertisement
// before it becomes MASTER: three advertisement intervals (carp_setrun,
// current formula; OpenBSD 2015, FreeBSD and ucarp used 3·advbase +
// advskew/256 instead).
func MasterDownInterval(advbase, advskew uint8) time.Duration {
	return 3 * AdvertInterval(advbase, advskew)
}

// intervalUS is the struct timeval that carp_proto_input_c compares,
// in microseconds: advbase seconds plus advskew·10⁶/256 µs, not raised
// to a minimum.
func intervalUS(advbase, advskew uint8) int64 {
	return int64(advbase)*usecPerSec + int64(advskew)*usecPerSec/256
}

// Deadlines are the times at which a Machine's timers expire; the zero
// time means not armed. They mirror struct carp_vhost_entry's ad_tmo,
// md_tmo and md6_tmo.
type Deadlines struct {
	Advert      time.Time // send the next advertisement (MASTER)
	MasterDown  time.Time // no IPv4 advertisement heard (BACKUP)
	MasterDown6 time.Time // no IPv6 advertisement heard (BACKUP)
}

// Next returns the earliest armed deadline and the event to deliver when
// it passes; ok is false when no timer is armed.
func (d Deadlines) Next() (at time.Time, ev Event, ok bool) {
	for _, c := range []struct {
		t  time.Time
		ev Event
	}{
		{d.Advert, AdvertTimerExpired{}},
		{d.MasterDown, MasterDownExpired{Family: Inet}},
		{d.MasterDown6, MasterDownExpired{Family: Inet6}},
	} {
		if !c.t.IsZero() && (!ok || c.t.Before(at)) {
			at, ev, ok = c.t, c.ev, true
		}
	}
	return at, ev, ok
}

// masterDown returns the deadline field of f's master-down timer.
func (d *Deadlines) masterDown(f Family) *time.Time {
	if f == Inet6 {
		return &d.MasterDown6
	}
	return &d.MasterDown
}

// armAdvert arms the advertisement timer (timeout_add_usec on ad_tmo).
func (m *Machine) armAdvert(d time.Duration) {
	m.t.Advert = m.now.Add(d)
	m.emit(ArmAdvertTimer{D: d})
}

// armMasterDown arms f's master-down timer (md_tmo or md6_tmo).
func (m *Machine) armMasterDown(f Family, d time.Duration) {
	*m.t.masterDown(f) = m.now.Add(d)
	m.emit(ArmMasterDown{Family: f, D: d})
}

// stopTimers stops the chosen timers that are armed (timeout_del) and
// emits one StopTimers naming them, if any.
func (m *Machine) stopTimers(advert, md, md6 bool) {
	s := StopTimers{
		Advert:      advert && !m.t.Advert.IsZero(),
		MasterDown:  md && !m.t.MasterDown.IsZero(),
		MasterDown6: md6 && !m.t.MasterDown6.IsZero(),
	}
	if s == (StopTimers{}) {
		return
	}
	if s.Advert {
		m.t.Advert = time.Time{}
	}
	if s.MasterDown {
		m.t.MasterDown = time.Time{}
	}
	if s.MasterDown6 {
		m.t.MasterDown6 = time.Time{}
	}
	m.emit(s)
}

// due reports whether the timer at *t is armed and has expired by now,
// and disarms it if so. An expiry that arrives for a timer that was
// stopped or re-armed since is stale and ignored.
func (m *Machine) due(t *time.Time) bool {
	if t.IsZero() || m.now.Before(*t) {
		return false
	}
	*t = time.Time{}
	return true
}
