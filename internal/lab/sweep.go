package lab

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
)

// ownName matches the namespace names this package creates and captures
// the creating process id in base 36.
var ownName = regexp.MustCompile(`^` + namePrefix + `([0-9a-z]+)-[0-9a-z]+-.`)

// creatorPID returns the process id encoded in a namespace name of ours.
func creatorPID(ns string) (int, bool) {
	m := ownName.FindStringSubmatch(ns)
	if m == nil {
		return 0, false
	}
	pid, err := strconv.ParseInt(m[1], 36, 64)
	if err != nil || pid <= 0 || pid > math.MaxInt32 {
		return 0, false
	}
	return int(pid), true
}

// sweepStale deletes the namespaces of ours whose creating process is gone,
// after killing whatever still runs in them, and describes what it did.
// Errors are reported but not fatal: another process may be sweeping too.
func sweepStale() []string {
	names, err := listNamespaces()
	if err != nil {
		return []string{err.Error()}
	}
	var msgs []string
	for _, ns := range names {
		pid, ok := creatorPID(ns)
		if !ok || pid == os.Getpid() || Alive(pid) {
			continue
		}
		killNamespacePIDs(ns)
		removeRunDir(ns)
		if err := runIP("netns", "del", ns); err != nil {
			if _, statErr := os.Stat(netnsDir + "/" + ns); statErr == nil {
				msgs = append(msgs, fmt.Sprintf("sweep stale namespace %s: %v", ns, err))
			}
			continue
		}
		msgs = append(msgs, fmt.Sprintf("deleted stale namespace %s (creator pid %d gone)", ns, pid))
	}
	return msgs
}
