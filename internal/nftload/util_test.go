package nftload

import (
	"github.com/google/nftables"

	"os"
	"testing"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newNSConn opens an nftables connection in the calling thread's
// namespace (tests call it inside lab.Host.Do only).
func newNSConn() (*nftables.Conn, error) { return Dial() }
