package demote

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Watch reports on the returned channel every time a group file under the
// ledger changes, until ctx ends. Events are coalesced: one receive may
// stand for several writes, so receivers re-read what they need.
func (l *Ledger) Watch(ctx context.Context) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("demote: inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, l.dir, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_DELETE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("demote: inotify %s: %w", l.dir, err)
	}
	// An *os.File in non-blocking mode uses the runtime poller, so Read
	// blocks only this goroutine and Close wakes it.
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch, nil
}
