package pfsync

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Outcome is what applying a Request yields.
type Outcome struct {
	Config  Config
	Destroy bool
}

// Apply applies r to c in command-line order and returns the result; c is
// not modified. linkExists checks a syncdev name against the host. As in
// OpenBSD's rewritten pfsync(4), syncdev and syncpeer cannot change while
// the interface is up (EBUSY), and up needs a syncdev (ENXIO). "up" takes
// effect after the other words, so hostname.pfsync0's "up syncif em2" and
// "down syncpeer 10.0.0.2 up" both work in one line.
func Apply(c Config, r Request, linkExists func(string) error) (Outcome, error) {
	out := Outcome{Config: c}
	n := &out.Config
	n.Groups = append([]string(nil), c.Groups...)
	up := false
	for _, s := range r.Settings {
		switch s.Keyword {
		case "create":
		case "destroy":
			out.Destroy = true
		case "up":
			up = true
		case "down":
			n.Up, up = false, false
		case "syncdev":
			if n.Up {
				return Outcome{}, fmt.Errorf("syncdev %s: device busy (bring %s down first)", s.Arg, n.Name)
			}
			if linkExists != nil {
				if err := linkExists(s.Arg); err != nil {
					return Outcome{}, fmt.Errorf("syncdev %s: %w", s.Arg, err)
				}
			}
			n.SyncDev = s.Arg
		case "-syncdev":
			if n.Up {
				return Outcome{}, fmt.Errorf("-syncdev: device busy (bring %s down first)", n.Name)
			}
			n.SyncDev = ""
		case "syncpeer", "-syncpeer":
			if n.Up {
				return Outcome{}, fmt.Errorf("%s: device busy (bring %s down first)", s.Keyword, n.Name)
			}
			n.Peer = DefaultPeer
			if s.Keyword == "syncpeer" {
				n.Peer = netip.MustParseAddr(s.Arg)
			}
		case "maxupd":
			n.MaxUpd, _ = strconv.Atoi(s.Arg)
		case "defer":
			n.Defer = true
		case "-defer":
			n.Defer = false
		default:
			return Outcome{}, fmt.Errorf("%s: unknown keyword", s.Keyword)
		}
	}
	n.Up = n.Up || up
	if n.Up && n.SyncDev == "" && !out.Destroy {
		return Outcome{}, fmt.Errorf("up: syncdev must be set first")
	}
	return out, nil
}
