package lab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"carpfw/internal/rundir"
)

// dialTimeout bounds Host.Dial.
const dialTimeout = 5 * time.Second

// Host is a network namespace standing for one machine of the lab.
// It starts with only lo, up. IPv6 duplicate address detection is off
// (net.ipv6.conf.{all,default}.accept_dad=0) so addresses are usable at once.
type Host struct {
	lab      *Lab
	name     string
	ns       string
	isSwitch bool
	fd       netns.NsHandle
	nl       *netlink.Handle
}

// Host creates the host name, as namespace "<prefix>-<name>" with lo up.
// It fails the test on error.
func (l *Lab) Host(name string) *Host {
	l.t.Helper()
	return l.addNS(name, false)
}

// newHost creates the namespace full. It returns a non-nil host as soon
// as the namespace exists, so that clean-up deletes it even on error.
func newHost(l *Lab, name, full string, isSwitch bool) (*Host, error) {
	if err := runIP("netns", "add", full); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	h := &Host{lab: l, name: name, ns: full, isSwitch: isSwitch, fd: netns.None()}
	fd, err := netns.GetFromName(full)
	if err != nil {
		return h, fmt.Errorf("open namespace %s: %w", full, err)
	}
	h.fd = fd
	nh, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		return h, fmt.Errorf("netlink handle in %s: %w", full, err)
	}
	h.nl = nh
	if err := h.setLink("lo", true); err != nil {
		return h, err
	}
	settings := []string{"net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"}
	value := "0"
	if isSwitch {
		// A switch has no address: keep it from sending router
		// solicitations and MLD reports of its own.
		settings = []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"}
		value = "1"
	}
	for _, key := range settings {
		if err := h.writeSysctl(key, value); err != nil && !errors.Is(err, os.ErrNotExist) {
			return h, err
		}
	}
	return h, nil
}

// destroy releases the host's handles, kills processes left inside it and
// deletes its namespace.
func (h *Host) destroy() error {
	if h.nl != nil {
		h.nl.Close()
	}
	if h.fd.IsOpen() {
		h.fd.Close()
	}
	killNamespacePIDs(h.ns)
	removeRunDir(h.ns)
	if err := runIP("netns", "del", h.ns); err != nil {
		return fmt.Errorf("host %s: delete namespace: %w", h.name, err)
	}
	return nil
}

// removeRunDir deletes the carpfw run directory that commands run inside
// the namespace ns created by default (/run/carpfw/netns-<ns>, see
// internal/rundir), so tests leave no worker files behind.
func removeRunDir(ns string) {
	os.RemoveAll(filepath.Join(rundir.Base, "netns-"+ns))
}

// Name returns the host's short name, as given to Lab.Host.
func (h *Host) Name() string { return h.name }

// NS returns the host's namespace name, for "ip netns exec" and "ip -n".
func (h *Host) NS() string { return h.ns }

// Lab returns the lab the host belongs to.
func (h *Host) Lab() *Lab { return h.lab }

// String returns the short name.
func (h *Host) String() string { return h.name }

// fatalf fails the test with a message naming the host.
func (h *Host) fatalf(format string, args ...any) {
	h.lab.t.Helper()
	kind := "host"
	if h.isSwitch {
		kind = "switch"
	}
	h.lab.t.Fatalf("lab: %s %s: %s", kind, h.name, fmt.Sprintf(format, args...))
}

// Do runs fn on an OS thread switched into the host's network namespace
// and returns its error. Sockets that fn opens stay in the host's
// namespace after Do returns. Goroutines that fn starts do not run in the
// namespace, and neither does name resolution, so use literal addresses.
// A panic in fn is re-raised in the caller.
func (h *Host) Do(fn func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	ch := make(chan result, 1)
	go func() {
		// A goroutine of its own: if the namespace cannot be restored it
		// exits still locked, and Go then discards the thread.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("lab: host %s: get current namespace: %w", h.name, err)}
			return
		}
		defer orig.Close()
		if err := netns.Set(h.fd); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("lab: host %s: enter namespace: %w", h.name, err)}
			return
		}
		r := func() (r result) {
			defer func() {
				if v := recover(); v != nil {
					r = result{panicked: true, value: v}
				}
			}()
			return result{err: fn()}
		}()
		if err := netns.Set(orig); err != nil {
			if !r.panicked {
				r.err = errors.Join(r.err, fmt.Errorf("lab: host %s: restore namespace: %w", h.name, err))
			}
			ch <- r
			return // still locked: the thread dies with the goroutine
		}
		runtime.UnlockOSThread()
		ch <- r
	}()
	r := <-ch
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// Listen is net.Listen inside the host.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// ServeEcho listens for TCP on addr inside the host and echoes what
// every connection sends until it closes; the listener closes with the
// lab (a failure to listen fails the test).
func (h *Host) ServeEcho(addr string) {
	h.lab.t.Helper()
	ln, err := h.Listen("tcp", addr)
	if err != nil {
		h.fatalf("listen %s: %v", addr, err)
	}
	h.lab.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
}

// ListenPacket is net.ListenPacket inside the host.
func (h *Host) ListenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := h.Do(func() (err error) {
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}

// Dial is net.DialTimeout inside the host with a 5 s timeout.
func (h *Host) Dial(network, addr string) (net.Conn, error) {
	return h.DialTimeout(network, addr, dialTimeout)
}

// DialTimeout is net.DialTimeout inside the host. addr must hold a literal
// IP address.
func (h *Host) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() (err error) {
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	return c, err
}

// Run runs a command to completion inside the host ("ip netns exec") with
// a 30 s timeout and returns its combined output. On failure the error
// holds the output too.
func (h *Host) Run(name string, args ...string) (string, error) {
	return h.RunTimeout(runTimeout, name, args...)
}

// RunTimeout is Run with a chosen timeout; the command's process group is
// killed when it expires.
func (h *Host) RunTimeout(timeout time.Duration, name string, args ...string) (string, error) {
	ip, err := ipPath()
	if err != nil {
		return "", err
	}
	argv := append([]string{ip, "netns", "exec", h.ns, name}, args...)
	out, err := command(timeout, argv...)
	if err != nil {
		return out, fmt.Errorf("lab: host %s: run %s: %w: %s",
			h.name, strings.Join(append([]string{name}, args...), " "), err, strings.TrimSpace(out))
	}
	return out, nil
}

// MustRun is Run that fails the test on error.
func (h *Host) MustRun(name string, args ...string) string {
	h.lab.t.Helper()
	out, err := h.Run(name, args...)
	if err != nil {
		h.lab.t.Fatal(err)
	}
	return out
}

// Sysctl sets the sysctl key (such as "net.ipv4.ip_forward") to value
// inside the host. It fails the test on error.
func (h *Host) Sysctl(key, value string) {
	h.lab.t.Helper()
	if err := h.writeSysctl(key, value); err != nil {
		h.fatalf("%v", err)
	}
}

// ReadSysctl returns the value of the sysctl key inside the host, without
// the trailing newline. It fails the test on error.
func (h *Host) ReadSysctl(key string) string {
	h.lab.t.Helper()
	var b []byte
	err := h.Do(func() (err error) {
		// /proc/sys/net shows the namespace of the opening thread.
		b, err = os.ReadFile(sysctlPath(key))
		return err
	})
	if err != nil {
		h.fatalf("read sysctl %s: %v", key, err)
	}
	return strings.TrimRight(string(b), "\n")
}

// writeSysctl writes a sysctl from a thread inside the host.
func (h *Host) writeSysctl(key, value string) error {
	err := h.Do(func() error {
		// /proc/sys/net shows the namespace of the opening thread.
		f, err := os.OpenFile(sysctlPath(key), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString(value)
		return errors.Join(err, f.Close())
	})
	if err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// sysctlPath maps "net.ipv4.ip_forward" to "/proc/sys/net/ipv4/ip_forward".
// As with sysctl(8), a key holding "/" uses "/" as separator, so that
// interface names with dots can be written "net/ipv4/conf/eth0.5/forwarding".
func sysctlPath(key string) string {
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join("/proc/sys", filepath.Clean("/"+key))
}
