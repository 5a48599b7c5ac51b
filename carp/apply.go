package carp

import (
	"fmt"
	"slices"
	"strconv"
)

// Outcome is what applying a Request yields: the new configuration and the
// one-shot actions that are not part of it.
type Outcome struct {
	Config     Config
	ForceState string // "backup" or "master" from "state ..."; "" if none
	Destroy    bool
}

// Apply applies r to c in ifconfig(8)'s order (keywords as given, then
// addresses) and returns the result; c is not modified. carpdevExists
// checks a carpdev name against the host. On error nothing is applied.
func Apply(c Config, r Request, carpdevExists func(string) error) (Outcome, error) {
	out := Outcome{Config: c.Clone()}
	n := &out.Config
	for _, s := range r.Settings {
		switch s.Keyword {
		case "create", "balancing":
		case "destroy":
			out.Destroy = true
		case "up":
			n.Up = true
		case "down":
			n.Up = false
		case "vhid":
			n.VHID, _ = strconv.Atoi(s.Arg)
		case "advbase":
			n.AdvBase, _ = strconv.Atoi(s.Arg)
		case "advskew":
			n.AdvSkew, _ = strconv.Atoi(s.Arg)
		case "pass":
			n.Pass = s.Arg
		case "carpdev":
			if carpdevExists != nil {
				if err := carpdevExists(s.Arg); err != nil {
					return Outcome{}, fmt.Errorf("carpdev %s: %w", s.Arg, err)
				}
			}
			n.CarpDev = s.Arg
		case "carppeer":
			n.Peer = mustAddr(s.Arg)
		case "-carppeer":
			n.Peer = DefaultPeer
		case "state":
			if s.Arg != "init" { // ifconfig: init is a no-op
				out.ForceState = s.Arg
			}
		case "lladdr":
			n.LLAddr = s.Arg
		case "description":
			n.Description = s.Arg
		case "-description":
			n.Description = ""
		case "group":
			if !slices.Contains(n.Groups, s.Arg) {
				n.Groups = append(n.Groups, s.Arg)
			}
		case "-group":
			n.Groups = slices.DeleteFunc(n.Groups, func(g string) bool { return g == s.Arg })
		default:
			return Outcome{}, fmt.Errorf("%s: unknown keyword", s.Keyword)
		}
	}
	for _, a := range r.Addrs {
		if err := applyAddr(n, a); err != nil {
			return Outcome{}, err
		}
		// Like ifconfig(8), setting an address marks the interface up.
		if a.Mode != AddrDelete {
			n.Up = true
		}
	}
	return out, nil
}

// applyAddr changes the address list as SIOCAIFADDR/SIOCDIFADDR would.
func applyAddr(n *Config, op AddrOp) error {
	p := op.Address.Prefix
	fam := "inet"
	if p.Addr().Is6() {
		fam = "inet6"
	}
	if n.CarpDev == "" && op.Mode != AddrDelete {
		// The kernel refuses addresses on a carp interface without a
		// carpdev (EINVAL); hostname.if files set it on an earlier line.
		return fmt.Errorf("%s %s: carpdev must be set before an address", fam, p)
	}
	i := slices.IndexFunc(n.Addrs, func(a Address) bool { return a.Prefix.Addr() == p.Addr() })
	switch op.Mode {
	case AddrDelete:
		if i < 0 {
			return fmt.Errorf("%s %s: can't assign requested address", fam, p.Addr())
		}
		n.Addrs = slices.Delete(n.Addrs, i, i+1)
	case AddrAlias:
		if i >= 0 {
			n.Addrs[i] = op.Address
		} else {
			n.Addrs = append(n.Addrs, op.Address)
		}
	case AddrSet:
		// Without alias, inet replaces the interface's first IPv4 address.
		if i >= 0 {
			n.Addrs[i] = op.Address
			break
		}
		first := slices.IndexFunc(n.Addrs, func(a Address) bool { return a.Prefix.Addr().Is4() })
		if first >= 0 {
			n.Addrs[first] = op.Address
		} else {
			n.Addrs = append(n.Addrs, op.Address)
		}
	}
	return nil
}
