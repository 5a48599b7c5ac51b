package carptest_test

import (
	"testing"
	"time"

	"carpfw/carp"
	"carpfw/carp/carptest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fired(tm carp.ClockTimer) (time.Time, bool) {
	select {
	case v := <-tm.C():
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestClockTimer(t *testing.T) {
	c := carptest.NewClock(t0)
	tm := c.NewTimer(time.Second)
	c.Advance(500 * time.Millisecond)
	if _, ok := fired(tm); ok {
		t.Fatal("bad, fired early")
	}
	if at, ok := c.Next(); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("Next = %v %v", at, ok)
	}
	c.Advance(time.Second)
	if v, ok := fired(tm); !ok || !v.Equal(t0.Add(time.Second)) {
		t.Errorf("ok, fired at %v (%v), want t0+1s", v, ok)
	}
	if !c.Now().Equal(t0.Add(1500 * time.Millisecond)) {
		t.Errorf("Now = %v", c.Now())
	}
	if tm.Stop() {
		t.Error("Stop after firing reported an armed timer")
	}
	if tm.Reset(2 * time.Second) {
		t.Error("Reset of a fired timer reported an armed timer")
	}
	if !tm.Stop() {
		t.Error("Stop of an armed timer reported false")
	}
	c.Advance(time.Hour)
	if _, ok := fired(tm); ok {
		t.Error("bad, a stopped timer fired")
	}
	tm.Reset(0)
	if _, ok := fired(tm); !ok {
		t.Error("Reset(0) did not fire at once")
	}
	if _, ok := c.Next(); ok {
		t.Error("timers left armed")
	}
}

// TestClockDrivesMachine runs a Machine the way a worker does: one timer
// set to the next deadline, Step with the clock's time.
func TestClockDrivesMachine(t *testing.T) {
	c := carptest.NewClock(t0)
	m := carp.NewMachine(carp.Params{Name: "carp0", AdvBase: 1, Inet: true})
	tm := c.NewTimer(time.Hour)
	tm.Stop()
	states := make(chan carp.State)
	ask := make(chan struct{})
	done := make(chan struct{})
	rearm := func() {
		if at, _, ok := m.Deadlines().Next(); ok {
			tm.Reset(at.Sub(c.Now()))
		}
	}
	m.Step(carp.AdminUp{}, c.Now())
	rearm()
	go func() {
		defer close(done)
		for {
			select {
			case <-tm.C():
				if _, ev, ok := m.Deadlines().Next(); ok {
					m.Step(ev, c.Now())
				}
				rearm()
				continue
			default:
			}
			select {
			case <-tm.C():
				if _, ev, ok := m.Deadlines().Next(); ok {
					m.Step(ev, c.Now())
				}
				rearm()
			case _, ok := <-ask:
				if !ok {
					return
				}
				states <- m.State()
			}
		}
	}()
	state := func() carp.State { ask <- struct{}{}; return <-states }
	c.Advance(2999 * time.Millisecond)
	if s := state(); s != carp.Backup {
		t.Errorf("at 2.999 s: %s, want BACKUP", s)
	}
	c.Advance(time.Millisecond)
	if s := state(); s != carp.Master {
		t.Errorf("at 3 s: %s, want MASTER", s)
	}
	close(ask)
	<-done
}
