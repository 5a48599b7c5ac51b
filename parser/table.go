package parser

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"carpfw/rules"
)

// tableDef is the tabledef action: check the initialisers, load the
// files and print the definition with -v (process_tabledef).
func (p *parser) tableDef(t *TableDef, s stmt) {
	file, line := s.file, s.endLine
	if len(t.Name) >= 32 {
		p.errorAt(file, line, "table name too long, max 31 chars")
		return
	}
	tbl := &rules.Table{Name: t.Name}
	for _, o := range t.Opts {
		oline := o.Pos.Line
		switch {
		case o.Word != nil:
			switch *o.Word {
			case "const":
				tbl.Flags |= rules.TableConst
			case "persist":
				tbl.Flags |= rules.TablePersist
			case "counters":
				tbl.Flags |= rules.TableCounters
			default:
				p.errorAt(file, oline, fmt.Sprintf("invalid table option '%s'", *o.Word))
				return
			}
		case o.Empty:
			tbl.InitAddr = true
		case o.List != nil:
			hosts, ok := p.tableHosts(o.List, file)
			if !ok {
				return
			}
			for _, h := range hosts {
				var msg string
				switch h.addr.Type {
				case rules.AddrMask:
					continue
				case rules.AddrRange:
					msg = "address ranges are not permitted inside tables"
				case rules.AddrDynIfTL:
					msg = "dynamic addresses are not permitted inside tables"
				case rules.AddrTable:
					msg = "tables cannot contain tables"
				case rules.AddrNoRoute:
					msg = "\"no-route\" is not permitted inside tables"
				case rules.AddrURPFFailed:
					msg = "\"urpf-failed\" is not permitted inside tables"
				default:
					msg = fmt.Sprintf("unknown address type %d", h.addr.Type)
				}
				p.errorAt(file, oline, msg)
				return
			}
			ti := rules.TableInit{}
			for _, h := range hosts {
				ti.Hosts = append(ti.Hosts, rules.TableHost{Not: h.not, AF: h.af, Addr: h.addr})
			}
			tbl.Inits = append(tbl.Inits, ti)
			tbl.InitAddr = true
		case o.File != nil:
			tbl.Inits = append(tbl.Inits, rules.TableInit{File: *o.File})
			tbl.InitAddr = true
		}
	}
	for _, ti := range tbl.Inits {
		if ti.File == "" {
			continue
		}
		if !p.loadTableFile(ti.File, file, line) {
			return
		}
	}
	if p.verbose() {
		var w strings.Builder
		rules.PrintTable(&w, tbl)
		p.stdout(w.String())
	}
	p.res.Tables = append(p.res.Tables, tbl)
}

func (p *parser) tableHosts(list []*TableSpec, file string) ([]hostNode, bool) {
	var out []hostNode
	for _, ts := range list {
		if ts.List != nil {
			h, ok := p.tableHosts(ts.List, file)
			if !ok {
				return nil, false
			}
			out = append(out, h...)
			continue
		}
		h, ok := p.xhost(ts.Host, file)
		if !ok {
			return nil, false
		}
		if ts.Weight != nil {
			if *ts.Weight < 1 || *ts.Weight > 65535 {
				p.errorAt(file, ts.Pos.Line, "weight out of range")
				return nil, false
			}
			for i := range h {
				h[i].weight = int(*ts.Weight)
			}
		}
		out = append(out, h...)
	}
	return out, true
}

// loadTableFile reads a table file: addresses separated by blanks, with #
// comments (pfr_buf_load).
func (p *parser) loadTableFile(name, file string, line int) bool {
	var data []byte
	var err error
	if name == "-" {
		err = nil
	} else {
		data, err = p.cfg.ReadFile(name)
	}
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			if errno, ok := pe.Err.(syscall.Errno); ok {
				msg = errnoText(errno)
			}
		}
		p.errorAt(file, line, fmt.Sprintf("cannot load \"%s\": %s", name, msg))
		return false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		for _, w := range strings.Fields(l) {
			w = strings.TrimLeft(w, "!")
			if w == "weight" {
				continue
			}
			if p.host(w) == nil {
				p.errorAt(file, line, fmt.Sprintf("file \"%s\" contains bad data", name))
				return false
			}
		}
	}
	return true
}

// errnoText is strerror as OpenBSD words it.
func errnoText(e syscall.Errno) string {
	switch e {
	case syscall.ENOENT:
		return "No such file or directory"
	case syscall.EACCES:
		return "Permission denied"
	case syscall.EISDIR:
		return "Is a directory"
	case syscall.ENOTDIR:
		return "Not a directory"
	}
	s := e.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
