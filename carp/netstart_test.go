package carp

import (
	"net/netip"
	"strings"
	"testing"

	"carpfw/parser/hostnameif"
)

func TestCheckLinesLegacyCarpdev(t *testing.T) {
	lines, errs := hostnameif.Parse("hostname.carp0", "carp0", strings.NewReader("inet 10.0.0.1 255.255.255.0 10.0.0.255 vhid 1 pass foo\n"))
	if errs != nil {
		t.Fatal(errs)
	}
	onSubnet := func(a netip.Addr) (string, bool) {
		if netip.MustParsePrefix("10.0.0.0/24").Contains(a) {
			return "sis0", true
		}
		return "", false
	}
	out, warnings, err := CheckLines(NewConfig("carp0"), "hostname.carp0", lines, nil, onSubnet)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out[0].Words, " "); got != "carpdev sis0 inet 10.0.0.1 netmask 255.255.255.0 broadcast 10.0.0.255 vhid 1 pass foo" {
		t.Errorf("got %q", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "hostname.carp0:1: no carpdev; using sis0") {
		t.Errorf("warnings %q", warnings)
	}
	// No interface on the subnet: the line fails, positioned.
	_, _, err = CheckLines(NewConfig("carp0"), "hostname.carp0", lines, nil, func(netip.Addr) (string, bool) { return "", false })
	if err == nil || err.Error() != "hostname.carp0:1: inet 10.0.0.1/24: carpdev must be set before an address" {
		t.Errorf("got %v", err)
	}
}

func TestCheckLinesStopsAtBadLine(t *testing.T) {
	src := "vhid 1 carpdev em0 pass foo\ninet 192.168.1.1/24\nadvskew 300\n"
	lines, _ := hostnameif.Parse("hostname.carp2", "carp2", strings.NewReader(src))
	_, _, err := CheckLines(NewConfig("carp2"), "hostname.carp2", lines, nil, nil)
	if err == nil || err.Error() != "hostname.carp2:3: advskew 300: too large" {
		t.Errorf("got %v", err)
	}
}
