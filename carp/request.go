package carp

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Request is one ifconfig(8)-style command line for a carp interface, after
// syntax and range checks: the keyword settings in command-line order, then
// the address changes, which BSD ifconfig applies after every other keyword
// (so "carp0 inet 10.0.0.1/24 vhid 1 carpdev em0" works in one line).
type Request struct {
	Name     string    `json:"name"`
	Settings []Setting `json:"settings,omitempty"`
	Addrs    []AddrOp  `json:"addrs,omitempty"`
}

// Setting is one keyword with its checked argument ("" for none).
type Setting struct {
	Keyword string `json:"keyword"`
	Arg     string `json:"arg,omitempty"`
}

// AddrMode says how an address operand changes the address list, as the
// alias/-alias/delete words of ifconfig(8) do.
type AddrMode string

// Address modes.
const (
	AddrSet    AddrMode = "set"    // inet without alias: replace the first IPv4 address
	AddrAlias  AddrMode = "alias"  // add another address
	AddrDelete AddrMode = "delete" // -alias or delete: remove it
)

// AddrOp is one address operand.
type AddrOp struct {
	Mode    AddrMode `json:"mode"`
	Address Address  `json:"address"`
}

// IsEmpty reports whether r changes nothing (a status query).
func (r Request) IsEmpty() bool { return len(r.Settings) == 0 && len(r.Addrs) == 0 }

// Has reports whether r contains keyword.
func (r Request) Has(keyword string) bool {
	for _, s := range r.Settings {
		if s.Keyword == keyword {
			return true
		}
	}
	return false
}

var ifnameRE = regexp.MustCompile(`^carp[0-9]{1,5}$`)

// ValidName reports whether name is a carp interface name: "carp" and a unit
// number, as OpenBSD's cloner requires.
func ValidName(name string) bool { return ifnameRE.MatchString(name) }

// keyword describes one ifconfig word: how many arguments it takes and how
// the argument is checked. The table mirrors the carp rows of the keyword
// table in sbin/ifconfig/ifconfig.c, plus the generic words that appear in
// hostname.carpN files.
type keyword struct {
	nargs int
	check func(arg string) (string, error)
}

var keywords = map[string]keyword{
	"create":       {0, nil},
	"destroy":      {0, nil},
	"up":           {0, nil},
	"down":         {0, nil},
	"vhid":         {1, rangeCheck("vhid", 1, MaxVHID)},
	"advbase":      {1, rangeCheck("advbase", 0, MaxAdvBase)},
	"advskew":      {1, rangeCheck("advskew", 0, MaxAdvSkew)},
	"pass":         {1, nil},
	"carpdev":      {1, ifnameCheck("carpdev")},
	"carppeer":     {1, peerCheck},
	"-carppeer":    {0, nil},
	"state":        {1, stateCheck},
	"balancing":    {1, balancingCheck},
	"lladdr":       {1, lladdrCheck},
	"description":  {1, nil},
	"-description": {0, nil},
	"group":        {1, groupCheck},
	"-group":       {1, groupCheck},
}

// ParseRequest checks the words that follow the interface name on a
// carpctl (or ifconfig carpN) command line. It does not look at the host:
// whether carpdev exists is for the worker to say when it applies the request.
func ParseRequest(name string, words []string) (Request, error) {
	if !ValidName(name) {
		return Request{}, fmt.Errorf("%s: not a carp interface name (carpN)", name)
	}
	r := Request{Name: name}
	for i := 0; i < len(words); {
		w := words[i]
		switch w {
		case "inet", "inet6":
			op, n, err := parseAddr(w, words[i+1:])
			if err != nil {
				return Request{}, err
			}
			r.Addrs = append(r.Addrs, op)
			i += 1 + n
			continue
		case "carpnodes":
			return Request{}, fmt.Errorf("carpnodes: load balancing is not supported on Linux")
		}
		kw, ok := keywords[w]
		if !ok {
			if _, err := netip.ParsePrefix(w); err == nil || isAddr(w) {
				// ifconfig's default address family is inet.
				op, n, err := parseAddr("inet", words[i:])
				if err != nil {
					return Request{}, err
				}
				r.Addrs = append(r.Addrs, op)
				i += n
				continue
			}
			return Request{}, fmt.Errorf("%s: unknown keyword", w)
		}
		s := Setting{Keyword: w}
		if kw.nargs == 1 {
			if i+1 >= len(words) {
				return Request{}, fmt.Errorf("%s: argument expected", w)
			}
			s.Arg = words[i+1]
			if kw.check != nil {
				v, err := kw.check(s.Arg)
				if err != nil {
					return Request{}, err
				}
				s.Arg = v
			}
		}
		r.Settings = append(r.Settings, s)
		i += 1 + kw.nargs
	}
	return r, nil
}

func isAddr(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

// rangeCheck reproduces ifconfig's strtonum messages: "vhid 300: too large".
func rangeCheck(name string, lo, hi int) func(string) (string, error) {
	return func(arg string) (string, error) {
		n, err := strconv.Atoi(arg)
		switch {
		case err != nil:
			return "", fmt.Errorf("%s %s: invalid", name, arg)
		case n < lo:
			return "", fmt.Errorf("%s %s: too small", name, arg)
		case n > hi:
			return "", fmt.Errorf("%s %s: too large", name, arg)
		}
		return strconv.Itoa(n), nil
	}
}

var linuxIfnameRE = regexp.MustCompile(`^[^/\s:]{1,15}$`)

func ifnameCheck(name string) func(string) (string, error) {
	return func(arg string) (string, error) {
		if !linuxIfnameRE.MatchString(arg) || arg == "." || arg == ".." {
			return "", fmt.Errorf("%s %s: invalid interface name", name, arg)
		}
		return arg, nil
	}
}

func peerCheck(arg string) (string, error) {
	a, err := netip.ParseAddr(arg)
	if err != nil || !a.Is4() {
		return "", fmt.Errorf("carppeer %s: only IPv4 addresses supported for the carppeer", arg)
	}
	return a.String(), nil
}

func stateCheck(arg string) (string, error) {
	switch s := strings.ToLower(arg); s {
	case "init", "backup", "master":
		return s, nil
	}
	return "", fmt.Errorf("state %s: unknown state (init, backup or master)", arg)
}

func balancingCheck(arg string) (string, error) {
	switch s := strings.ToLower(arg); s {
	case "none":
		return s, nil
	case "ip", "ip-stealth", "ip-unicast", "arp":
		return "", fmt.Errorf("balancing %s: load balancing is not supported on Linux", arg)
	}
	return "", fmt.Errorf("balancing %s: unknown mode", arg)
}

var macRE = regexp.MustCompile(`^([0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}$`)

func lladdrCheck(arg string) (string, error) {
	if !macRE.MatchString(arg) {
		return "", fmt.Errorf("lladdr %s: invalid link-layer address", arg)
	}
	return strings.ToLower(arg), nil
}

var groupRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,14}$`)

func groupCheck(arg string) (string, error) {
	// ifconfig(8): group names may not end in a digit, so that they can
	// never be mistaken for an interface name.
	if !groupRE.MatchString(arg) || strings.IndexAny(arg[len(arg)-1:], "0123456789") == 0 {
		return "", fmt.Errorf("group %s: invalid group name", arg)
	}
	return arg, nil
}
