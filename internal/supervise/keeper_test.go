package supervise

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The worker stand-in: a shell that counts its starts in a file, then
// either dies of SIGKILL (the first two times) or exits 0.
func TestKeeperRestartsUntilCleanExit(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "starts")
	script := `echo x >> ` + count + `; n=$(wc -l < ` + count + `); if [ $n -lt 3 ]; then kill -9 $$; fi; exit 0`
	var cleanups atomic.Int32
	var log bytes.Buffer
	k := &Keeper{
		Argv:    []string{"sh", "-c", script, "carp0"},
		Log:     &log,
		Cleanup: func() { cleanups.Add(1) },
		Backoff: 10 * time.Millisecond,
	}
	if err := k.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(count)
	if n := strings.Count(string(b), "x"); n != 3 {
		t.Errorf("worker started %d times, want 3", n)
	}
	if n := cleanups.Load(); n != 2 {
		t.Errorf("cleanup ran %d times, want 2 (once per crash)", n)
	}
	if !strings.Contains(log.String(), "carp0: worker died: signal: killed") {
		t.Errorf("keeper log lacks the crash: %q", log.String())
	}
}

func TestKeeperGivesUp(t *testing.T) {
	var log bytes.Buffer
	k := &Keeper{Argv: []string{"sh", "-c", "exit 3", "carp0"}, Log: &log, Backoff: time.Millisecond, Burst: 3}
	err := k.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("got %v, want giving up", err)
	}
}

func TestKeeperStopsWorkerOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	k := &Keeper{Argv: []string{"sleep", "30"}, Log: &bytes.Buffer{}}
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("keeper did not stop its worker")
	}
}

func TestDetachReportsEarlyExit(t *testing.T) {
	log := filepath.Join(t.TempDir(), "w.log")
	err := Detach([]string{"sh", "-c", "echo carpdev em9: no such interface; exit 1"}, log, func() bool { return false }, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "carpdev em9: no such interface") {
		t.Fatalf("got %v, want the worker's last log line", err)
	}
}
