package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// ProfileEnv names the environment variable that, set to a directory,
// makes a worker write a CPU profile of its run to
// <dir>/<ifname>.<pid>.cpuprof when it stops ("go tool pprof" reads it).
// For measuring, not for service.
const ProfileEnv = "CARPFW_CPUPROFILE"

// startProfile starts the CPU profile if ProfileEnv asks for it, and
// returns what stops and writes it.
func startProfile(ifname string) func() {
	dir := os.Getenv(ProfileEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.cpuprof", ifname, os.Getpid())))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cpu profile: %v\n", ifname, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cpu profile: %v\n", ifname, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
