package pfsync

import (
	"testing"
	"time"
)

// bulkClock drives a Bulk on virtual time: one timer, as the worker has.
type bulkClock struct {
	b        Bulk
	now      time.Duration
	deadline time.Duration // 0: no timer
	reqs     []time.Duration
	logs     []string
}

func (c *bulkClock) feed(ev BulkEvent) {
	for _, a := range c.b.Step(ev) {
		switch a.Kind {
		case ActSendBulkReq:
			c.reqs = append(c.reqs, c.now)
		case ActArmTimer:
			c.deadline = c.now + a.D
		case ActStopTimer:
			c.deadline = 0
		case ActLog:
			c.logs = append(c.logs, a.Reason)
		}
	}
}

// advance moves time by d, firing the timer whenever it is due.
func (c *bulkClock) advance(d time.Duration) {
	end := c.now + d
	for i := 0; i < 1000 && c.deadline != 0 && c.deadline <= end; i++ {
		c.now = c.deadline
		c.deadline = 0
		c.feed(BulkTimeout)
	}
	c.now = end
}

func TestBulkHappyPath(t *testing.T) {
	c := &bulkClock{b: Bulk{Link: true, BulkWait: 40 * time.Second}}
	if c.b.Demotion() != 0 {
		t.Fatal("demoted while down")
	}
	c.feed(BulkUp)
	if c.b.State != BulkSent || len(c.reqs) != 1 || c.b.Demotion() != 32 {
		t.Fatalf("after up: %v reqs %v demote %d", c.b.State, c.reqs, c.b.Demotion())
	}
	c.advance(3 * time.Second) // one retry at 2 s
	if len(c.reqs) != 2 || c.reqs[1] != 2*time.Second {
		t.Fatalf("retries at %v", c.reqs)
	}
	c.feed(BulkBusStart)
	c.advance(39 * time.Second)
	if c.b.State != BulkBulk || c.b.Demotion() != 32 {
		t.Fatalf("during the transfer: %v demote %d", c.b.State, c.b.Demotion())
	}
	c.feed(BulkBusEnd)
	if c.b.State != BulkDone || c.b.Demotion() != 0 || c.deadline != 0 {
		t.Fatalf("after BUS END: %v demote %d timer %v", c.b.State, c.b.Demotion(), c.deadline)
	}
	c.feed(BulkBusStart) // a late or foreign bulk changes nothing
	if c.b.State != BulkDone {
		t.Fatal("DONE left")
	}
}

func TestBulkGivesUpAfterTwelveTries(t *testing.T) {
	c := &bulkClock{b: Bulk{Link: true}}
	c.feed(BulkUp)
	c.advance(23 * time.Second)
	if c.b.State != BulkSent || c.b.Demotion() != 32 {
		t.Fatalf("at 23 s: %v demote %d", c.b.State, c.b.Demotion())
	}
	c.advance(2 * time.Second)
	if c.b.State != BulkDone || len(c.reqs) != BulkMaxTries || c.b.Demotion() != 0 {
		t.Fatalf("at 25 s: %v, %d requests, demote %d, logs %q", c.b.State, len(c.reqs), c.b.Demotion(), c.logs)
	}
	if got := c.logs[len(c.logs)-1]; got != "timeout waiting for bulk transfer start" {
		t.Errorf("log %q", got)
	}
}

func TestBulkWaitsForTheLink(t *testing.T) {
	c := &bulkClock{}
	c.feed(BulkUp)
	if c.b.State != BulkStart || c.b.Demotion() != 33 || len(c.reqs) != 0 {
		t.Fatalf("up without link: %v demote %d reqs %v", c.b.State, c.b.Demotion(), c.reqs)
	}
	c.advance(10 * time.Second)
	c.feed(BulkLinkUp)
	if c.b.State != BulkSent || len(c.reqs) != 1 || c.reqs[0] != 10*time.Second || c.b.Demotion() != 32 {
		t.Fatalf("link up: %v reqs %v demote %d", c.b.State, c.reqs, c.b.Demotion())
	}
	c.feed(BulkBusEnd) // an empty peer answers only BUS END
	if c.b.State != BulkDone || c.b.Demotion() != 0 {
		t.Fatalf("BUS END while SENT: %v", c.b.State)
	}
	c.feed(BulkLinkDown)
	if c.b.Demotion() != 1 {
		t.Errorf("link down after done: demote %d, want 1", c.b.Demotion())
	}
	c.feed(BulkDown)
	if c.b.Demotion() != 0 {
		t.Errorf("down: demote %d, want 0", c.b.Demotion())
	}
}

func TestBulkLinkNeverUp(t *testing.T) {
	c := &bulkClock{}
	c.feed(BulkUp)
	c.advance(BulkLinkWait)
	if c.b.State != BulkDone || c.b.Demotion() != 1 {
		t.Fatalf("after %v without link: %v demote %d", BulkLinkWait, c.b.State, c.b.Demotion())
	}
}

func TestBulkTransferTimeout(t *testing.T) {
	c := &bulkClock{b: Bulk{Link: true, BulkWait: BulkWaitFor(100000, 1500)}}
	if c.b.BulkWait != 1600*time.Second {
		t.Fatalf("BulkWaitFor(100000, 1500) = %v, want 1600s", c.b.BulkWait)
	}
	c.feed(BulkUp)
	c.feed(BulkBusStart)
	c.advance(1599 * time.Second)
	if c.b.State != BulkBulk {
		t.Fatal("gave up early")
	}
	c.advance(time.Second)
	if c.b.State != BulkDone || len(c.reqs) != 2 || c.b.Demotion() != 0 {
		t.Fatalf("%v reqs %d demote %d", c.b.State, len(c.reqs), c.b.Demotion())
	}
}
