// Package rundir finds the directory where carpfw's workers keep their
// control sockets and state.
//
// Each network namespace is its own host: `ip netns exec h1 carpctl carp0`
// and `ip netns exec h2 carpctl carp0` on one machine must reach different
// workers with no extra flags. So the default directory is keyed by the
// network namespace the command runs in:
//
//	/run/carpfw/default        the namespace of PID 1 (the host itself)
//	/run/carpfw/netns-<name>   a namespace named by ip-netns(8) (/run/netns/<name>)
//	/run/carpfw/ns-<inode>     any other namespace, by its nsfs inode number
//
// The environment variable CARPFW_RUNDIR, and the commands' --rundir flag
// above it, replace the whole path.
package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Base is the parent of the per-namespace directories.
const Base = "/run/carpfw"

// EnvVar overrides the per-namespace directory.
const EnvVar = "CARPFW_RUNDIR"

// netnsDir is where ip-netns(8) bind-mounts named namespaces.
var netnsDir = "/run/netns"

// Resolve returns the run directory: flag if set, else $CARPFW_RUNDIR,
// else Base/<key of this process's network namespace>.
func Resolve(flag string) (string, error) {
	if flag != "" {
		return filepath.Clean(flag), nil
	}
	if env := os.Getenv(EnvVar); env != "" {
		return filepath.Clean(env), nil
	}
	key, err := NetnsKey()
	if err != nil {
		return "", err
	}
	return filepath.Join(Base, key), nil
}

// Ensure creates dir (mode 0755: status is readable by all, sockets
// themselves are 0600) and returns it.
func Ensure(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("run directory: %w", err)
	}
	return dir, nil
}

// NetnsKey names the network namespace of the calling thread: "default"
// for PID 1's, "netns-<name>" for one ip-netns(8) names, else "ns-<inode>".
func NetnsKey() (string, error) {
	self, err := nsID("/proc/thread-self/ns/net")
	if err != nil {
		return "", fmt.Errorf("network namespace: %w", err)
	}
	if init, err := nsID("/proc/1/ns/net"); err == nil && init == self {
		return "default", nil
	}
	ents, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("network namespace: %w", err)
	}
	for _, e := range ents {
		if id, err := nsID(filepath.Join(netnsDir, e.Name())); err == nil && id == self {
			return "netns-" + e.Name(), nil
		}
	}
	return fmt.Sprintf("ns-%d", self.ino), nil
}

type fileID struct{ dev, ino uint64 }

func nsID(path string) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	return fileID{uint64(st.Dev), st.Ino}, nil
}
