package nftload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"carpfw/internal/ctl"
	"carpfw/internal/hostinv"
)

// WatcherName names the (if) watcher's files in the run directory
// (pfwatch.sock, pfwatch.pid, pfwatch.log).
const WatcherName = "pfwatch"

// Control operations of the watcher.
const (
	OpReload = "reload" // the state file changed: refresh every set now
	OpStatus = "status" // answer: WatchStatus
)

// WatchStatus is the watcher's answer to OpStatus.
type WatchStatus struct {
	Sets      []DynSet            `json:"sets"`
	Addresses map[string][]string `json:"addresses"` // per set, as loaded
	Refreshes int                 `json:"refreshes"`
	LastError string              `json:"last_error,omitempty"`
}

// Watcher keeps the (if) sets of the loaded ruleset equal to the
// addresses of their interfaces, as pf does for a dynamic address
// (pfi_dynaddr_update, pf_if.c): on every address, link or route change
// in its network namespace (routes decide the egress group) it reads the
// state file's list of sets, resolves each, and rewrites those whose
// addresses changed in one netlink batch; a carp interface's virtual
// addresses come from its configuration (HostIfAddrs).
type Watcher struct {
	Dir string
	Log *log.Logger
	// Groups, IfAddrs and Dial default to the host's (HostGroups of
	// hostinv.FromEnv, HostIfAddrs of Dir, Dial).
	Groups  func(string) ([]string, bool)
	IfAddrs func(string) []netip.Prefix
	Dial    func() (*nftables.Conn, error)
	// Settle gathers a burst of changes into one refresh; Poll refreshes
	// anyway (a lost netlink event never leaves a set stale for long).
	Settle, Poll time.Duration

	loaded    map[string][]netip.Prefix // per set, what was last written
	sets      []DynSet
	refreshes int
	lastErr   string
}

// Run serves the control socket and refreshes until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Groups == nil {
		w.Groups = HostGroups(hostinv.FromEnv())
	}
	if w.IfAddrs == nil {
		w.IfAddrs = HostIfAddrs(w.Dir)
	}
	if w.Dial == nil {
		w.Dial = Dial
	}
	if w.Settle == 0 {
		w.Settle = 20 * time.Millisecond
	}
	if w.Poll == 0 {
		w.Poll = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := subscribe(ctx.Done())
	if err != nil {
		return err
	}
	ln, err := ctl.Listen(w.Dir, WatcherName)
	if err != nil {
		return err
	}
	type req struct {
		op    string
		reply chan any
	}
	reqs := make(chan req)
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- ctl.Serve(ctx, ln, func(ctx context.Context, op string, _ json.RawMessage) (any, error) {
			switch op {
			case OpReload, OpStatus:
			default:
				return nil, fmt.Errorf("unknown operation %q", op)
			}
			r := req{op, make(chan any, 1)}
			select {
			case reqs <- r:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return <-r.reply, nil
		})
	}()
	w.refresh(true)
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	poll := time.NewTicker(w.Poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-serveErr
			return nil
		case r := <-reqs:
			if r.op == OpReload {
				w.refresh(true)
			}
			r.reply <- w.status()
			if r.op == OpReload && len(w.sets) == 0 {
				// Nothing left to follow: stop (exit 0 ends the
				// keeper too) once the answer is written.
				w.Log.Printf("no (if) address in the loaded ruleset; stopping")
				cancel()
				<-serveErr
				return nil
			}
		case _, ok := <-changes:
			if !ok {
				return errors.New("netlink subscription ended")
			}
			settle.Reset(w.Settle)
		case <-settle.C:
			w.refresh(false)
		case <-poll.C:
			w.refresh(false)
		}
	}
}

// subscribe merges the address, link and route notifications of the
// namespace into one channel of "something changed".
func subscribe(done <-chan struct{}) (<-chan struct{}, error) {
	out := make(chan struct{}, 1)
	addrs := make(chan netlink.AddrUpdate, 64)
	links := make(chan netlink.LinkUpdate, 64)
	routes := make(chan netlink.RouteUpdate, 64)
	if err := netlink.AddrSubscribe(addrs, done); err != nil {
		return nil, fmt.Errorf("address events: %w", err)
	}
	if err := netlink.LinkSubscribe(links, done); err != nil {
		return nil, fmt.Errorf("link events: %w", err)
	}
	if err := netlink.RouteSubscribe(routes, done); err != nil {
		return nil, fmt.Errorf("route events: %w", err)
	}
	go func() {
		defer close(out)
		for {
			var ok bool
			select {
			case <-done:
				return
			case _, ok = <-addrs:
			case _, ok = <-links:
			case _, ok = <-routes:
			}
			if !ok {
				return
			}
			select {
			case out <- struct{}{}:
			default: // a change is already pending
			}
		}
	}()
	return out, nil
}

// refresh rewrites the sets whose addresses changed (all of them when
// force: a ruleset was just loaded).
func (w *Watcher) refresh(force bool) {
	saved, err := ReadSaved(w.Dir)
	if err != nil {
		w.fail(fmt.Errorf("state file: %w", err))
		return
	}
	w.sets = saved.Dynamic
	if force || w.loaded == nil {
		w.loaded = map[string][]netip.Prefix{}
	}
	var changed []DynSet
	want := map[string][]netip.Prefix{}
	for _, d := range w.sets {
		ps := DynSetPrefixes(d, w.Groups, w.IfAddrs)
		want[d.Set] = ps
		if old, ok := w.loaded[d.Set]; !ok || !slices.Equal(old, ps) {
			changed = append(changed, d)
		}
	}
	if len(changed) == 0 {
		return
	}
	conn, err := w.Dial()
	if err != nil {
		w.fail(err)
		return
	}
	if err := RefreshDynamic(conn, changed, w.Groups, w.IfAddrs); err != nil {
		w.fail(err)
		w.loaded = nil // try them all again next time
		return
	}
	for _, d := range changed {
		w.loaded[d.Set] = want[d.Set]
		w.Log.Printf("%s: (%s) now %v", d.Set, d.If, want[d.Set])
	}
	w.refreshes++
	w.lastErr = ""
}

// fail logs an error once until it changes.
func (w *Watcher) fail(err error) {
	if s := err.Error(); s != w.lastErr {
		w.Log.Printf("%v", err)
		w.lastErr = s
	}
}

func (w *Watcher) status() WatchStatus {
	st := WatchStatus{Sets: w.sets, Addresses: map[string][]string{}, Refreshes: w.refreshes, LastError: w.lastErr}
	for set, ps := range w.loaded {
		for _, p := range ps {
			st.Addresses[set] = append(st.Addresses[set], p.String())
		}
	}
	return st
}
