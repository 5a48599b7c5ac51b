package carp

import (
	"strings"
	"testing"
)

func TestSysctlRead(t *testing.T) {
	s := DefaultSysctl()
	conf := "# /etc/sysctl.conf\nnet.inet.ip.forwarding=1\nnet.inet.carp.preempt=1  # as pfsync(4) advises\nnet.inet.carp.log = 7\n"
	if err := s.Read("sysctl.conf", strings.NewReader(conf)); err != nil {
		t.Fatal(err)
	}
	if !s.Allow || !s.Preempt || s.Log != 7 {
		t.Errorf("got %+v", s)
	}
	err := s.Read("sysctl.conf", strings.NewReader("net.inet.carp.allow=1\nnet.inet.carp.preempt=2\n"))
	if err == nil || err.Error() != "sysctl.conf:2: net.inet.carp.preempt: 2: value must be 0 or 1" {
		t.Errorf("got %v", err)
	}
	if err := s.Set("net.inet.carp.bogus", "1"); err == nil || !strings.Contains(err.Error(), "unknown variable") {
		t.Errorf("got %v", err)
	}
}
