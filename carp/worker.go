package carp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"path/filepath"

	"carpfw/internal/ctl"
	"carpfw/internal/demote"
	"carpfw/internal/link"
)

// Worker runs one carp interface: it owns the control socket, the
// protocol engine (state machine, macvlan, sockets, timer) and the
// goroutines around them. Everything the engine does happens on Run's
// goroutine, one event at a time.
type Worker struct {
	Dir  string // run directory (rundir.Resolve)
	Name string // carpN
	Log  *log.Logger

	// SysctlFiles are read, in order, for net.inet.carp.*; the run
	// directory's carp.sysctl (what carpctl sysctl sets) comes last.
	SysctlFiles []string
	// Clock drives the timers; nil is the system clock.
	Clock Clock
}

// Control operations a Worker answers.
const (
	OpStatus    = "status"    // body: none; answer: Status
	OpConfigure = "configure" // body: Request; answer: Status
	OpStats     = "stats"     // answer: Stats
	OpSysctl    = "sysctl"    // reread the sysctl files; answer: Sysctl
)

// SysctlPath is the run directory's file of net.inet.carp settings.
func SysctlPath(dir string) string { return filepath.Join(dir, "carp.sysctl") }

// NewWorker prepares the worker of name under dir; Run starts it.
func NewWorker(dir, name string, logw io.Writer) *Worker {
	return &Worker{Dir: dir, Name: name, Log: log.New(logw, "", log.LstdFlags), SysctlFiles: []string{"/etc/sysctl.conf"}}
}

type request struct {
	op    string
	body  json.RawMessage
	reply chan response
}

type response struct {
	v   any
	err error
}

// Run serves until ctx ends or the interface is destroyed. A worker that
// starts after a crash first withdraws whatever the dead one left active
// (RemoveVirtualAddrs) and resumes the saved configuration in INIT, so it
// becomes MASTER only through the protocol, after a master-down interval.
// When ctx ends, a MASTER bows out and withdraws its addresses.
func (w *Worker) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ledger, err := demote.Open(w.Dir)
	if err != nil {
		return err
	}
	cfg := NewConfig(w.Name)
	if ok, err := ctl.LoadState(w.Dir, w.Name, &cfg); err != nil {
		return err
	} else if ok {
		w.Log.Printf("%s: resuming saved configuration", w.Name)
	}
	sys, err := w.sysctl()
	if err != nil {
		w.Log.Printf("%s: %v (using the defaults)", w.Name, err)
	}
	if err := RemoveVirtualAddrs(w.Name); err != nil {
		return err
	}
	ln, err := ctl.Listen(w.Dir, w.Name)
	if err != nil {
		return err
	}
	demoted, err := ledger.Watch(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	reqs := make(chan request)
	served := make(chan error, 1)
	go func() {
		served <- ctl.Serve(ctx, ln, func(ctx context.Context, op string, body json.RawMessage) (any, error) {
			r := request{op: op, body: body, reply: make(chan response, 1)}
			select {
			case reqs <- r:
			case <-ctx.Done():
				return nil, fmt.Errorf("%s: worker stopping", w.Name)
			}
			resp := <-r.reply
			return resp.v, resp.err
		})
	}()

	e := newEngine(w.Name, w.Log, w.Clock, ledger, cfg, sys)
	e.restart()
	defer func() {
		cancel()
		<-served
	}()
	for {
		var in <-chan Inbound
		var links <-chan bool
		if e.io != nil {
			in, links = e.io.Inbound(), e.io.LinkEvents()
		}
		select {
		case <-ctx.Done():
			e.stop()
			e.setOwnDemote(0)
			return nil
		case r := <-reqs:
			v, err, destroyed := w.handle(e, r.op, r.body)
			r.reply <- response{v, err}
			if destroyed {
				return nil
			}
		case p := <-in:
			e.receive(p)
		case up := <-links:
			e.link(up)
		case <-e.timer.C():
			e.expire()
		case <-demoted:
			e.demoteChanged()
		}
	}
}

func (w *Worker) sysctl() (Sysctl, error) {
	return LoadSysctl(append(append([]string(nil), w.SysctlFiles...), SysctlPath(w.Dir))...)
}

// handle answers one control request on the engine's goroutine.
func (w *Worker) handle(e *engine, op string, body json.RawMessage) (v any, err error, destroyed bool) {
	switch op {
	case OpStatus:
		return e.status(), nil, false
	case OpStats:
		return e.stats, nil, false
	case OpSysctl:
		s, err := w.sysctl()
		if err != nil {
			return nil, err, false
		}
		e.setSysctl(s)
		return s, nil, false
	case OpConfigure:
		var r Request
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("bad request: %w", err), false
		}
		out, err := Apply(e.cfg, r, link.Exists)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err), false
		}
		if out.Destroy {
			if err := e.destroy(); err != nil {
				return nil, err, false
			}
			w.Log.Printf("%s: destroyed", w.Name)
			return nil, ctl.RemoveState(w.Dir, w.Name), true
		}
		if err := ctl.SaveState(w.Dir, w.Name, out.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err), false
		}
		e.reconfigure(out.Config, out.ForceState)
		return e.status(), nil, false
	}
	return nil, fmt.Errorf("%s: unknown operation %q", w.Name, op), false
}
