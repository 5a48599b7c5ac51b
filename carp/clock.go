package carp

import "time"

// Clock is the time source a worker runs a Machine's timers on, after
// tailscale's tstime.Clock (STYLE.md §5): tests inject carptest.Clock and
// control time exactly instead of sleeping. Pass the same clock's Now to
// Machine.Step that runs its timers, or the machine takes expiries for
// stale ones.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once,
	// after d, like time.NewTimer.
	NewTimer(d time.Duration) ClockTimer
}

// ClockTimer is a timer made by a Clock; its methods behave as
// time.Timer's do since Go 1.23 (Stop and Reset leave no stale value in
// the channel).
type ClockTimer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// SystemClock is the real clock: time.Now and time.NewTimer, monotonic.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) ClockTimer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// DefaultClock returns c, or SystemClock if c is nil, so that a zero
// configuration needs no wiring.
func DefaultClock(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
