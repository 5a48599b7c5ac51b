package rules

import (
	"fmt"
	"net/netip"
	"strings"
)

// Text renders the program in nft(8) syntax, as "nft -f" reads it: one
// "table inet pfconf" block (nft creates a block's chains before its
// sets, elements and rules, so forward references are fine). This is
// what pfconf --print-nft prints.
func (p *Program) Text() string {
	var w strings.Builder
	w.Grow(256 * (len(p.Chains) + len(p.Sets)))
	fmt.Fprintf(&w, "table inet %s {\n", TableName)
	for _, n := range p.Counters {
		fmt.Fprintf(&w, "\tcounter %s {\n\t}\n", n)
	}
	for _, s := range p.Sets {
		if !s.Anonymous {
			s.text(&w)
		}
	}
	for _, ch := range p.Chains {
		fmt.Fprintf(&w, "\tchain %s {\n", ch.Name)
		if h := ch.Hook; h != nil {
			fmt.Fprintf(&w, "\t\ttype %s hook %s priority %d; policy accept;\n", h.Type, h.Name, h.Priority)
		}
		for _, r := range ch.Rules {
			w.WriteString("\t\t")
			w.WriteString(r.Text())
			w.WriteString("\n")
		}
		w.WriteString("\t}\n")
	}
	w.WriteString("}\n")
	return w.String()
}

// Text renders one rule: its statements, then its comment.
func (r *NRule) Text() string {
	parts := make([]string, 0, len(r.Stmts)+1)
	for _, s := range r.Stmts {
		parts = append(parts, s.Text)
	}
	if r.Comment != "" {
		parts = append(parts, fmt.Sprintf("comment %q", CommentText(r.Comment)))
	}
	return strings.Join(parts, " ")
}

// CommentText is a rule comment as stored (nft userdata, at most 128
// bytes here, without double quotes).
func CommentText(s string) string {
	s = strings.ReplaceAll(s, "\"", "'")
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

func (s *Set) text(w *strings.Builder) {
	kind := "set"
	if s.Map {
		kind = "map"
	}
	fmt.Fprintf(w, "\t%s %s {\n", kind, s.Name)
	switch {
	case s.Map:
		w.WriteString("\t\ttype mark : verdict\n")
	case s.Key == KeyIPv6:
		w.WriteString("\t\ttype ipv6_addr\n")
	case s.Key == KeyIPv4:
		w.WriteString("\t\ttype ipv4_addr\n")
	default:
		w.WriteString("\t\ttype mark\n")
	}
	if s.Size > 0 {
		fmt.Fprintf(w, "\t\tsize %d\n", s.Size)
	}
	var flags []string
	if s.Const {
		flags = append(flags, "constant")
	}
	if s.Interval {
		flags = append(flags, "interval")
	}
	if s.Eval {
		flags = append(flags, "dynamic")
	}
	if s.Timeout > 0 {
		flags = append(flags, "timeout")
	}
	if len(flags) > 0 {
		fmt.Fprintf(w, "\t\tflags %s\n", strings.Join(flags, ","))
	}
	if s.Timeout > 0 {
		fmt.Fprintf(w, "\t\ttimeout %ds\n", int(s.Timeout.Seconds()))
	}
	if len(s.Elems) > 0 {
		w.WriteString("\t\telements = { ")
		for i, e := range s.Elems {
			if i > 0 {
				w.WriteString(", ")
			}
			w.WriteString(s.elemText(e))
		}
		w.WriteString(" }\n")
	}
	w.WriteString("\t}\n")
}

// elemText renders an element: an address, an inclusive range, or a
// mark and its verdict.
func (s *Set) elemText(e Elem) string {
	if s.Map {
		return fmt.Sprintf("0x%08x : goto %s", nativeU32(e.Key), e.Goto)
	}
	if s.Key == KeyMark {
		return fmt.Sprintf("0x%08x", nativeU32(e.Key))
	}
	from, _ := netip.AddrFromSlice(e.Key)
	var last netip.Addr
	if e.End == nil {
		b := make([]byte, len(e.Key))
		for i := range b {
			b[i] = 0xff
		}
		last, _ = netip.AddrFromSlice(b)
	} else {
		end, _ := netip.AddrFromSlice(e.End)
		last = end.Prev()
	}
	if !s.Interval || from == last {
		return from.String()
	}
	return from.String() + "-" + last.String()
}

func nativeU32(b []byte) uint32 {
	var v uint32
	for i := 3; i >= 0; i-- {
		v = v<<8 | uint32(b[i])
	}
	if string(ne32(1)) != string([]byte{1, 0, 0, 0}) {
		v = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return v
}
