package main

import (
	"bytes"
	"strings"
	"testing"

	"carpfw/internal/cli"
)

func TestHelpDescribesRealFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli.Run(newRootCmd(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"-f, --file", "-n, --noaction", "-v, --verbose", "-o, --optimize", "-D, --define", "-a, --anchor", "-s, --show", "-F, --flush", "-t, --table", "-T, --tablecmd", "-e, --enable", "-d, --disable", "-q, --quiet", "--print-nft", "--strict", "--json"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestBadInputIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad, unknown flag", []string{"--bogus"}, "pfconf: unknown flag: --bogus\n"},
		{"bad, unknown short flag", []string{"-x"}, "pfconf: unknown shorthand flag: 'x' in -x\n"},
		{"bad, unknown word", []string{"-n", "bogus"}, "pfconf: unexpected argument \"bogus\" (addresses only follow -T)\n"},
		{"bad, unknown -s modifier", []string{"-sX"}, "pfconf: -s X: unknown modifier (one of: rules, states, info, labels, Tables, all)\n"},
		{"bad, unknown -T command", []string{"-t", "x", "-T", "kill"}, "pfconf: -T kill: unknown modifier (one of: show, add, delete, flush, replace, test)\n"},
		{"bad, -T without -t", []string{"-T", "show"}, "pfconf: -T requires -t table\n"},
		{"bad, nothing to do", []string{}, "pfconf: nothing to do; see pfconf --help\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := cli.Run(newRootCmd(), tc.args, &out, &errb); code == 0 {
				t.Errorf("exit status 0, want non-zero")
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
			if strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("stderr %q: want exactly one line", errb.String())
			}
			if tc.want != "" && errb.String() != tc.want {
				t.Errorf("stderr %q, want %q", errb.String(), tc.want)
			}
		})
	}
}

func TestModifierPrefixes(t *testing.T) {
	for _, tc := range []struct{ word, want string }{
		{"r", "rules"}, {"T", "Tables"}, {"s", "states"}, {"l", "labels"}, {"a", "all"}, {"info", "info"},
	} {
		got, err := modifier("-s", tc.word, showModifiers)
		if err != nil || got != tc.want {
			t.Errorf("-s%s: got %q, %v; want %q", tc.word, got, err, tc.want)
		}
	}
	_, err := modifier("-x", "de", []string{"debug", "delete"})
	if err == nil || err.Error() != "-x de: ambiguous (debug, delete)" {
		t.Errorf("ambiguous prefix: got %v", err)
	}
}
