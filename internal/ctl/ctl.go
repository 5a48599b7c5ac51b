// Package ctl is the control channel between the ctl tools (carpctl,
// pfsyncctl) and the worker of one pseudo-interface: a Unix stream socket
// <rundir>/<ifname>.sock that carries one JSON request and one JSON
// response per connection.
//
//	-> {"op":"configure","body":{...}}
//	<- {"body":{...}}            or  {"error":"carpdev em9: no such interface"}
//
// A worker that answers an error has changed nothing; the ctl tool prints
// the error and exits 1.
package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Files a worker keeps in the run directory, by interface name.
func SocketPath(dir, ifname string) string { return filepath.Join(dir, ifname+".sock") }

// PIDPath holds the PID of the supervisor (or of a foreground worker).
func PIDPath(dir, ifname string) string { return filepath.Join(dir, ifname+".pid") }

// LogPath receives a detached worker's output.
func LogPath(dir, ifname string) string { return filepath.Join(dir, ifname+".log") }

// StatePath holds the worker's configuration, rewritten after every change,
// so that a restarted worker resumes it.
func StatePath(dir, ifname string) string { return filepath.Join(dir, ifname+".json") }

// Request is what a ctl tool sends.
type Request struct {
	Op   string          `json:"op"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Response is what a worker answers.
type Response struct {
	Error string          `json:"error,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
}

// ErrNoWorker means no worker listens on the interface's socket.
var ErrNoWorker = errors.New("no worker running")

// callTimeout bounds one request: a worker answers from memory.
const callTimeout = 10 * time.Second

// Call sends op with body to the worker of ifname and decodes the answer's
// body into out (if not nil). It returns ErrNoWorker (wrapped) when the
// socket is missing or nobody accepts on it, and the worker's error text
// otherwise.
func Call(ctx context.Context, dir, ifname, op string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", SocketPath(dir, ifname))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%s: %w", ifname, ErrNoWorker)
		}
		return fmt.Errorf("%s: %w", ifname, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	req := Request{Op: op}
	if body != nil {
		if req.Body, err = json.Marshal(body); err != nil {
			return err
		}
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fmt.Errorf("%s: send: %w", ifname, err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("%s: worker closed the connection: %w", ifname, err)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	if out != nil && resp.Body != nil {
		return json.Unmarshal(resp.Body, out)
	}
	return nil
}

// Handler answers one request; a returned error becomes Response.Error.
type Handler func(ctx context.Context, op string, body json.RawMessage) (any, error)

// Listen opens ifname's control socket in dir. A socket file left by a
// dead worker is removed; a live one makes Listen fail, so two workers
// never run for one interface.
func Listen(dir, ifname string) (net.Listener, error) {
	path := SocketPath(dir, ifname)
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: a worker is already running", ifname)
	}
	os.Remove(path)
	old := syscall.Umask(0o077)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("%s: control socket: %w", ifname, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}

// Serve answers requests on ln until ctx ends. Requests are handled one at
// a time, so a handler never races with itself.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		serveOne(ctx, c, h)
	}
}

func serveOne(ctx context.Context, c net.Conn, h Handler) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(callTimeout))
	var req Request
	dec := json.NewDecoder(io.LimitReader(c, 1<<20))
	var resp Response
	if err := dec.Decode(&req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else if v, err := h(ctx, req.Op, req.Body); err != nil {
		resp.Error = err.Error()
	} else if v != nil {
		if resp.Body, err = json.Marshal(v); err != nil {
			resp.Error = err.Error()
		}
	}
	json.NewEncoder(c).Encode(resp)
}
