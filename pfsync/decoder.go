package pfsync

import (
	"bytes"
	"fmt"
	"slices"
)

// Decoder parses frames as ParsePacket does, keeping its memory from one
// frame to the next: the Packet and the records Parse returns are valid
// until the next Parse. The worker decodes every received frame with
// one, so that, once its buffers have grown, decoding a frame of states,
// compressed updates or deletions allocates nothing: after an idle spell
// each allocation touches cold memory, on the way of a peer's new state
// into the kernel (docs/pfsync.md §9).
type Decoder struct {
	p        Packet
	sections []Section
	records  []Record
	states   []State
	updcs    []UpdC
	delcs    []DelC
}

// Parse parses b with ParsePacket's rules and errors.
func (d *Decoder) Parse(b []byte) (*Packet, error) {
	var h Header
	if err := h.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %d bytes", err, len(b))
	}
	if h.Version != Version {
		return nil, fmt.Errorf("%w %d", ErrBadVersion, h.Version)
	}
	if int(h.Len) > len(b) || h.Len < HeaderLen {
		return nil, fmt.Errorf("%w: header len %d, packet %d bytes", ErrBadLength, h.Len, len(b))
	}
	clear(d.sections) // drop the last frame's references
	d.p = Packet{Checksum: h.Checksum}
	d.sections = d.sections[:0]
	d.records, d.states, d.updcs, d.delcs = d.records[:0], d.states[:0], d.updcs[:0], d.delcs[:0]
	p := &d.p
	b = b[HeaderLen:h.Len]
	for off := HeaderLen; len(b) >= SubheaderLen; {
		var sh Subheader
		_ = sh.UnmarshalBinary(b)
		b = b[SubheaderLen:]
		s, err := d.section(sh, b)
		if err != nil {
			p.Sections = d.frameSections()
			return p, fmt.Errorf("%w (section %d %v at offset %d)", err, len(d.sections), sh.Action, off)
		}
		n := int(sh.Len) * 4 * int(sh.Count) // at most 1020 × 65535
		b = b[n:]
		off += SubheaderLen + n
		d.sections = append(d.sections, s)
	}
	p.Sections = d.frameSections()
	return p, nil
}

// frameSections is the sections parsed so far, nil if none (as
// ParsePacket gives them).
func (d *Decoder) frameSections() []Section {
	if len(d.sections) == 0 {
		return nil
	}
	return d.sections
}

// section decodes the records of sh from b, which holds the rest of the
// packet after the subheader.
func (d *Decoder) section(sh Subheader, b []byte) (Section, error) {
	mlen, count := int(sh.Len)*4, int(sh.Count)
	if checked(sh.Action, mlen) && (count == 0 || mlen == 0) {
		return Section{}, fmt.Errorf("%w: count %d len %d", ErrBadAction, count, sh.Len)
	}
	if mlen*count > len(b) {
		return Section{}, fmt.Errorf("%w: %d × %d bytes, %d left", ErrBadLength, count, mlen, len(b))
	}
	if !decodes(sh.Action, mlen) {
		raw := &Raw{Len: sh.Len, Count: sh.Count, Data: bytes.Clone(b[:mlen*count])}
		return Section{Action: sh.Action, Raw: raw}, nil
	}
	s := Section{Action: sh.Action}
	if count == 0 {
		return s, nil
	}
	s.Records = grow(&d.records, count)
	// The records of the common actions come from the decoder's typed
	// buffers, a section's from one growth of them at most.
	var states []State
	var updcs []UpdC
	var delcs []DelC
	switch {
	case sh.Action.RecordLen() == StateLen: // INS, UPD, DEL
		states = grow(&d.states, count)
	case sh.Action == ActionUpdC:
		updcs = grow(&d.updcs, count)
	case sh.Action == ActionDelC:
		delcs = grow(&d.delcs, count)
	}
	for i := range count {
		var r Record
		switch {
		case states != nil:
			r = &states[i]
		case updcs != nil:
			r = &updcs[i]
		case delcs != nil:
			r = &delcs[i]
		default:
			r = newRecord(sh.Action)
		}
		if err := r.UnmarshalBinary(b[i*mlen : (i+1)*mlen]); err != nil {
			return Section{}, err // cannot happen: mlen ≥ RecordLen
		}
		s.Records[i] = r
	}
	return s, nil
}

// grow extends *buf by n zero elements and returns them. Elements
// handed out before stay valid: a growth moves later ones to a new
// array and leaves the old one to whoever still refers to it.
func grow[T any](buf *[]T, n int) []T {
	b := slices.Grow(*buf, n)
	start := len(b)
	b = b[:start+n]
	clear(b[start:])
	*buf = b
	return b[start : start+n : start+n]
}
