package parser

import (
	"crypto/md5"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"

	"carpfw/rules"
)

// redirSpec resolves a translation target: one host (with weight) or a
// list of plain addresses.
func (p *parser) redirSpec(rs *RedirSpec, file string) ([]hostNode, bool) {
	one := func(rh *RedirHost, list bool) ([]hostNode, bool) {
		h, ok := p.hostOf(rh.Host, file)
		if !ok {
			return nil, false
		}
		if list && len(h) > 0 && h[0].addr.Type != rules.AddrMask {
			p.errorAt(file, rh.Pos.Line, "only addresses can be listed for redirection pools ")
			return nil, false
		}
		if rh.Weight != nil {
			if *rh.Weight < 1 || *rh.Weight > 65535 {
				p.errorAt(file, rh.Pos.Line, "weight out of range")
				return nil, false
			}
			for i := range h {
				h[i].weight = int(*rh.Weight)
			}
		}
		return h, true
	}
	if rs.Host != nil {
		return one(rs.Host, false)
	}
	var out []hostNode
	for i, rh := range rs.List {
		h, ok := one(rh, i == 0)
		if !ok {
			return nil, false
		}
		out = append(out, h...)
	}
	return out, true
}

func (p *parser) redirPool(rp *RedirPool, file string) (*redirection, poolOpts, bool) {
	hosts, ok := p.redirSpec(rp.Spec, file)
	if !ok {
		return nil, poolOpts{}, false
	}
	rd := &redirection{hosts: hosts}
	if rp.Port != nil {
		r, ok := p.parsePort(*rp.Port, pportRange|pportStar, file, rp.Pos.Line)
		if !ok {
			return nil, poolOpts{}, false
		}
		rd.rport = r
	}
	po, ok := p.poolOpts(rp.Opts, file)
	return rd, po, ok
}

func (p *parser) poolOpts(opts []*PoolOpt, file string) (poolOpts, bool) {
	var po poolOpts
	for _, o := range opts {
		fail := func(msg string) (poolOpts, bool) { p.errorAt(file, o.Pos.Line, msg); return po, false }
		switch {
		case o.Type != "" || o.SrcHash:
			var key *[4]uint32
			if o.SrcHash {
				k, ok := p.hashKey(o.Key, file, o.Pos.Line)
				if !ok {
					return po, false
				}
				key = k
			}
			if po.typ != 0 {
				return fail("pool type cannot be redefined")
			}
			switch o.Type {
			case "bitmask":
				po.typ = rules.PoolBitmask
			case "random":
				po.typ = rules.PoolRandom
			case "round-robin":
				po.typ = rules.PoolRoundRobin
			case "least-states":
				po.typ = rules.PoolLeastStates
			default:
				po.typ = rules.PoolSrcHash
				po.key = key
			}
		case o.Static:
			if po.staticPort {
				return fail("static-port cannot be redefined")
			}
			po.staticPort = true
		case o.Sticky:
			if po.sticky {
				return fail("sticky-address cannot be redefined")
			}
			po.sticky = true
		}
	}
	return po, true
}

// hashKey is a source-hash key: 0x and 32 hex digits, or a string whose
// MD5 digest is the key, or random when absent.
func (p *parser) hashKey(words []string, file string, line int) (*[4]uint32, bool) {
	var k [4]uint32
	if len(words) == 0 {
		for i := range k {
			k[i] = rand.Uint32()
		}
		return &k, true
	}
	s := strings.Join(words, " ")
	if strings.HasPrefix(s, "0x") {
		if len(s) != 34 {
			p.errorAt(file, line, "hex key must be 128 bits (32 hex digits) long")
			return nil, false
		}
		for i := range k {
			v, err := strconv.ParseUint(s[2+8*i:10+8*i], 16, 32)
			if err != nil {
				p.errorAt(file, line, "invalid hex key")
				return nil, false
			}
			k[i] = uint32(v)
		}
		return &k, true
	}
	sum := md5.Sum([]byte(s))
	for i := range k {
		k[i] = binary.BigEndian.Uint32(sum[4*i:])
	}
	return &k, true
}
