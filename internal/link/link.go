// Package link answers questions about the host's network interfaces that
// the configuration layers ask before they accept a carpdev or syncdev.
package link

import (
	"errors"
	"os"
)

// ErrNotFound is the error for an interface the namespace does not have.
var ErrNotFound = errors.New("no such interface")

// Exists reports ErrNotFound unless the calling thread's network namespace
// has an interface called name (sysfs lists the namespace that mounted it;
// ip-netns-exec(8) remounts /sys for that reason, and workers are started
// inside their namespace).
func Exists(name string) error {
	if _, err := os.Stat("/sys/class/net/" + name); err != nil {
		return ErrNotFound
	}
	return nil
}
