package carp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"

	"carpfw/internal/ctl"
	"carpfw/internal/demote"
	"carpfw/internal/link"
)

// Worker runs one carp interface: it owns the control socket and (with
// the protocol engine) the raw sockets, netlink and timers. Requests are
// served one at a time, so the configuration needs no lock.
type Worker struct {
	Dir  string // run directory (rundir.Resolve)
	Name string // carpN
	Log  *log.Logger

	cfg    Config
	ledger *demote.Ledger
	stop   context.CancelFunc
}

// Control operations a Worker answers.
const (
	OpStatus    = "status"    // body: none; answer: Status
	OpConfigure = "configure" // body: Request; answer: Status
)

// NewWorker prepares the worker of name under dir; Run starts it.
func NewWorker(dir, name string, logw io.Writer) *Worker {
	return &Worker{Dir: dir, Name: name, Log: log.New(logw, "", log.LstdFlags)}
}

// Run serves until ctx ends or the interface is destroyed. A worker that
// starts after a crash first withdraws whatever the dead one left active
// (RemoveVirtualAddrs) and resumes the saved configuration in INIT state,
// so it becomes MASTER only through the protocol.
func (w *Worker) Run(ctx context.Context) error {
	ctx, w.stop = context.WithCancel(ctx)
	defer w.stop()
	var err error
	if w.ledger, err = demote.Open(w.Dir); err != nil {
		return err
	}
	w.cfg = NewConfig(w.Name)
	if ok, err := ctl.LoadState(w.Dir, w.Name, &w.cfg); err != nil {
		return err
	} else if ok {
		w.Log.Printf("%s: resuming saved configuration", w.Name)
	}
	if err := RemoveVirtualAddrs(w.Name); err != nil {
		return err
	}
	ln, err := ctl.Listen(w.Dir, w.Name)
	if err != nil {
		return err
	}
	return ctl.Serve(ctx, ln, w.handle)
}

func (w *Worker) handle(ctx context.Context, op string, body json.RawMessage) (any, error) {
	switch op {
	case OpStatus:
		return w.status(), nil
	case OpConfigure:
		var r Request
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("bad request: %w", err)
		}
		return w.configure(r)
	}
	return nil, fmt.Errorf("%s: unknown operation %q", w.Name, op)
}

func (w *Worker) configure(r Request) (any, error) {
	out, err := Apply(w.cfg, r, link.Exists)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.Name, err)
	}
	if out.Destroy {
		if err := ctl.RemoveState(w.Dir, w.Name); err != nil {
			return nil, err
		}
		w.Log.Printf("%s: destroyed", w.Name)
		w.stop()
		return nil, nil
	}
	if err := ctl.SaveState(w.Dir, w.Name, out.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", w.Name, err)
	}
	w.cfg = out.Config
	return w.status(), nil
}

func (w *Worker) status() Status {
	d, err := w.ledger.Effective(w.cfg.Groups)
	if err != nil {
		w.Log.Printf("%s: %v", w.Name, err)
	}
	c := w.cfg.Clone()
	c.Pass = "" // ifconfig(8) never shows the key
	return Status{Config: c, State: Init, Demote: d}
}
