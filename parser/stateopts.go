package parser

import (
	"fmt"
	"math"

	"carpfw/rules"
)

// checkStateOpts runs the checks pfctl makes while reading state options
// (state_opt_item in parse.y).
func (p *parser) checkStateOpts(opts []*StateOpt, file string) bool {
	for _, o := range opts {
		fail := func(msg string) bool { p.errorAt(file, o.Pos.Line, msg); return false }
		for _, v := range []*int64{o.Max, o.MaxSrcStates, o.MaxSrcConn, o.MaxSrcNodes} {
			if v != nil && (*v < 0 || *v > math.MaxUint32) {
				return fail("only positive values permitted")
			}
		}
		for _, v := range o.ConnRate {
			if v < 0 || v > math.MaxUint32 {
				return fail("only positive values permitted")
			}
		}
		if o.Overload != nil && len(*o.Overload) >= 32 {
			return fail(fmt.Sprintf("table name '%s' too long", *o.Overload))
		}
		if o.TimeoutName != nil {
			if o.TimeoutValue < 0 || o.TimeoutValue > math.MaxUint32 {
				return fail("only positive values permitted")
			}
			i := rules.TimeoutIndex(*o.TimeoutName)
			if i < 0 {
				return fail("illegal timeout name " + *o.TimeoutName)
			}
			if !containsDot(*o.TimeoutName) {
				return fail("illegal state timeout " + *o.TimeoutName)
			}
		}
	}
	return true
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

func (p *parser) blockSpec(r *rules.Rule, b *BlockSpec, file string, line int) bool {
	def4 := uint16(icmpUnreach<<8 | icmpUnreachPort)
	def6 := uint16(icmp6DstUnreach<<8 | icmp6UnreachNoPort)
	if b == nil {
		if p.blockPolicy == rules.FlagReturn {
			r.RuleFlag |= rules.FlagReturn
			r.ReturnICMP, r.ReturnICMP6 = def4, def6
		}
		return true
	}
	switch {
	case b.Drop:
	case b.ReturnRST != nil:
		r.RuleFlag |= rules.FlagReturnRST
		if b.ReturnRST.TTL != nil {
			if *b.ReturnRST.TTL < 0 || *b.ReturnRST.TTL > 255 {
				p.errorAt(file, line, fmt.Sprintf("illegal ttl value %d", *b.ReturnRST.TTL))
				return false
			}
			r.ReturnTTL = int(*b.ReturnRST.TTL)
		}
	case b.ReturnICMP != nil && b.ReturnICMP.Keyword == "return-icmp6":
		b.ReturnICMP6, b.ReturnICMP = b.ReturnICMP, nil
		fallthrough
	case b.ReturnICMP != nil || b.ReturnICMP6 != nil:
		r.RuleFlag |= rules.FlagReturnICMP
		r.ReturnICMP, r.ReturnICMP6 = def4, def6
		if b.ReturnICMP != nil && len(b.ReturnICMP.Codes) > 0 {
			c, ok := p.retICMP(b.ReturnICMP.Codes[0], rules.AFInet, file, line)
			if !ok {
				return false
			}
			r.ReturnICMP = c
			if len(b.ReturnICMP.Codes) > 1 {
				c6, ok := p.retICMP(b.ReturnICMP.Codes[1], rules.AFInet6, file, line)
				if !ok {
					return false
				}
				r.ReturnICMP6 = c6
			} else {
				r.ReturnICMP6 = def4
			}
		}
		if b.ReturnICMP6 != nil && len(b.ReturnICMP6.Codes) > 0 {
			if len(b.ReturnICMP6.Codes) > 1 {
				p.errorAt(file, line, "syntax error")
				return false
			}
			c6, ok := p.retICMP(b.ReturnICMP6.Codes[0], rules.AFInet6, file, line)
			if !ok {
				return false
			}
			r.ReturnICMP6 = c6
		}
	case b.Return:
		r.RuleFlag |= rules.FlagReturn
		r.ReturnICMP, r.ReturnICMP6 = def4, def6
	}
	return true
}

func (p *parser) retICMP(c *NumStr, af int, file string, line int) (uint16, bool) {
	t := icmpUnreach
	if af == rules.AFInet6 {
		t = icmp6DstUnreach
	}
	var v uint64
	if c.Num != nil {
		if *c.Num < 0 || *c.Num > 255 {
			p.errorAt(file, line, fmt.Sprintf("invalid icmp code %d", *c.Num))
			return 0, false
		}
		v = uint64(*c.Num)
	} else if u, ok := atoul(*c.Str); ok {
		v = u
	} else {
		code, ok := rules.ICMPCodeByName(t, *c.Str, af)
		if !ok {
			p.errorAt(file, line, "unknown icmp code "+*c.Str)
			return 0, false
		}
		v = uint64(code)
	}
	if v > 255 {
		p.errorAt(file, line, fmt.Sprintf("invalid icmp code %d", v))
		return 0, false
	}
	return uint16(t<<8) | uint16(v), true
}

func (p *parser) logQuick(r *rules.Rule, lq *LogQuick, file string, line int) bool {
	if lq == nil {
		return true
	}
	r.Quick = lq.Quick || lq.Quick2
	l := lq.Log1
	if l == nil {
		l = lq.Log2
	}
	if l == nil {
		return true
	}
	r.Log = rules.LogOn
	for _, o := range l.Opts {
		switch o.Word {
		case "all":
			r.Log |= rules.LogAll
		case "matches":
			r.Log |= rules.LogMatches
		case "user":
			r.Log |= rules.LogUser
		default:
			name := joinWords(o.To)
			if len(name) < 5 || name[:5] != "pflog" {
				p.errorAt(file, line, name+": should be a pflog interface")
				return false
			}
			var n int
			if _, err := fmt.Sscanf(name[5:], "%d", &n); err != nil || fmt.Sprint(n) != name[5:] || n < 0 || n > 255 {
				why := "invalid"
				if err == nil && n > 255 {
					why = "too large"
				}
				p.errorAt(file, line, name+": "+why)
				return false
			}
			r.LogIf = uint8(n)
		}
	}
	return true
}

func joinWords(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}
