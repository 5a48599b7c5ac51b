package demote

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestLedgerSumsContributions(t *testing.T) {
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Group("carp"); n != 0 {
		t.Fatalf("new group: got %d, want 0", n)
	}
	if err := l.Set("carp", "pfsync0", 32); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Add("carp", "admin", 50); err != nil || n != 82 {
		t.Fatalf("admin +50: got %d, %v; want 82", n, err)
	}
	// A restarted worker replaces its contribution instead of adding to it.
	if err := l.Set("carp", "pfsync0", 32); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Group("carp"); n != 82 {
		t.Fatalf("after re-set: got %d, want 82", n)
	}
	if err := l.Set("carp", "pfsync0", 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Group("carp"); n != 50 {
		t.Fatalf("after pfsync done: got %d, want 50", n)
	}
	if n, err := l.Effective([]string{"carp", "lan"}); err != nil || n != 50 {
		t.Fatalf("effective: got %d, %v; want 50", n, err)
	}
}

func TestLedgerRefusesOutOfRange(t *testing.T) {
	l, _ := Open(t.TempDir())
	if _, err := l.Add("carp", "admin", -1); err == nil {
		t.Error("bad, -carpdemote below 0 was accepted")
	}
	if _, err := l.Add("carp", "admin", 200); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Add("carp", "admin", 100); err == nil {
		t.Error("bad, counter above 255 was accepted")
	}
	if n, _ := l.Group("carp"); n != 200 {
		t.Errorf("a refused change changed the counter: got %d, want 200", n)
	}
	if err := l.Set("../etc", "admin", 1); err == nil {
		t.Error("bad, group name with a slash was accepted")
	}
}

func TestLedgerConcurrentAdds(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, _ := Open(dir)
			if _, err := l.Add("carp", "admin", 1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l, _ := Open(dir)
	if n, _ := l.Group("carp"); n != 20 {
		t.Errorf("20 concurrent +1: got %d, want 20 (a lost update)", n)
	}
}

func TestWatchSeesOtherWriters(t *testing.T) {
	dir := t.TempDir()
	reader, _ := Open(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := reader.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writer, _ := Open(dir)
	if _, err := writer.Add("carp", "admin", 5); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatal("no change reported within 2 s")
	}
	if n, _ := reader.Group("carp"); n != 5 {
		t.Errorf("reader sees %d, want 5", n)
	}
	cancel()
	for range ch { // the channel closes when ctx ends
	}
}
