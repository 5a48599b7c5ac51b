package pfsync

import (
	"bytes"
	"strings"
	"testing"
)

func apply(t *testing.T, c Config, words string) (Config, error) {
	t.Helper()
	req, err := ParseRequest("pfsync0", strings.Fields(words))
	if err != nil {
		return Config{}, err
	}
	out, err := Apply(c, req, func(string) error { return nil })
	return out.Config, err
}

func TestApplyAndStatus(t *testing.T) {
	c, err := apply(t, NewConfig("pfsync0"), "up syncif sis2")
	if err != nil {
		t.Fatalf("hostname.pfsync0's \"up syncif sis2\": %v", err)
	}
	var b bytes.Buffer
	WriteIfconfig(&b, Status{Config: c})
	want := "pfsync0: flags=1<UP> mtu 1500\n\tpfsync: syncdev: sis2 maxupd: 128 defer: off\n\tgroups: carp pfsync\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	if _, err := apply(t, c, "syncpeer 10.0.0.2"); err == nil || !strings.Contains(err.Error(), "device busy") {
		t.Errorf("syncpeer while up: got %v, want device busy", err)
	}
	c, err = apply(t, c, "down syncpeer 10.0.0.2 maxupd 64 defer up")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	WriteIfconfig(&b, Status{Config: c})
	if !strings.Contains(b.String(), "\tpfsync: syncdev: sis2 syncpeer: 10.0.0.2 maxupd: 64 defer: on\n") {
		t.Errorf("got %q", b.String())
	}
	if _, err := apply(t, NewConfig("pfsync0"), "up"); err == nil {
		t.Error("bad, up without syncdev was accepted")
	}
}

func TestParseRequestErrors(t *testing.T) {
	for _, tc := range []struct{ words, want string }{
		{"maxupd 256", "maxupd 256: too large"},
		{"maxupd -1", "maxupd -1: too small"},
		{"syncpeer 0.0.0.0", "syncpeer 0.0.0.0: not a usable peer address"},
		{"syncdev", "syncdev: argument expected"},
		{"syncdev a/b", "syncdev a/b: invalid interface name"},
		{"frob", "frob: unknown keyword"},
	} {
		_, err := ParseRequest("pfsync0", strings.Fields(tc.words))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %q", tc.words, err, tc.want)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("up syncif sis2")
	f.Add("syncdev em2 syncpeer 10.0.0.2 maxupd 64 defer up")
	f.Fuzz(func(t *testing.T, s string) {
		req, err := ParseRequest("pfsync0", strings.Fields(s))
		if err == nil {
			Apply(NewConfig("pfsync0"), req, nil)
		}
	})
}
