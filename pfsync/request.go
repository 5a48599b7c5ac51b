package pfsync

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
)

// Request is one ifconfig(8)-style command line for pfsync0, after syntax
// and range checks: the keyword settings in command-line order.
type Request struct {
	Name     string    `json:"name"`
	Settings []Setting `json:"settings,omitempty"`
}

// Setting is one keyword with its checked argument ("" for none). The old
// spellings syncif and -syncif are stored as syncdev and -syncdev.
type Setting struct {
	Keyword string `json:"keyword"`
	Arg     string `json:"arg,omitempty"`
}

// IsEmpty reports whether r changes nothing (a status query).
func (r Request) IsEmpty() bool { return len(r.Settings) == 0 }

var ifnameRE = regexp.MustCompile(`^pfsync[0-9]{1,5}$`)

// ValidName reports whether name is a pfsync interface name.
func ValidName(name string) bool { return ifnameRE.MatchString(name) }

type keyword struct {
	nargs int
	alias string // canonical spelling
	check func(arg string) (string, error)
}

// keywords are the pfsync rows of sbin/ifconfig/ifconfig.c's keyword table
// plus the generic words hostname.pfsync0 files use.
var keywords = map[string]keyword{
	"create":    {0, "", nil},
	"destroy":   {0, "", nil},
	"up":        {0, "", nil},
	"down":      {0, "", nil},
	"syncdev":   {1, "", ifnameCheck},
	"syncif":    {1, "syncdev", ifnameCheck},
	"-syncdev":  {0, "", nil},
	"-syncif":   {0, "-syncdev", nil},
	"syncpeer":  {1, "", peerCheck},
	"-syncpeer": {0, "", nil},
	"maxupd":    {1, "", maxupdCheck},
	"defer":     {0, "", nil},
	"-defer":    {0, "", nil},
}

// ParseRequest checks the words that follow the interface name on a
// pfsyncctl (or ifconfig pfsync0) command line.
func ParseRequest(name string, words []string) (Request, error) {
	if !ValidName(name) {
		return Request{}, fmt.Errorf("%s: not a pfsync interface name (pfsyncN)", name)
	}
	r := Request{Name: name}
	for i := 0; i < len(words); {
		w := words[i]
		kw, ok := keywords[w]
		if !ok {
			return Request{}, fmt.Errorf("%s: unknown keyword", w)
		}
		s := Setting{Keyword: w}
		if kw.alias != "" {
			s.Keyword = kw.alias
		}
		if kw.nargs == 1 {
			if i+1 >= len(words) {
				return Request{}, fmt.Errorf("%s: argument expected", w)
			}
			v, err := kw.check(words[i+1])
			if err != nil {
				return Request{}, fmt.Errorf("%s %s: %v", w, words[i+1], err)
			}
			s.Arg = v
		}
		r.Settings = append(r.Settings, s)
		i += 1 + kw.nargs
	}
	return r, nil
}

var linuxIfnameRE = regexp.MustCompile(`^[^/\s:]{1,15}$`)

func ifnameCheck(arg string) (string, error) {
	if !linuxIfnameRE.MatchString(arg) || arg == "." || arg == ".." {
		return "", fmt.Errorf("invalid interface name")
	}
	return arg, nil
}

func peerCheck(arg string) (string, error) {
	a, err := netip.ParseAddr(arg)
	if err != nil || !a.Is4() {
		return "", fmt.Errorf("invalid IPv4 address")
	}
	if a == netip.IPv4Unspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return "", fmt.Errorf("not a usable peer address")
	}
	return a.String(), nil
}

func maxupdCheck(arg string) (string, error) {
	n, err := strconv.Atoi(arg)
	switch {
	case err != nil:
		return "", fmt.Errorf("invalid")
	case n < 0:
		return "", fmt.Errorf("too small")
	case n > MaxMaxUpd:
		return "", fmt.Errorf("too large")
	}
	return strconv.Itoa(n), nil
}
