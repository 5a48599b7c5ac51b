package rundir

import (
	"fmt"
	"strings"
	"testing"
)

func TestResolveOverrides(t *testing.T) {
	t.Setenv(EnvVar, "/tmp/x/../env")
	if got, _ := Resolve("/tmp/flag/"); got != "/tmp/flag" {
		t.Errorf("flag: got %q, want /tmp/flag", got)
	}
	if got, _ := Resolve(""); got != "/tmp/env" {
		t.Errorf("env: got %q, want /tmp/env", got)
	}
}

func TestNetnsKeyHost(t *testing.T) {
	key, err := NetnsKey()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary runs in the host's namespace: that is "default"
	// where PID 1's namespace can be read and is the same, else the
	// namespace is keyed by its inode (some sandboxes hide PID 1).
	self, _ := nsID("/proc/thread-self/ns/net")
	want := fmt.Sprintf("ns-%d", self.ino)
	if init, err := nsID("/proc/1/ns/net"); err == nil && init == self {
		want = "default"
	}
	if key != want && !strings.HasPrefix(key, "netns-") {
		t.Errorf("got %q, want %q", key, want)
	}
}
