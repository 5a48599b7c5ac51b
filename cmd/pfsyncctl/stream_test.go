package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"carpfw/internal/lab"
)

// stream is a long-lived TCP connection from the client to an echo
// server: every 50 ms the client sends a sequence number and waits for
// it to come back.
type stream struct {
	t    *testing.T
	conn net.Conn
	mu   sync.Mutex
	n    int       // echoes received
	last time.Time // time of the last echo
	gap  time.Duration
	err  error
	done chan struct{}
}

func startStream(t *testing.T, client, server *lab.Host, addr string) *stream {
	t.Helper()
	server.ServeEcho(addr)
	c, err := client.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s through the firewalls: %v", addr, err)
	}
	s := &stream{t: t, conn: c, done: make(chan struct{}), last: time.Now()}
	t.Cleanup(s.stop)
	go s.run()
	return s
}

func (s *stream) run() {
	defer close(s.done)
	buf := make([]byte, 8)
	for i := uint64(1); ; i++ {
		binary.BigEndian.PutUint64(buf, i)
		s.conn.SetDeadline(time.Now().Add(60 * time.Second))
		_, err := s.conn.Write(buf)
		if err == nil {
			_, err = io.ReadFull(s.conn, buf)
		}
		if err == nil && binary.BigEndian.Uint64(buf) != i {
			err = errors.New("echo out of order")
		}
		s.mu.Lock()
		if err != nil {
			s.err = err
			s.mu.Unlock()
			return
		}
		now := time.Now()
		s.gap = max(s.gap, now.Sub(s.last))
		s.n, s.last = s.n+1, now
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *stream) stop() {
	s.conn.Close()
	<-s.done
}

// count returns the echoes so far and the error that ended the stream.
func (s *stream) count() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.err
}

// progresses waits until the stream has echoed more than after, and
// reports how long that took; it fails the test if the stream ended with
// an error (a reset).
func (s *stream) progresses(after int, within time.Duration) (time.Duration, bool) {
	s.t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		n, err := s.count()
		if err != nil {
			s.t.Fatalf("the stream ended: %v (after %d echoes)", err, n)
		}
		if n > after+5 {
			return time.Since(start), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return within, false
}
