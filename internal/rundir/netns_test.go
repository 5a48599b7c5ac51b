package rundir_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"carpfw/internal/lab"
	"carpfw/internal/rundir"
)

func TestNetnsKeyNamedAndAnonymous(t *testing.T) {
	l := lab.New(t)
	h1, h2 := l.Host("h1"), l.Host("h2")
	keys := map[string]string{}
	for _, h := range []*lab.Host{h1, h2} {
		if err := h.Do(func() error {
			k, err := rundir.NetnsKey()
			keys[h.Name()] = k
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if keys["h1"] != "netns-"+h1.NS() || keys["h2"] != "netns-"+h2.NS() {
		t.Errorf("named namespaces: got %v", keys)
	}

	// A namespace ip-netns(8) does not know is keyed by its inode.
	runtime.LockOSThread() // the thread is discarded, not unlocked, below
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	anon, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	k, err := rundir.NetnsKey()
	anon.Close()
	if err := netns.Set(orig); err == nil {
		runtime.UnlockOSThread()
	}
	orig.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k, "ns-") || k == "ns-0" {
		t.Errorf("anonymous namespace: got %q, want ns-<inode>", k)
	}
}
