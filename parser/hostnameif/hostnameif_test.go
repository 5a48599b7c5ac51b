package hostnameif

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	in := `# hostname.carp0, as on the firewall
inet 192.168.1.1 255.255.255.0 192.168.1.255 vhid 1 carpdev em0 pass foo advskew 100

inet 192.168.1.1 255.255.255.0 NONE vhid 1 carpdev em0 pass foo
vhid 1 carpdev em0 pass foo          # carp parameters first
inet 192.168.1.1/24
inet alias 192.168.1.2 255.255.255.255 NONE
inet6 2001:db8::1 64
description "external VIP"   # trailing comment
!logger "carp $if configured"
inet 10.0.0.1/24 vhid 1
`
	lines, errs := Parse("hostname.carp0", "carp0", strings.NewReader(in))
	if errs != nil {
		t.Fatal(errs)
	}
	want := []Line{
		{N: 2, Words: strings.Fields("inet 192.168.1.1 netmask 255.255.255.0 broadcast 192.168.1.255 vhid 1 carpdev em0 pass foo advskew 100")},
		{N: 4, Words: strings.Fields("inet 192.168.1.1 netmask 255.255.255.0 vhid 1 carpdev em0 pass foo")},
		{N: 5, Words: strings.Fields("vhid 1 carpdev em0 pass foo")},
		{N: 6, Words: strings.Fields("inet 192.168.1.1/24")},
		{N: 7, Words: strings.Fields("inet alias 192.168.1.2 netmask 255.255.255.255")},
		{N: 8, Words: strings.Fields("inet6 2001:db8::1 prefixlen 64")},
		{N: 9, Words: []string{"description", "external VIP"}},
		{N: 10, Shell: `logger "carp carp0 configured"`},
		// netstart's positional pitfall, reproduced: "vhid" becomes a netmask.
		{N: 11, Words: strings.Fields("inet 10.0.0.1/24 netmask vhid broadcast 1")},
	}
	if d := cmp.Diff(want, lines); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	in := "up\ninet\ndescription \"unterminated\ndest 10.0.0.9\n"
	_, errs := Parse("hostname.carp1", "carp1", strings.NewReader(in))
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"hostname.carp1:2: inet: address expected",
		"hostname.carp1:3: unbalanced quotes",
		"hostname.carp1:4: dest: needs one address and a previous address line",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestPfsyncSeed(t *testing.T) {
	lines, errs := Parse("hostname.pfsync0", "pfsync0", strings.NewReader("up syncif sis2\n"))
	if errs != nil || len(lines) != 1 || strings.Join(lines[0].Words, " ") != "up syncif sis2" {
		t.Errorf("got %v %v", lines, errs)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("inet 10.0.0.1 255.255.255.0 NONE vhid 1 pass 'a b' carpdev em0\n!echo $if\ndest 1.2.3.4\n")
	f.Add("inet alias\ninet6 alias 2001:db8::1\ndhcp\n\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		Parse("f", "carp0", strings.NewReader(s))
	})
}
