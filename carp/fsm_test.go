package carp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fsmT0 is the fake clock's origin; nothing in these tests sleeps.
var fsmT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return fsmT0.Add(d) }

func us(n int64) time.Duration { return time.Duration(n) * time.Microsecond }

func fsmParams(advbase, advskew uint8) Params {
	return Params{Name: "carp0", AdvBase: advbase, AdvSkew: advskew, Inet: true}
}

// machineIn returns a machine in state st at fsmT0 with demotion demote.
func machineIn(t *testing.T, p Params, st State, demote int) *Machine {
	t.Helper()
	m := NewMachine(p)
	m.Step(DemoteChanged{Value: demote}, fsmT0)
	if st == Init {
		return m
	}
	m.Step(AdminUp{}, fsmT0)
	if st == Master {
		m.Step(ForceState{To: Master}, fsmT0)
	}
	if m.State() != st {
		t.Fatalf("setup: state %s, want %s", m.State(), st)
	}
	return m
}

func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		name          string
		base, skew    uint8
		advert, mdown time.Duration
	}{
		{"ok, default 1/0", 1, 0, time.Second, 3 * time.Second},
		{"ok, 1/100", 1, 100, us(1_390_625), us(4_171_875)},
		{"ok, 0/0 is 1/256 s", 0, 0, us(3906), us(11_718)},
		{"ok, 0/26 sub-second", 0, 26, us(101_562), us(304_686)},
		{"ok, 5/254", 5, 254, us(5_992_187), us(17_976_561)},
		{"ok, bow-out 255/255", 255, 255, us(255_996_093), us(767_988_279)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AdvertInterval(tc.base, tc.skew); got != tc.advert {
				t.Errorf("AdvertInterval = %v, want %v", got, tc.advert)
			}
			if got := MasterDownInterval(tc.base, tc.skew); got != tc.mdown {
				t.Errorf("MasterDownInterval = %v, want %v", got, tc.mdown)
			}
		})
	}
}

// TestReceive is carp.md §3.4's table, one row per case.
func TestReceive(t *testing.T) {
	for _, tc := range []struct {
		name    string
		state   State
		us      Params
		demote  int
		ad      AdvertReceived
		want    State
		actions []Action // checked when not nil
	}{
		{"ok, INIT ignores everything", Init, fsmParams(1, 0), 0,
			AdvertReceived{Inet, 1, 100, 5}, Init, []Action{}},
		{"ok, MASTER yields to a faster peer", Master, fsmParams(1, 100), 0,
			AdvertReceived{Inet, 1, 0, 0}, Backup, nil},
		{"ok, MASTER yields on a tie", Master, fsmParams(1, 0), 0,
			AdvertReceived{Inet, 1, 0, 0}, Backup, nil},
		{"ok, MASTER yields to one skew step (1/256 s)", Master, fsmParams(1, 1), 0,
			AdvertReceived{Inet, 1, 0, 0}, Backup, nil},
		{"ok, MASTER stays against a slower peer", Master, fsmParams(1, 0), 0,
			AdvertReceived{Inet, 1, 100, 0}, Master, []Action{}},
		{"ok, advbase outweighs advskew", Master, fsmParams(1, 254), 0,
			AdvertReceived{Inet, 2, 0, 0}, Master, []Action{}},
		{"ok, MASTER yields to a less demoted slower peer", Master, fsmParams(1, 0), 1,
			AdvertReceived{Inet, 1, 100, 0}, Backup, nil},
		{"ok, MASTER stays against a more demoted faster peer", Master, fsmParams(1, 100), 0,
			AdvertReceived{Inet, 1, 0, 1}, Master, []Action{}},
		{"ok, our demotion is capped at 255", Master, fsmParams(1, 0), 300,
			AdvertReceived{Inet, 1, 100, 255}, Master, []Action{}},
		{"ok, MASTER stays when another master bows out", Master, fsmParams(1, 0), 0,
			AdvertReceived{Inet, BowOut, BowOut, 0}, Master, []Action{}},
		{"ok, BACKUP without preempt restarts the timer", Backup, fsmParams(1, 0), 0,
			AdvertReceived{Inet, 1, 100, 0}, Backup,
			[]Action{ArmMasterDown{Inet, 3 * time.Second}}},
		{"ok, BACKUP with preempt takes over a slower master", Backup, preempt(fsmParams(1, 0)), 0,
			AdvertReceived{Inet, 1, 100, 0}, Master, nil},
		{"ok, preempt needs strictly faster", Backup, preempt(fsmParams(1, 0)), 0,
			AdvertReceived{Inet, 1, 0, 0}, Backup,
			[]Action{ArmMasterDown{Inet, 3 * time.Second}}},
		{"ok, preempt does not take over a less demoted master", Backup, preempt(fsmParams(1, 0)), 1,
			AdvertReceived{Inet, 1, 100, 0}, Backup,
			[]Action{ArmMasterDown{Inet, 3 * time.Second}}},
		{"ok, a more demoted master is taken over without preempt", Backup, fsmParams(1, 100), 0,
			AdvertReceived{Inet, 1, 0, 1}, Master, nil},
		{"ok, a bow-out is taken over at once (3·advbase rule)", Backup, fsmParams(1, 100), 0,
			AdvertReceived{Inet, BowOut, BowOut, 0}, Master, nil},
		{"ok, 3·advbase rule adds our skew: 3.39 s < 3.5 s", Backup, fsmParams(1, 100), 0,
			AdvertReceived{Inet, 3, 128, 0}, Master, nil},
		{"ok, 3·advbase rule is strict: 3.39 s = 3.39 s", Backup, fsmParams(1, 100), 0,
			AdvertReceived{Inet, 3, 100, 0}, Backup,
			[]Action{ArmMasterDown{Inet, us(4_171_875)}}},
		{"ok, 3·advbase rule is off when our advbase is 0", Backup, fsmParams(0, 26), 0,
			AdvertReceived{Inet, BowOut, BowOut, 0}, Backup,
			[]Action{ArmMasterDown{Inet, us(304_686)}}},
		{"ok, an IPv6 ad restarts only the IPv6 timer", Backup, dual(fsmParams(1, 0)), 0,
			AdvertReceived{Inet6, 1, 100, 0}, Backup,
			[]Action{ArmMasterDown{Inet6, 3 * time.Second}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := machineIn(t, tc.us, tc.state, tc.demote)
			got := m.Step(tc.ad, at(time.Second))
			if m.State() != tc.want {
				t.Errorf("state %s, want %s; actions %v", m.State(), tc.want, got)
			}
			if tc.actions != nil {
				if diff := cmp.Diff(tc.actions, got, cmpEmpty); diff != "" {
					t.Errorf("actions (-want +got):\n%s", diff)
				}
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []Action) bool { return fmt.Sprint(a) == fmt.Sprint(b) })

func preempt(p Params) Params { p.Preempt = true; return p }
func dual(p Params) Params    { p.Inet6 = true; return p }
func v6only(p Params) Params  { p.Inet, p.Inet6 = false, true; return p }

func TestTransitionActions(t *testing.T) {
	p := dual(fsmParams(1, 0))
	crit := func(s string) Action { return Log{LogCrit, "carp0: state transition: " + s} }
	warn := func(s string) Action { return Log{LogWarning, "carp0: state transition: " + s} }
	for _, tc := range []struct {
		name  string
		from  State
		ev    Event
		want  []Action
		state State
	}{
		{"ok, INIT -> BACKUP arms both master-down timers", Init, AdminUp{}, []Action{
			warn("INIT -> BACKUP"), StateChanged{Init, Backup},
			ArmMasterDown{Inet, 3 * time.Second}, ArmMasterDown{Inet6, 3 * time.Second},
		}, Backup},
		{"ok, BACKUP -> MASTER on master-down", Backup, MasterDownExpired{Inet}, []Action{
			crit("BACKUP -> MASTER"), StateChanged{Backup, Master}, AddVIPs{},
			SendAdvert{1, 0, 0, true, true}, ArmAdvertTimer{time.Second},
			SendGratuitous{ARP: true, NA: true},
			StopTimers{MasterDown6: true},
		}, Master},
		{"ok, MASTER -> BACKUP on a better ad", Master, AdvertReceived{Inet, 0, 0, 0}, []Action{
			StopTimers{Advert: true},
			crit("MASTER -> BACKUP"), StateChanged{Master, Backup}, DelVIPs{},
			ArmMasterDown{Inet, 3 * time.Second}, ArmMasterDown{Inet6, 3 * time.Second},
		}, Backup},
		{"ok, MASTER bows out on admin down", Master, AdminDown{}, []Action{
			StopTimers{Advert: true},
			SendAdvert{255, 255, 0, true, true},
			warn("MASTER -> INIT"), StateChanged{Master, Init}, DelVIPs{},
		}, Init},
		{"ok, BACKUP goes down without an ad", Backup, AdminDown{}, []Action{
			StopTimers{MasterDown: true, MasterDown6: true},
			warn("BACKUP -> INIT"), StateChanged{Backup, Init},
		}, Init},
		{"ok, MASTER link down: INIT, VIPs off, demote", Master, LinkDown{}, []Action{
			StopTimers{Advert: true},
			warn("MASTER -> INIT"), StateChanged{Master, Init}, DelVIPs{},
			AdjustDemote{1, "carpdev"},
		}, Init},
		{"ok, address added on MASTER restarts from INIT", Master,
			ConfigChanged{Params: p, AddressAdded: true}, []Action{
				warn("MASTER -> INIT"), StateChanged{Master, Init}, DelVIPs{}, StopTimers{Advert: true},
				warn("INIT -> BACKUP"), StateChanged{Init, Backup},
				ArmMasterDown{Inet, 3 * time.Second}, ArmMasterDown{Inet6, 3 * time.Second},
			}, Backup},
		{"ok, last address removed leaves INIT and down", Backup,
			ConfigChanged{Params: Params{Name: "carp0", AdvBase: 1}}, []Action{
				warn("BACKUP -> INIT"), StateChanged{Backup, Init},
				StopTimers{MasterDown: true, MasterDown6: true},
			}, Init},
		{"ok, advskew change restarts the BACKUP timers", Backup,
			ConfigChanged{Params: dual(fsmParams(1, 100))}, []Action{
				ArmMasterDown{Inet, us(4_171_875)}, ArmMasterDown{Inet6, us(4_171_875)},
			}, Backup},
		{"ok, IPv6 removed stops its timer", Backup,
			ConfigChanged{Params: fsmParams(1, 0)}, []Action{
				StopTimers{MasterDown6: true}, ArmMasterDown{Inet, 3 * time.Second},
			}, Backup},
		{"ok, advbase change restarts the MASTER ad timer", Master,
			ConfigChanged{Params: dual(fsmParams(2, 0))}, []Action{ArmAdvertTimer{2 * time.Second}}, Master},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := machineIn(t, p, tc.from, 0)
			now := fsmT0
			if _, ok := tc.ev.(MasterDownExpired); ok {
				now = at(3 * time.Second)
			}
			got := m.Step(tc.ev, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if m.State() != tc.state {
				t.Errorf("state %s, want %s", m.State(), tc.state)
			}
		})
	}
}

func TestLinkUpWaitsFullMasterDown(t *testing.T) {
	m := machineIn(t, fsmParams(1, 0), Master, 0)
	m.Step(LinkDown{}, at(time.Second))
	if m.Running() {
		t.Error("running with the carpdev down")
	}
	if got := m.Step(LinkDown{}, at(2*time.Second)); len(got) != 0 {
		t.Errorf("second LinkDown: %v, want nothing (demote once)", got)
	}
	if got := m.Step(AdminUp{}, at(2*time.Second)); len(got) != 0 || m.State() != Init {
		t.Errorf("AdminUp while suppressed: %v, state %s", got, m.State())
	}
	got := m.Step(LinkUp{}, at(5*time.Second))
	want := []Action{
		Log{LogWarning, "carp0: state transition: INIT -> BACKUP"}, StateChanged{Init, Backup},
		ArmMasterDown{Inet, 3 * time.Second},
		AdjustDemote{-1, "carpdev"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LinkUp (-want +got):\n%s", diff)
	}
	if d := m.Deadlines().MasterDown; !d.Equal(at(8 * time.Second)) {
		t.Errorf("master-down at %v, want link-up + 3 s", d.Sub(fsmT0))
	}
	if got := m.Step(LinkUp{}, at(6*time.Second)); len(got) != 0 {
		t.Errorf("second LinkUp: %v", got)
	}
}

func TestForceState(t *testing.T) {
	m := machineIn(t, fsmParams(1, 0), Init, 0)
	if got := m.Step(ForceState{To: Master}, fsmT0); len(got) != 0 || m.State() != Init {
		t.Fatalf("bad, forced from INIT: %v, %s", got, m.State())
	}
	m.Step(AdminUp{}, fsmT0)
	for i, tc := range []struct {
		to, want State
		acts     int // number of actions, 0 for a no-op
	}{
		{Master, Master, 7},
		{Master, Master, 0},
		{Init, Master, 0},
		{"bogus", Master, 0},
		{Backup, Backup, 5}, // StopTimers, Log, StateChanged, DelVIPs, ArmMasterDown
		{Backup, Backup, 0},
		{Master, Master, 7},
	} {
		got := m.Step(ForceState{To: tc.to}, at(time.Duration(i)*time.Second))
		if m.State() != tc.want || len(got) != tc.acts {
			t.Errorf("step %d, state %s: %s, %d actions %v; want %s, %d", i, tc.to, m.State(), len(got), got, tc.want, tc.acts)
		}
	}
}

func TestAdvbaseZeroTimers(t *testing.T) {
	m := NewMachine(fsmParams(0, 26))
	got := m.Step(AdminUp{}, fsmT0)
	if a, ok := got[len(got)-1].(ArmMasterDown); !ok || a.D != us(304_686) {
		t.Errorf("AdminUp: %v, want ArmMasterDown 0.304686 s", got)
	}
	m.Step(MasterDownExpired{Inet}, at(us(304_686)))
	if m.State() != Master {
		t.Fatalf("state %s after master-down", m.State())
	}
	if d := m.Deadlines().Advert.Sub(at(us(304_686))); d != us(101_562) {
		t.Errorf("advertisement interval %v, want 0.101562 s", d)
	}
}

func TestGratuitousRounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Params
		want []SendGratuitous // per advertisement: becoming MASTER, then timers
	}{
		{"ok, dual stack: ARP+NA, second ARP after two more ads", dual(fsmParams(1, 0)),
			[]SendGratuitous{{ARP: true, NA: true}, {}, {ARP: true}, {}, {}}},
		{"ok, IPv6 only: NA once", v6only(fsmParams(1, 0)),
			[]SendGratuitous{{NA: true}, {}, {}, {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := machineIn(t, tc.p, Backup, 0)
			now := fsmT0
			for i, want := range tc.want {
				var ev Event = AdvertTimerExpired{}
				if i == 0 {
					ev = ForceState{To: Master}
				}
				var got SendGratuitous
				for _, a := range m.Step(ev, now) {
					if g, ok := a.(SendGratuitous); ok {
						got = g
					}
				}
				if got != want {
					t.Errorf("advertisement %d: %+v, want %+v", i, got, want)
				}
				now = m.Deadlines().Advert
			}
		})
	}
}

func TestStaleExpiryIgnored(t *testing.T) {
	m := machineIn(t, fsmParams(1, 0), Backup, 0)
	m.Step(AdvertReceived{Inet, 1, 100, 0}, at(2900*time.Millisecond))
	if got := m.Step(MasterDownExpired{Inet}, at(3*time.Second)); len(got) != 0 || m.State() != Backup {
		t.Errorf("stale expiry: %v, state %s", got, m.State())
	}
	if got := m.Step(MasterDownExpired{Inet6}, at(9*time.Second)); len(got) != 0 {
		t.Errorf("expiry of a timer never armed: %v", got)
	}
	if got := m.Step(AdvertTimerExpired{}, at(9*time.Second)); len(got) != 0 {
		t.Errorf("advert expiry in BACKUP: %v", got)
	}
	m.Step(MasterDownExpired{Inet}, at(5900*time.Millisecond))
	if m.State() != Master {
		t.Errorf("state %s at the re-armed deadline, want MASTER", m.State())
	}
}

func TestDualStackTimersAreSeparate(t *testing.T) {
	// carp.md §8.19: IPv4 ads keep only the IPv4 timer quiet.
	m := machineIn(t, dual(fsmParams(1, 0)), Backup, 0)
	for s := 1; s <= 2; s++ {
		m.Step(AdvertReceived{Inet, 1, 0, 0}, at(time.Duration(s)*time.Second))
	}
	d := m.Deadlines()
	if !d.MasterDown.Equal(at(5*time.Second)) || !d.MasterDown6.Equal(at(3*time.Second)) {
		t.Fatalf("deadlines %v / %v, want 5 s / 3 s", d.MasterDown.Sub(fsmT0), d.MasterDown6.Sub(fsmT0))
	}
	if at, ev, ok := d.Next(); !ok || ev != (MasterDownExpired{Inet6}) || !at.Equal(d.MasterDown6) {
		t.Errorf("Next = %v %v %v", at, ev, ok)
	}
	m.Step(MasterDownExpired{Inet6}, at(3*time.Second))
	if m.State() != Master {
		t.Errorf("state %s, want MASTER by the IPv6 timer", m.State())
	}
}

func TestSendErrorsDemote(t *testing.T) {
	m := machineIn(t, fsmParams(1, 0), Master, 0)
	var got []Action
	for _, ev := range []Event{
		SendFailed{Inet}, SendFailed{Inet}, SendOK{Inet}, // reset below the threshold
		SendFailed{Inet}, SendFailed{Inet}, SendFailed{Inet}, SendFailed{Inet},
		SendOK{Inet6}, SendOK{Inet6}, SendFailed{Inet6},
		SendOK{Inet6}, SendOK{Inet6}, SendOK{Inet6},
	} {
		got = append(got, m.Step(ev, fsmT0)...)
	}
	want := []Action{AdjustDemote{1, "> snderrors"}, AdjustDemote{-1, "< snd6errors"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDemoteIncreaseAdvertisesAtOnce(t *testing.T) {
	m := machineIn(t, fsmParams(1, 0), Master, 0)
	got := m.Step(DemoteChanged{Value: 1, Increased: true}, at(300*time.Millisecond))
	want := []Action{SendAdvert{1, 0, 1, true, false}, ArmAdvertTimer{time.Second}}
	if diff := cmp.Diff(want, got[:2]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := m.Step(DemoteChanged{Value: 0}, at(400*time.Millisecond)); len(got) != 0 {
		t.Errorf("decrease: %v, want nothing until the next ad", got)
	}
	b := machineIn(t, fsmParams(1, 0), Backup, 0)
	if got := b.Step(DemoteChanged{Value: 2, Increased: true}, fsmT0); len(got) != 0 {
		t.Errorf("BACKUP: %v, want nothing", got)
	}
}

// simNode is one host of simNet: a Machine, its VIPs and its demotion
// ledger, and what happened to it.
type simNode struct {
	name   string
	m      *Machine
	vips   bool
	demote int
	trans  []string // "4.000000s BACKUP -> MASTER"
	ads    []SendAdvert
}

// simNet wires machines back to back on a fake clock: each SendAdvert is
// delivered as AdvertReceived to every other node that has addresses of
// that family, after the link's latency; timers fire from the machines'
// Deadlines. Nothing sleeps.
type simNet struct {
	t       *testing.T
	now     time.Time
	nodes   []*simNode
	latency map[[2]int]time.Duration // from, to
	cut     bool                     // the wire is unplugged
	pending []simDelivery
}

type simDelivery struct {
	at time.Time
	to int
	ev Event
}

// simPair is genTestPair on a fake network: hosts "A" and "B".
func simPair(t *testing.T, a, b Params) *simNet {
	s := &simNet{t: t, now: fsmT0, latency: map[[2]int]time.Duration{}}
	for i, p := range []Params{a, b} {
		s.nodes = append(s.nodes, &simNode{name: string(rune('A' + i)), m: NewMachine(p)})
	}
	return s
}

func (s *simNet) A() *simNode { return s.nodes[0] }
func (s *simNet) B() *simNode { return s.nodes[1] }

// step delivers ev to node i now and performs the actions.
func (s *simNet) step(i int, ev Event) {
	n := s.nodes[i]
	for _, a := range n.m.Step(ev, s.now) {
		switch a := a.(type) {
		case SendAdvert:
			n.ads = append(n.ads, a)
			if s.cut {
				break
			}
			for j, peer := range s.nodes {
				p := peer.m.Params()
				for _, f := range []Family{Inet, Inet6} {
					if j == i || (f == Inet && !(a.Inet && p.Inet)) || (f == Inet6 && !(a.Inet6 && p.Inet6)) {
						continue
					}
					ev := AdvertReceived{Family: f, AdvBase: a.AdvBase, AdvSkew: a.AdvSkew, Demote: a.Demote}
					s.pending = append(s.pending, simDelivery{s.now.Add(s.latency[[2]int{i, j}]), j, ev})
				}
			}
		case AddVIPs:
			if n.vips {
				s.t.Errorf("%s: AddVIPs twice", n.name)
			}
			n.vips = true
		case DelVIPs:
			if !n.vips {
				s.t.Errorf("%s: DelVIPs without VIPs", n.name)
			}
			n.vips = false
		case StateChanged:
			n.trans = append(n.trans, fmt.Sprintf("%.6fs %s -> %s", s.now.Sub(fsmT0).Seconds(), a.From, a.To))
		case AdjustDemote:
			n.demote = max(n.demote+a.Delta, 0)
			s.pending = append(s.pending, simDelivery{s.now, i,
				DemoteChanged{Value: n.demote, Increased: a.Delta > 0 && n.demote == 1}})
		}
	}
}

// run processes deliveries and timers in time order up to and including
// until; deliveries go first at equal times, then nodes in order.
func (s *simNet) run(until time.Time) {
	for iter := 0; ; iter++ {
		if iter > 1_000_000 {
			s.t.Fatal("simulation does not settle")
		}
		next, who, ev, found := time.Time{}, -1, Event(nil), false
		for k, d := range s.pending {
			if !found || d.at.Before(next) {
				next, who, ev, found = d.at, -1-k, d.ev, true
			}
		}
		for i, n := range s.nodes {
			if t, e, ok := n.m.Deadlines().Next(); ok && (!found || t.Before(next)) {
				next, who, ev, found = t, i, e, true
			}
		}
		if !found || next.After(until) {
			s.now = until
			return
		}
		s.now = next
		if who < 0 {
			k := -1 - who
			d := s.pending[k]
			s.pending = append(s.pending[:k], s.pending[k+1:]...)
			s.step(d.to, d.ev)
		} else {
			s.step(who, ev)
		}
	}
}

// deliver sends ev to node i at time t (running the network up to t).
func (s *simNet) deliver(i int, ev Event, t time.Time) {
	s.run(t)
	s.step(i, ev)
}

// expect checks each node's state and VIPs: only a MASTER holds them.
func (s *simNet) expect(states ...State) {
	s.t.Helper()
	for i, want := range states {
		n := s.nodes[i]
		if n.m.State() != want || n.vips != (want == Master) {
			s.t.Errorf("%.3fs: %s is %s (VIPs %v), want %s; transitions %q",
				s.now.Sub(fsmT0).Seconds(), n.name, n.m.State(), n.vips, want, n.trans)
		}
	}
}

func TestPairElection(t *testing.T) {
	s := simPair(t, fsmParams(1, 0), fsmParams(1, 100))
	s.deliver(0, AdminUp{}, fsmT0)
	s.deliver(1, AdminUp{}, fsmT0)
	s.run(at(10 * time.Second))
	s.expect(Master, Backup)
	if want := []string{"0.000000s INIT -> BACKUP", "3.000000s BACKUP -> MASTER"}; !cmp.Equal(want, s.A().trans) {
		t.Errorf("A: %q, want %q", s.A().trans, want)
	}
	if want := []string{"0.000000s INIT -> BACKUP"}; !cmp.Equal(want, s.B().trans) {
		t.Errorf("B: %q, want %q", s.B().trans, want)
	}
	if len(s.A().ads) != 8 || len(s.B().ads) != 0 {
		t.Errorf("ads sent in 10 s: A %d (want 8, at 3..10 s), B %d", len(s.A().ads), len(s.B().ads))
	}
}

func TestPairPreempt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		preempt bool
		want    []State
		trans   []string // of A, the better node started late
	}{
		{"ok, preempt on: the better node takes over at the master's next ad", true,
			[]State{Master, Backup},
			[]string{"10.000000s INIT -> BACKUP", "11.125000s BACKUP -> MASTER"}},
		{"ok, preempt off: the better node stays BACKUP", false,
			[]State{Backup, Master},
			[]string{"10.000000s INIT -> BACKUP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fsmParams(1, 0), fsmParams(1, 100)
			a.Preempt, b.Preempt = tc.preempt, tc.preempt
			s := simPair(t, a, b)
			s.deliver(1, AdminUp{}, fsmT0) // B alone: MASTER at 4.171875 s, ads every 1.390625 s
			s.run(at(10 * time.Second))
			s.expect(Init, Master)
			s.deliver(0, AdminUp{}, at(10*time.Second))
			s.run(at(30 * time.Second))
			s.expect(tc.want...)
			if !cmp.Equal(tc.trans, s.A().trans) {
				t.Errorf("A: %q, want %q", s.A().trans, tc.trans)
			}
		})
	}
}

func TestPairTie(t *testing.T) {
	t.Run("ok, same start: the first timer wins, the other stays BACKUP", func(t *testing.T) {
		s := simPair(t, fsmParams(1, 0), fsmParams(1, 0))
		s.deliver(0, AdminUp{}, fsmT0)
		s.deliver(1, AdminUp{}, fsmT0)
		s.run(at(20 * time.Second))
		s.expect(Master, Backup)
		if len(s.B().trans) != 1 {
			t.Errorf("B flapped: %q", s.B().trans)
		}
	})
	t.Run("ok, two masters both yield, the first master-down wins", func(t *testing.T) {
		s := simPair(t, fsmParams(1, 0), fsmParams(1, 0))
		s.latency[[2]int{0, 1}] = time.Millisecond
		s.latency[[2]int{1, 0}] = 10 * time.Millisecond // once: jitter
		s.cut = true                                    // partitioned: both become MASTER at 3 s
		s.deliver(0, AdminUp{}, fsmT0)
		s.deliver(1, AdminUp{}, fsmT0)
		s.run(at(3500 * time.Millisecond))
		s.expect(Master, Master)
		s.cut = false // healed; the 4 s ads cross on the wire
		s.run(at(4500 * time.Millisecond))
		s.expect(Backup, Backup)
		s.latency[[2]int{1, 0}] = time.Millisecond
		s.run(at(20 * time.Second))
		s.expect(Backup, Master)
		wantA := []string{"0.000000s INIT -> BACKUP", "3.000000s BACKUP -> MASTER", "4.010000s MASTER -> BACKUP"}
		wantB := []string{"0.000000s INIT -> BACKUP", "3.000000s BACKUP -> MASTER", "4.001000s MASTER -> BACKUP",
			"7.001000s BACKUP -> MASTER"}
		if !cmp.Equal(wantA, s.A().trans) || !cmp.Equal(wantB, s.B().trans) {
			t.Errorf("A %q\nB %q\nwant\nA %q\nB %q", s.A().trans, s.B().trans, wantA, wantB)
		}
	})
	t.Run("ok, no tie-breaker: equal peers with a steady latency keep yielding", func(t *testing.T) {
		// Both master-down timers fire less than one latency apart, so
		// each new MASTER hears the other before its own ad arrives.
		// OpenBSD has no tie-breaker either (carp.md §3.4): use distinct
		// advskews.
		s := simPair(t, fsmParams(1, 0), fsmParams(1, 0))
		s.latency[[2]int{0, 1}] = time.Millisecond
		s.latency[[2]int{1, 0}] = 2 * time.Millisecond
		s.cut = true
		s.deliver(0, AdminUp{}, fsmT0)
		s.deliver(1, AdminUp{}, fsmT0)
		s.run(at(3500 * time.Millisecond))
		s.cut = false
		s.run(at(20 * time.Second))
		if len(s.A().trans) < 8 || len(s.B().trans) < 8 {
			t.Errorf("expected repeated yielding\nA %q\nB %q", s.A().trans, s.B().trans)
		}
	})
}

// TestPairDemotion is regress/sys/netinet/carp carp_1: demoting the
// master's group swaps the roles within 0.1 s, driven by the demote byte.
func TestPairDemotion(t *testing.T) {
	for _, preemptOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("ok, preempt %v", preemptOn), func(t *testing.T) {
			a, b := fsmParams(1, 0), fsmParams(1, 100)
			a.Preempt, b.Preempt = preemptOn, preemptOn
			s := simPair(t, a, b)
			s.latency[[2]int{0, 1}] = time.Millisecond
			s.latency[[2]int{1, 0}] = time.Millisecond
			s.deliver(0, AdminUp{}, fsmT0)
			s.deliver(1, AdminUp{}, fsmT0)
			s.run(at(10 * time.Second))
			s.expect(Master, Backup)

			s.A().demote++ // ifconfig -g grpA carpdemote
			s.deliver(0, DemoteChanged{Value: 1, Increased: true}, at(10200*time.Millisecond))
			s.run(at(10300 * time.Millisecond))
			s.expect(Backup, Master)
			if ad := s.A().ads[len(s.A().ads)-1]; ad.Demote != 1 {
				t.Errorf("A's last ad demote %d, want 1", ad.Demote)
			}

			s.A().demote-- // -carpdemote: only preempt brings A back
			s.deliver(0, DemoteChanged{Value: 0}, at(11*time.Second))
			s.run(at(20 * time.Second))
			if preemptOn {
				s.expect(Master, Backup)
			} else {
				s.expect(Backup, Master)
			}
		})
	}
}

func TestPairBowOut(t *testing.T) {
	s := simPair(t, fsmParams(1, 0), fsmParams(1, 100))
	s.deliver(0, AdminUp{}, fsmT0)
	s.deliver(1, AdminUp{}, fsmT0)
	s.run(at(10500 * time.Millisecond))
	s.expect(Master, Backup)
	s.deliver(0, AdminDown{}, at(10500*time.Millisecond))
	if last := s.A().ads[len(s.A().ads)-1]; last.AdvBase != BowOut || last.AdvSkew != BowOut {
		t.Errorf("last ad %+v, want advbase and advskew 255", last)
	}
	s.run(at(10500 * time.Millisecond)) // the bow-out is delivered, no time passes
	s.expect(Init, Master)
	n := len(s.A().ads)
	s.run(at(20 * time.Second))
	if len(s.A().ads) != n || !s.A().m.Deadlines().Advert.IsZero() {
		t.Errorf("A kept advertising after bowing out")
	}
	if want := "10.500000s BACKUP -> MASTER"; s.B().trans[len(s.B().trans)-1] != want {
		t.Errorf("B: %q, want last %q", s.B().trans, want)
	}
}

func TestPairLinkDown(t *testing.T) {
	s := simPair(t, fsmParams(1, 0), fsmParams(1, 100))
	s.deliver(0, AdminUp{}, fsmT0)
	s.deliver(1, AdminUp{}, fsmT0)
	s.run(at(10500 * time.Millisecond))
	s.cut = true // A's cable: nothing in or out
	s.deliver(0, LinkDown{}, at(10500*time.Millisecond))
	s.run(at(10500 * time.Millisecond)) // the ledger's DemoteChanged
	s.expect(Init, Backup)
	if s.A().demote != 1 || s.A().m.Demote() != 1 {
		t.Errorf("A demote ledger %d, machine %d; want 1", s.A().demote, s.A().m.Demote())
	}
	s.run(at(14 * time.Second)) // B heard A last at 10 s: master-down at 14.171875 s
	s.expect(Init, Backup)
	s.run(at(14171875 * time.Microsecond))
	s.expect(Init, Master)
	s.cut = false
	s.deliver(0, LinkUp{}, at(20*time.Second))
	s.run(at(40 * time.Second))
	s.expect(Backup, Master) // back as BACKUP, no preempt
	if s.A().demote != 0 || s.A().m.Demote() != 0 {
		t.Errorf("A demote %d/%d after link up, want 0", s.A().demote, s.A().m.Demote())
	}
	if want := []string{"0.000000s INIT -> BACKUP", "3.000000s BACKUP -> MASTER", "10.500000s MASTER -> INIT",
		"20.000000s INIT -> BACKUP"}; !cmp.Equal(want, s.A().trans) {
		t.Errorf("A: %q, want %q", s.A().trans, want)
	}
}

func TestPairForcedMasterYields(t *testing.T) {
	s := simPair(t, fsmParams(1, 0), fsmParams(1, 100))
	s.deliver(0, AdminUp{}, fsmT0)
	s.deliver(1, AdminUp{}, fsmT0)
	s.run(at(10500 * time.Millisecond))
	s.deliver(1, ForceState{To: Master}, at(10500*time.Millisecond))
	s.run(at(10500 * time.Millisecond))
	s.expect(Master, Master) // A is faster: it ignores B's ad
	s.run(at(11 * time.Second))
	s.expect(Master, Backup) // A's next ad makes B yield
}

func TestPairIPv6Only(t *testing.T) {
	s := simPair(t, v6only(fsmParams(1, 0)), v6only(fsmParams(1, 100)))
	s.deliver(0, AdminUp{}, fsmT0)
	s.deliver(1, AdminUp{}, fsmT0)
	s.run(at(30 * time.Second))
	s.expect(Master, Backup)
	if d := s.B().m.Deadlines(); !d.MasterDown.IsZero() || d.MasterDown6.IsZero() {
		t.Errorf("B deadlines %+v, want only the IPv6 timer", d)
	}
	for _, ad := range s.A().ads {
		if ad.Inet || !ad.Inet6 {
			t.Fatalf("A sent %+v, want IPv6 only", ad)
		}
	}
}

// TestPairFamilyMismatch is carp.md §8.19: a MASTER with IPv4 only cannot
// keep a dual-stack BACKUP quiet; the BACKUP's IPv6 timer fires.
func TestPairFamilyMismatch(t *testing.T) {
	s := simPair(t, fsmParams(1, 0), dual(fsmParams(1, 100)))
	s.deliver(0, AdminUp{}, fsmT0)
	s.run(at(5 * time.Second))
	s.deliver(1, AdminUp{}, at(5*time.Second))
	s.run(at(9 * time.Second))
	s.expect(Master, Backup)
	s.run(at(9171875 * time.Microsecond)) // 5 s + 3 × 1.390625 s
	s.expect(Master, Master)
}

func TestPairAdvbaseZero(t *testing.T) {
	s := simPair(t, fsmParams(0, 26), fsmParams(0, 100))
	s.deliver(0, AdminUp{}, fsmT0)
	s.deliver(1, AdminUp{}, fsmT0)
	s.run(at(time.Second))
	s.expect(Master, Backup)
	if want := "0.304686s BACKUP -> MASTER"; s.A().trans[1] != want {
		t.Errorf("A: %q, want %q", s.A().trans, want)
	}
	// (1 s - 0.304686 s) / 0.101562 s: the first ad and 6 more
	if n := len(s.A().ads); n != 7 {
		t.Errorf("A sent %d ads in 1 s, want 7", n)
	}
}

func TestNewParams(t *testing.T) {
	c := NewConfig("carp3")
	c.AdvBase, c.AdvSkew = 2, 100
	for _, tc := range []struct {
		name  string
		addrs []string
		want  Params
	}{
		{"ok, no address", nil, Params{Name: "carp3", AdvBase: 2, AdvSkew: 100, Preempt: true}},
		{"ok, IPv4", []string{"10.0.0.1/24"}, Params{Name: "carp3", AdvBase: 2, AdvSkew: 100, Preempt: true, Inet: true}},
		{"ok, dual stack", []string{"2001:db8::1/64", "10.0.0.1/24"},
			Params{Name: "carp3", AdvBase: 2, AdvSkew: 100, Preempt: true, Inet: true, Inet6: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.Clone()
			for _, a := range tc.addrs {
				c.Addrs = append(c.Addrs, Address{Prefix: netip.MustParsePrefix(a)})
			}
			if diff := cmp.Diff(tc.want, NewParams(c, true)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddressAddedSetsUp(t *testing.T) {
	m := NewMachine(Params{Name: "carp0", AdvBase: 1})
	if got := m.Step(AdminUp{}, fsmT0); len(got) != 0 || m.Running() {
		t.Fatalf("bad, up without addresses: %v, running %v", got, m.Running())
	}
	m.Step(AdminDown{}, fsmT0)
	m.Step(ConfigChanged{Params: fsmParams(1, 0), AddressAdded: true}, fsmT0)
	if m.State() != Backup || !m.Running() {
		t.Errorf("ok, first address: %s, running %v; want BACKUP", m.State(), m.Running())
	}
}

// ExampleMachine shows the worker's loop: deliver an event with the
// clock's time, perform the actions, and run one timer to the earliest
// deadline.
func ExampleMachine() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMachine(Params{Name: "carp0", AdvBase: 1, AdvSkew: 0, Inet: true})
	show := func(acts []Action) {
		for _, a := range acts {
			fmt.Printf("%T %+v\n", a, a)
		}
	}
	show(m.Step(AdminUp{}, now))
	at, ev, _ := m.Deadlines().Next() // nothing heard for 3 s
	show(m.Step(ev, at))
	// Output:
	// carp.Log {Level:warning Text:carp0: state transition: INIT -> BACKUP}
	// carp.StateChanged {From:INIT To:BACKUP}
	// carp.ArmMasterDown {Family:inet D:3s}
	// carp.Log {Level:crit Text:carp0: state transition: BACKUP -> MASTER}
	// carp.StateChanged {From:BACKUP To:MASTER}
	// carp.AddVIPs {}
	// carp.SendAdvert {AdvBase:1 AdvSkew:0 Demote:0 Inet:true Inet6:false}
	// carp.ArmAdvertTimer {D:1s}
	// carp.SendGratuitous {ARP:true NA:false}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{LogCrit.String(), "crit"}, {LogWarning.String(), "warning"}, {LogLevel(9).String(), "level(9)"},
		{Inet.String(), "inet"}, {Inet6.String(), "inet6"}, {Family(0).String(), "any"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}
