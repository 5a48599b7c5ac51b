package nftload

import (
	"sync"

	"github.com/google/nftables"
)

// setIDMu serialises Conn.AddSet: google/nftables v0.3.0 numbers new sets
// from a package-level counter (allocSetID in set.go) without a lock, so
// two batches built at once, in one process, race on it.
var setIDMu sync.Mutex

// addSet is conn.AddSet under setIDMu.
func addSet(conn *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) error {
	setIDMu.Lock()
	defer setIDMu.Unlock()
	return conn.AddSet(s, elems)
}
