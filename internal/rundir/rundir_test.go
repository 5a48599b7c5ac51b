package rundir

import (
	"os"
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
	if _, err := os.Stat("/proc/1/ns/net"); err != nil {
		t.Skip("cannot read PID 1's namespace:", err)
	}
	key, err := NetnsKey()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary runs in the namespace it was started in; from the
	// host that is PID 1's.
	self, _ := nsID("/proc/thread-self/ns/net")
	init, _ := nsID("/proc/1/ns/net")
	if self == init && key != "default" {
		t.Errorf("got %q in PID 1's namespace, want default", key)
	}
}
