// Package carptest holds fakes for testing code built on package carp,
// like wireguard-go's bindtest and tuntest: a virtual clock today.
package carptest

import (
	"slices"
	"sync"
	"time"

	"carpfw/carp"
)

var _ carp.Clock = (*Clock)(nil)

// Clock is a virtual carp.Clock: time moves only when Advance or Set says
// so, and timers whose deadline has come fire then, in deadline order.
// It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

// NewClock returns a clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d.
func (c *Clock) NewTimer(d time.Duration) carp.ClockTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.arm(d)
	c.fire(c.now) // d <= 0 fires at once
	return t
}

// Advance moves the clock forward by d, firing due timers.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing every timer whose
// deadline is at or before t, earliest first; each sees Now() equal to
// its deadline while it fires.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fire(t)
	if t.After(c.now) {
		c.now = t
	}
}

// fire fires the timers due by t; it needs c.mu held.
func (c *Clock) fire(t time.Time) {
	for {
		var next *timer
		for _, tm := range c.timers {
			if tm.armed && !tm.when.After(t) && (next == nil || tm.when.Before(next.when)) {
				next = tm
			}
		}
		if next == nil {
			break
		}
		if next.when.After(c.now) {
			c.now = next.when
		}
		next.armed = false
		select {
		case next.ch <- c.now:
		default: // an unread value is still there, as with time.Timer
		}
	}
	c.timers = slices.DeleteFunc(c.timers, func(tm *timer) bool { return !tm.armed })
}

// Next returns the earliest armed deadline, if any: how far a test must
// Advance for something to happen.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at time.Time
	ok := false
	for _, tm := range c.timers {
		if tm.armed && (!ok || tm.when.Before(at)) {
			at, ok = tm.when, true
		}
	}
	return at, ok
}

type timer struct {
	c     *Clock
	ch    chan time.Time
	when  time.Time
	armed bool
}

// arm needs c.mu held.
func (t *timer) arm(d time.Duration) {
	t.when, t.armed = t.c.now.Add(d), true
	for _, tm := range t.c.timers {
		if tm == t {
			return
		}
	}
	t.c.timers = append(t.c.timers, t)
}

func (t *timer) C() <-chan time.Time { return t.ch }

// Stop disarms the timer and drains an unread value, as time.Timer does
// since Go 1.23; it reports whether the timer was armed.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.armed = false
	t.drain()
	return was
}

// Reset re-arms the timer for Now()+d; it reports whether it was armed.
func (t *timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.drain()
	t.arm(d)
	t.c.fire(t.c.now)
	return was
}

func (t *timer) drain() {
	select {
	case <-t.ch:
	default:
	}
}
