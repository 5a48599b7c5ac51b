package pfsync

import (
	"encoding"
	"errors"
	"fmt"
)

// A pfsync frame (sys/net/if_pfsync.h, reference §1.2) is the payload of
// an IPv4 packet with protocol 240 and TTL 255: a header, then sections,
// each a subheader followed by count records of len 4-byte words.
//
//	+============================+
//	| pfsync_header      (20)    |
//	+----------------------------+
//	| pfsync_subheader    (4)    |
//	+----------------------------+
//	| record × count (len×4 each)|
//	+----------------------------+
//	| pfsync_subheader    (4)    |
//	| ...                        |
//	+============================+
//
// There is no trailer; the EOF section is deprecated and not sent.

// Constants of the transport and the frame (reference §1.1, §1.3).
const (
	Version      = 6   // PFSYNC_VERSION
	IPProto      = 240 // IPPROTO_PFSYNC
	TTL          = 255 // PFSYNC_DFLTTL; receivers drop any other TTL
	HeaderLen    = 20  // struct pfsync_header
	SubheaderLen = 4   // struct pfsync_subheader
)

// Errors of the codec. Each matches one of OpenBSD's pfsyncstats
// counters where there is one, so a receiver can count like netstat -s
// -p pfsync does; errors.Is finds them through the added detail.
var (
	ErrShortPacket = errors.New("pfsync: packet shorter than header") // pfsyncs_hdrops
	ErrBadVersion  = errors.New("pfsync: bad version")                // pfsyncs_badver
	ErrBadLength   = errors.New("pfsync: bad length")                 // pfsyncs_badlen
	ErrBadAction   = errors.New("pfsync: bad action")                 // pfsyncs_badact
	ErrShortRecord = errors.New("pfsync: record too short")
	ErrBadRecord   = errors.New("pfsync: record does not fit its section")
	ErrBadIfname   = errors.New("pfsync: bad interface name")
	ErrTooLong     = errors.New("pfsync: packet too long")
)

// Header is struct pfsync_header (20 bytes):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+---------------+---------------+-------------------------------+
//	|    version    |      pad      |              len              |
//	+---------------+---------------+-------------------------------+
//	|                         pfcksum (16)                          |
//	+---------------------------------------------------------------+
//
// Len counts bytes from the start of the header to the end of the last
// section. Current OpenBSD sends Checksum as zeros and never checks it.
type Header struct {
	Version  uint8
	Len      uint16
	Checksum [16]byte
}

// MarshalBinary encodes h as it is; Packet.MarshalBinary fills it in.
func (h *Header) MarshalBinary() ([]byte, error) {
	b := append(make([]byte, 0, HeaderLen), h.Version, 0)
	b = beOrder.AppendUint16(b, h.Len)
	return append(b, h.Checksum[:]...), nil
}

// UnmarshalBinary decodes the first 20 bytes of b without judging them;
// ParsePacket checks the version and length.
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) < HeaderLen {
		return ErrShortPacket
	}
	*h = Header{Version: b[0], Len: beOrder.Uint16(b[2:4]), Checksum: [16]byte(b[4:20])}
	return nil
}

// Subheader is struct pfsync_subheader (4 bytes):
//
//	+---------------+---------------+-------------------------------+
//	|    action     |      len      |             count             |
//	+---------------+---------------+-------------------------------+
//
// Len is the size of one record in 4-byte words (66 for a pfsync_state).
type Subheader struct {
	Action Action
	Len    uint8
	Count  uint16
}

// MarshalBinary encodes s.
func (s *Subheader) MarshalBinary() ([]byte, error) {
	return beOrder.AppendUint16([]byte{byte(s.Action), s.Len}, s.Count), nil
}

// UnmarshalBinary decodes the first 4 bytes of b.
func (s *Subheader) UnmarshalBinary(b []byte) error {
	if len(b) < SubheaderLen {
		return ErrShortRecord
	}
	*s = Subheader{Action: Action(b[0]), Len: b[1], Count: beOrder.Uint16(b[2:4])}
	return nil
}

// Record is one record of a section: *State, *Clr, *InsAck, *UpdC,
// *UpdReq, *DelC, *Bus, *TDB or *LinuxExt, as Action.RecordLen and the
// action constants say. Only this package implements it.
type Record interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
	size() int
	appendTo(b []byte) ([]byte, error)
}

// Section is a subheader and its records. A section this package does
// not decode (a deprecated or unknown action, or records shorter than
// the action's struct) is kept whole in Raw, and Records is nil:
// OpenBSD skips such sections by len × count.
type Section struct {
	Action  Action
	Records []Record
	Raw     *Raw
}

// Raw is the undecoded body of a skipped section: Count records of Len
// words each, in Data.
type Raw struct {
	Len   uint8
	Count uint16
	Data  []byte
}

// Packet is a pfsync frame: the header's checksum and the ordered
// sections. Version and length are not kept: MarshalBinary writes
// Version and the actual length, and ParsePacket checks them.
type Packet struct {
	Checksum [16]byte // pfcksum; zeros from current OpenBSD
	Sections []Section
}

// MarshalBinary encodes p. Each section gets the exact record size of
// its action as len; a section whose records do not match its action is
// ErrBadRecord, and a section OpenBSD would reject as a bad action
// (unknown action with no records or zero len) is ErrBadAction.
func (p *Packet) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, p.sizeHint()))
}

// AppendBinary appends the encoding of p to b, as MarshalBinary makes it
// (encoding.BinaryAppender), so a sender can reuse one buffer.
func (p *Packet) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, HeaderLen)...)
	for i := range p.Sections {
		var err error
		if b, err = p.Sections[i].appendTo(b); err != nil {
			return nil, fmt.Errorf("%w (section %d %v)", err, i, p.Sections[i].Action)
		}
	}
	n := len(b) - start
	if n > 0xffff {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLong, n)
	}
	h := Header{Version: Version, Len: uint16(n), Checksum: p.Checksum}
	hb, _ := h.MarshalBinary()
	copy(b[start:], hb)
	return b, nil
}

func (p *Packet) sizeHint() int {
	n := HeaderLen
	for _, s := range p.Sections {
		n += SubheaderLen + len(s.Records)*s.Action.RecordLen()
		if s.Raw != nil {
			n += len(s.Raw.Data)
		}
	}
	return n
}

func (s *Section) appendTo(b []byte) ([]byte, error) {
	if s.Raw != nil {
		return s.appendRaw(b)
	}
	size := s.Action.RecordLen()
	if len(s.Records) > 0xffff {
		return nil, fmt.Errorf("%w: %d records", ErrTooLong, len(s.Records))
	}
	if size == 0 && len(s.Records) > 0 {
		return nil, fmt.Errorf("%w: %v has no record type, use Raw", ErrBadRecord, s.Action)
	}
	if s.Action >= ActionMax && len(s.Records) == 0 {
		return nil, fmt.Errorf("%w: no records", ErrBadAction) // OpenBSD would stop here
	}
	sh := Subheader{Action: s.Action, Len: uint8(size / 4), Count: uint16(len(s.Records))}
	hb, _ := sh.MarshalBinary()
	b = append(b, hb...)
	for j, r := range s.Records {
		if r == nil || !fits(s.Action, r) {
			return nil, fmt.Errorf("%w: record %d is %T", ErrBadRecord, j, r)
		}
		var err error
		if b, err = r.appendTo(b); err != nil {
			return nil, fmt.Errorf("%w, record %d", err, j)
		}
	}
	return b, nil
}

func (s *Section) appendRaw(b []byte) ([]byte, error) {
	r := s.Raw
	mlen := int(r.Len) * 4
	switch {
	case len(s.Records) > 0:
		return nil, fmt.Errorf("%w: both records and raw data", ErrBadRecord)
	case decodes(s.Action, mlen):
		return nil, fmt.Errorf("%w: raw %v records of %d bytes would decode", ErrBadRecord, s.Action, mlen)
	case len(r.Data) != mlen*int(r.Count):
		return nil, fmt.Errorf("%w: %d raw bytes for %d × %d", ErrBadRecord, len(r.Data), r.Count, mlen)
	case checked(s.Action, mlen) && (r.Count == 0 || mlen == 0):
		return nil, fmt.Errorf("%w: count %d len %d", ErrBadAction, r.Count, r.Len)
	}
	hb, _ := (&Subheader{Action: s.Action, Len: r.Len, Count: r.Count}).MarshalBinary()
	return append(append(b, hb...), r.Data...), nil
}

// checked reports whether OpenBSD takes its skip branch for a section of
// action a with records of mlen bytes, where count 0 or len 0 abandons
// the packet (if_pfsync.c pfsync_input, reference §1.4 rule 2). Actions
// below ActionMax without a handler are skipped without that check.
func checked(a Action, mlen int) bool {
	return a >= ActionMax || mlen < a.RecordLen()
}

// decodes reports whether this package decodes records of mlen bytes
// for action a.
func decodes(a Action, mlen int) bool {
	n := a.RecordLen()
	return n > 0 && mlen >= n
}

// UnmarshalBinary parses b as ParsePacket does, but leaves p untouched
// when b is not a valid packet.
func (p *Packet) UnmarshalBinary(b []byte) error {
	q, err := ParsePacket(b)
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// ParsePacket parses a pfsync frame (the IP payload) with OpenBSD's rules
// (if_pfsync.c pfsync_input, reference §1.3–§1.4):
//
//   - shorter than the header: ErrShortPacket; version not 6:
//     ErrBadVersion; header len past the end of b, or below the header
//     size: ErrBadLength. Bytes after len are ignored.
//   - sections follow while at least 4 bytes remain; a shorter tail is
//     ignored.
//   - records are len × 4 bytes apart; bytes past the struct in each are
//     ignored.
//   - deprecated, unknown and too-short sections are kept undecoded in
//     Section.Raw, never an error, except that an unknown or too-short
//     section with count 0 or len 0 is ErrBadAction (OpenBSD cannot skip
//     it).
//   - a section running past the end is ErrBadLength.
//
// On ErrBadAction and section ErrBadLength, OpenBSD has already applied
// the sections before the bad one: ParsePacket returns them with the
// error, so a caller may do the same. Records never alias b.
func ParsePacket(b []byte) (*Packet, error) {
	return new(Decoder).Parse(b)
}
