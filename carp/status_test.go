package carp

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteIfconfig(t *testing.T) {
	c := NewConfig("carp0")
	req, _ := ParseRequest("carp0", strings.Fields("vhid 1 carpdev em0 carppeer 10.0.0.2 inet 192.168.1.10/24 inet6 2001:db8::1/64 up"))
	out, err := Apply(c, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	WriteIfconfig(&b, Status{Config: out.Config, State: Master, Running: true, Index: 7})
	want := `carp0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
	lladdr 00:00:5e:00:01:01
	index 7 priority 15 llprio 3
	carp: MASTER carpdev em0 vhid 1 advbase 1 advskew 0 carppeer 10.0.0.2
	groups: carp
	status: master
	inet6 2001:db8::1 prefixlen 64
	inet 192.168.1.10 netmask 0xffffff00 broadcast 192.168.1.255
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
