package pfsync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"

	"carpfw/internal/ctl"
	"carpfw/internal/link"
)

// Worker runs pfsync0: it owns the control socket and (with the sync
// engine) the sync socket, the conntrack netlink socket and timers.
type Worker struct {
	Dir  string
	Name string
	Log  *log.Logger

	cfg  Config
	stop context.CancelFunc
}

// Control operations a Worker answers.
const (
	OpStatus    = "status"    // answer: Status
	OpConfigure = "configure" // body: Request; answer: Status
)

// NewWorker prepares the worker of name under dir; Run starts it.
func NewWorker(dir, name string, logw io.Writer) *Worker {
	return &Worker{Dir: dir, Name: name, Log: log.New(logw, "", log.LstdFlags)}
}

// Run serves until ctx ends or the interface is destroyed, resuming a
// saved configuration if there is one.
func (w *Worker) Run(ctx context.Context) error {
	ctx, w.stop = context.WithCancel(ctx)
	defer w.stop()
	w.cfg = NewConfig(w.Name)
	if ok, err := ctl.LoadState(w.Dir, w.Name, &w.cfg); err != nil {
		return err
	} else if ok {
		w.Log.Printf("%s: resuming saved configuration", w.Name)
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
		out, err := Apply(w.cfg, r, link.Exists)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
		if out.Destroy {
			w.stop()
			return nil, ctl.RemoveState(w.Dir, w.Name)
		}
		if err := ctl.SaveState(w.Dir, w.Name, out.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
		w.cfg = out.Config
		return w.status(), nil
	}
	return nil, fmt.Errorf("%s: unknown operation %q", w.Name, op)
}

func (w *Worker) status() Status { return Status{Config: w.cfg} }
