package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
)

func TestCallServe(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if err := Call(ctx, dir, "carp0", "status", nil, nil); !errors.Is(err, ErrNoWorker) {
		t.Fatalf("no socket: got %v, want ErrNoWorker", err)
	}
	// A socket file left by a dead worker: still ErrNoWorker, and Listen
	// replaces it.
	stale, err := net.Listen("unix", SocketPath(dir, "carp0"))
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if err := Call(ctx, dir, "carp0", "status", nil, nil); !errors.Is(err, ErrNoWorker) {
		t.Fatalf("stale socket: got %v, want ErrNoWorker", err)
	}
	ln, err := Listen(dir, "carp0")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(SocketPath(dir, "carp0")); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("socket mode: %v %v, want no access for group and others", fi.Mode(), err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Serve(sctx, ln, func(_ context.Context, op string, body json.RawMessage) (any, error) {
			if op == "echo" {
				var s string
				json.Unmarshal(body, &s)
				return strings.ToUpper(s), nil
			}
			return nil, errors.New("carp0: carpdev em9: no such interface")
		})
	}()
	if _, err := Listen(dir, "carp0"); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second worker: got %v, want already running", err)
	}
	var got string
	if err := Call(ctx, dir, "carp0", "echo", "hello", &got); err != nil || got != "HELLO" {
		t.Errorf("echo: got %q, %v", got, err)
	}
	if err := Call(ctx, dir, "carp0", "configure", nil, nil); err == nil || err.Error() != "carp0: carpdev em9: no such interface" {
		t.Errorf("worker error: got %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(SocketPath(dir, "carp0")); !os.IsNotExist(err) {
		t.Errorf("socket left after the worker stopped: %v", err)
	}
}

func TestState(t *testing.T) {
	dir := t.TempDir()
	var v map[string]int
	if ok, err := LoadState(dir, "carp0", &v); ok || err != nil {
		t.Fatalf("no state: got %v, %v", ok, err)
	}
	if err := SaveState(dir, "carp0", map[string]int{"vhid": 1}); err != nil {
		t.Fatal(err)
	}
	if ok, err := LoadState(dir, "carp0", &v); !ok || err != nil || v["vhid"] != 1 {
		t.Fatalf("got %v %v %v", v, ok, err)
	}
	if fi, _ := os.Stat(StatePath(dir, "carp0")); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600 (it holds the pass)", fi.Mode())
	}
	names, _ := Workers(dir, "carp")
	if len(names) != 0 {
		t.Errorf("Workers: %v", names)
	}
	if err := RemoveState(dir, "carp0"); err != nil {
		t.Fatal(err)
	}
}
