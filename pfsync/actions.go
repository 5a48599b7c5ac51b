package pfsync

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// Action is the action code of a section, pfsync_subheader.action
// (PFSYNC_ACT_* in sys/net/if_pfsync.h rev 1.65, reference §1.5). It
// decides the record type of the section.
type Action uint8

// Action codes of pfsync protocol version 6.
const (
	ActionClr    Action = 0  // CLR: Clr records
	ActionOIns   Action = 1  // OINS: old insert, deprecated, skipped
	ActionInsAck Action = 2  // INS_ACK: InsAck records
	ActionOUpd   Action = 3  // OUPD: old update, deprecated, skipped
	ActionUpdC   Action = 4  // UPD_C: UpdC records
	ActionUpdReq Action = 5  // UPD_REQ: UpdReq records
	ActionDel    Action = 6  // DEL: State records (only id and creatorid read)
	ActionDelC   Action = 7  // DEL_C: DelC records
	ActionInsF   Action = 8  // INS_F: never implemented, skipped
	ActionDelF   Action = 9  // DEL_F: never implemented, skipped
	ActionBus    Action = 10 // BUS: Bus records
	ActionOTDB   Action = 11 // OTDB: old 48-byte TDB record, skipped
	ActionEOF    Action = 12 // EOF: end of frame, deprecated, no records
	ActionIns    Action = 13 // INS: State records
	ActionUpd    Action = 14 // UPD: State records
	ActionTDB    Action = 15 // TDB: TDB records (IPsec replay counters)
	ActionMax    Action = 16 // PFSYNC_ACT_MAX: OpenBSD skips this and above

	// ActionLinuxExt is this project's private action for what conntrack
	// has and pfsync_state has not (mark, zone, labels). 0xf0 mirrors IP
	// protocol 240 and stays far from OpenBSD's codes. OpenBSD skips it
	// by the subheader's len and count, which are therefore never 0
	// (reference §1.4, §3.7). Records are LinuxExt.
	ActionLinuxExt Action = 0xf0
)

var actionNames = [...]string{
	"CLR", "OINS", "INS_ACK", "OUPD", "UPD_C", "UPD_REQ", "DEL", "DEL_C",
	"INS_F", "DEL_F", "BUS", "OTDB", "EOF", "INS", "UPD", "TDB",
}

// String returns the action's name as in PFSYNC_ACT_*, without prefix.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	if a == ActionLinuxExt {
		return "LINUX_EXT"
	}
	return fmt.Sprintf("ACTION(%d)", uint8(a))
}

// RecordLen is the size in bytes of the record this package decodes for
// a, or 0 when it decodes none (deprecated and unknown actions). For
// actions below ActionMax it is the size OpenBSD's pfsync_acts table
// expects: shorter records make OpenBSD skip the whole section.
func (a Action) RecordLen() int {
	switch a {
	case ActionClr:
		return ClrLen
	case ActionInsAck, ActionUpdReq, ActionDelC:
		return RefLen
	case ActionUpdC:
		return UpdCLen
	case ActionDel, ActionIns, ActionUpd:
		return StateLen
	case ActionBus:
		return BusLen
	case ActionTDB:
		return TDBLen
	case ActionLinuxExt:
		return LinuxExtLen
	}
	return 0
}

// newRecord returns an empty record of a's type, or nil if RecordLen is 0.
func newRecord(a Action) Record {
	switch a {
	case ActionClr:
		return new(Clr)
	case ActionInsAck:
		return new(InsAck)
	case ActionUpdC:
		return new(UpdC)
	case ActionUpdReq:
		return new(UpdReq)
	case ActionDel, ActionIns, ActionUpd:
		return new(State)
	case ActionDelC:
		return new(DelC)
	case ActionBus:
		return new(Bus)
	case ActionTDB:
		return new(TDB)
	case ActionLinuxExt:
		return new(LinuxExt)
	}
	return nil
}

// fits reports whether r is the record type of a.
func fits(a Action, r Record) bool {
	switch r.(type) {
	case *Clr:
		return a == ActionClr
	case *InsAck:
		return a == ActionInsAck
	case *UpdC:
		return a == ActionUpdC
	case *UpdReq:
		return a == ActionUpdReq
	case *State:
		return a == ActionDel || a == ActionIns || a == ActionUpd
	case *DelC:
		return a == ActionDelC
	case *Bus:
		return a == ActionBus
	case *TDB:
		return a == ActionTDB
	case *LinuxExt:
		return a == ActionLinuxExt
	}
	return false
}

// Sizes of the records other than State (sys/net/if_pfsync.h, reference
// §1.6).
const (
	ClrLen      = 20 // struct pfsync_clr
	RefLen      = 12 // struct pfsync_ins_ack, pfsync_upd_req, pfsync_del_c
	UpdCLen     = 84 // struct pfsync_upd_c
	BusLen      = 12 // struct pfsync_bus
	TDBLen      = 52 // struct pfsync_tdb
	LinuxExtLen = 36 // LinuxExt, this project's own
)

// Clr is struct pfsync_clr (20 bytes): remove every state created by
// CreatorID, bound to IfName if it is not empty.
//
//	+---------------------------------------------------------------+
//	|                        ifname (16)                            |
//	+---------------------------------------------------------------+
//	|                           creatorid                           |
//	+---------------------------------------------------------------+
type Clr struct {
	IfName    string
	CreatorID uint32
}

func (c *Clr) size() int { return ClrLen }

func (c *Clr) appendTo(b []byte) ([]byte, error) {
	if err := checkIfname(c.IfName); err != nil {
		return nil, err
	}
	b = appendIfname(b, c.IfName)
	return beOrder.AppendUint32(b, c.CreatorID), nil
}

// MarshalBinary encodes c; an IfName of 16 bytes or more is ErrBadIfname.
func (c *Clr) MarshalBinary() ([]byte, error) { return c.appendTo(nil) }

// UnmarshalBinary decodes the first 20 bytes of b.
func (c *Clr) UnmarshalBinary(b []byte) error {
	if len(b) < ClrLen {
		return ErrShortRecord
	}
	*c = Clr{IfName: getIfname(b[0:16]), CreatorID: beOrder.Uint32(b[16:20])}
	return nil
}

// InsAck is struct pfsync_ins_ack (12 bytes): the state (CreatorID, ID)
// was inserted; release the packet deferred for it.
//
//	+---------------------------------------------------------------+
//	|                            id (8)                             |
//	+---------------------------------------------------------------+
//	|                           creatorid                           |
//	+---------------------------------------------------------------+
type InsAck struct {
	ID        uint64
	CreatorID uint32
}

// UpdReq is struct pfsync_upd_req (12 bytes, laid out as InsAck): send
// the full state (CreatorID, ID) as UPD. ID 0 with CreatorID 0 asks for a
// bulk update of the whole table.
type UpdReq struct {
	ID        uint64
	CreatorID uint32
}

// DelC is struct pfsync_del_c (12 bytes, laid out as InsAck): the state
// (CreatorID, ID) is gone.
type DelC struct {
	ID        uint64
	CreatorID uint32
}

func appendRef(b []byte, id uint64, creator uint32) []byte {
	return beOrder.AppendUint32(beOrder.AppendUint64(b, id), creator)
}

func getRef(b []byte) (uint64, uint32, error) {
	if len(b) < RefLen {
		return 0, 0, ErrShortRecord
	}
	return beOrder.Uint64(b[0:8]), beOrder.Uint32(b[8:12]), nil
}

func (r *InsAck) size() int                         { return RefLen }
func (r *InsAck) appendTo(b []byte) ([]byte, error) { return appendRef(b, r.ID, r.CreatorID), nil }

// MarshalBinary encodes r.
func (r *InsAck) MarshalBinary() ([]byte, error) { return r.appendTo(nil) }

// UnmarshalBinary decodes the first 12 bytes of b.
func (r *InsAck) UnmarshalBinary(b []byte) error {
	id, c, err := getRef(b)
	if err == nil {
		*r = InsAck{ID: id, CreatorID: c}
	}
	return err
}

func (r *UpdReq) size() int                         { return RefLen }
func (r *UpdReq) appendTo(b []byte) ([]byte, error) { return appendRef(b, r.ID, r.CreatorID), nil }

// MarshalBinary encodes r.
func (r *UpdReq) MarshalBinary() ([]byte, error) { return r.appendTo(nil) }

// UnmarshalBinary decodes the first 12 bytes of b.
func (r *UpdReq) UnmarshalBinary(b []byte) error {
	id, c, err := getRef(b)
	if err == nil {
		*r = UpdReq{ID: id, CreatorID: c}
	}
	return err
}

// IsBulk reports whether r is the bulk update request (id 0, creatorid 0).
func (r *UpdReq) IsBulk() bool { return r.ID == 0 && r.CreatorID == 0 }

func (r *DelC) size() int                         { return RefLen }
func (r *DelC) appendTo(b []byte) ([]byte, error) { return appendRef(b, r.ID, r.CreatorID), nil }

// MarshalBinary encodes r.
func (r *DelC) MarshalBinary() ([]byte, error) { return r.appendTo(nil) }

// UnmarshalBinary decodes the first 12 bytes of b.
func (r *DelC) UnmarshalBinary(b []byte) error {
	id, c, err := getRef(b)
	if err == nil {
		*r = DelC{ID: id, CreatorID: c}
	}
	return err
}

// UpdC is struct pfsync_upd_c (84 bytes), the "compressed" update: the
// peers and timeout class of a state the receiver already knows.
//
//	 0  id (8)
//	 8  src peer (32, see StatePeer)
//	40  dst peer (32)
//	72  creatorid (4)   76  expire (4)
//	80  timeout   81  state_flags   82  pad (2)
//
// OpenBSD sends Expire and Flags as 0 and ignores them on receive.
type UpdC struct {
	ID        uint64
	Src       StatePeer
	Dst       StatePeer
	CreatorID uint32
	Expire    uint32
	Timeout   uint8
	Flags     uint8 // low 8 bits of state_flags
}

func (u *UpdC) size() int { return UpdCLen }

func (u *UpdC) appendTo(b []byte) ([]byte, error) {
	b = beOrder.AppendUint64(b, u.ID)
	b = u.Src.appendTo(b)
	b = u.Dst.appendTo(b)
	b = beOrder.AppendUint32(b, u.CreatorID)
	b = beOrder.AppendUint32(b, u.Expire)
	return append(b, u.Timeout, u.Flags, 0, 0), nil
}

// MarshalBinary encodes u.
func (u *UpdC) MarshalBinary() ([]byte, error) { return u.appendTo(nil) }

// UnmarshalBinary decodes the first 84 bytes of b.
func (u *UpdC) UnmarshalBinary(b []byte) error {
	if len(b) < UpdCLen {
		return ErrShortRecord
	}
	*u = UpdC{
		ID:        beOrder.Uint64(b[0:8]),
		Src:       getPeer(b[8:40]),
		Dst:       getPeer(b[40:72]),
		CreatorID: beOrder.Uint32(b[72:76]),
		Expire:    beOrder.Uint32(b[76:80]),
		Timeout:   b[80],
		Flags:     b[81],
	}
	return nil
}

// Bulk update status values, pfsync_bus.status.
const (
	BusStart = 1 // PFSYNC_BUS_START
	BusEnd   = 2 // PFSYNC_BUS_END
)

// Bus is struct pfsync_bus (12 bytes), the bulk update status:
//
//	+---------------------------------------------------------------+
//	|                           creatorid                           |
//	+---------------------------------------------------------------+
//	|                            endtime                            |
//	+---------------+-----------------------------------------------+
//	|    status     |                   pad (3)                     |
//	+---------------+-----------------------------------------------+
//
// OpenBSD reads only the first record of a BUS section.
type Bus struct {
	CreatorID uint32
	EndTime   uint32 // 0 from current OpenBSD
	Status    uint8  // BusStart, BusEnd
}

func (u *Bus) size() int { return BusLen }

func (u *Bus) appendTo(b []byte) ([]byte, error) {
	b = beOrder.AppendUint32(b, u.CreatorID)
	b = beOrder.AppendUint32(b, u.EndTime)
	return append(b, u.Status, 0, 0, 0), nil
}

// MarshalBinary encodes u.
func (u *Bus) MarshalBinary() ([]byte, error) { return u.appendTo(nil) }

// UnmarshalBinary decodes the first 12 bytes of b.
func (u *Bus) UnmarshalBinary(b []byte) error {
	if len(b) < BusLen {
		return ErrShortRecord
	}
	*u = Bus{CreatorID: beOrder.Uint32(b[0:4]), EndTime: beOrder.Uint32(b[4:8]), Status: b[8]}
	return nil
}

// TDB is struct pfsync_tdb (52 bytes, action 15): replay and byte
// counters of an IPsec SA. Linux peers do not sync XFRM state; the type
// exists so such sections decode.
//
//	 0  spi (4)   4  dst: BSD sockaddr_union (28)
//	32  rpl (8)  40  cur_bytes (8)
//	48  sproto   49  updates   50  rdomain (2)
type TDB struct {
	SPI      uint32
	Dst      [28]byte // sa_len, sa_family, port, then the address
	Rpl      uint64
	CurBytes uint64
	SProto   uint8
	Updates  uint8
	RDomain  uint16
}

func (t *TDB) size() int { return TDBLen }

func (t *TDB) appendTo(b []byte) ([]byte, error) {
	b = beOrder.AppendUint32(b, t.SPI)
	b = append(b, t.Dst[:]...)
	b = beOrder.AppendUint64(b, t.Rpl)
	b = beOrder.AppendUint64(b, t.CurBytes)
	b = append(b, t.SProto, t.Updates)
	return beOrder.AppendUint16(b, t.RDomain), nil
}

// MarshalBinary encodes t.
func (t *TDB) MarshalBinary() ([]byte, error) { return t.appendTo(nil) }

// UnmarshalBinary decodes the first 52 bytes of b.
func (t *TDB) UnmarshalBinary(b []byte) error {
	if len(b) < TDBLen {
		return ErrShortRecord
	}
	*t = TDB{
		SPI:      beOrder.Uint32(b[0:4]),
		Dst:      [28]byte(b[4:32]),
		Rpl:      beOrder.Uint64(b[32:40]),
		CurBytes: beOrder.Uint64(b[40:48]),
		SProto:   b[48],
		Updates:  b[49],
		RDomain:  beOrder.Uint16(b[50:52]),
	}
	return nil
}

// DstAddr reads Dst as a BSD sockaddr_in (family 2) or sockaddr_in6
// (family 24); other families give the zero netip.Addr.
func (t *TDB) DstAddr() netip.Addr {
	switch AF(t.Dst[1]) {
	case AFInet:
		return netip.AddrFrom4([4]byte(t.Dst[4:8]))
	case AFInet6:
		return netip.AddrFrom16([16]byte(t.Dst[8:24]))
	}
	return netip.Addr{}
}

// Which fields of a LinuxExt record are set (LinuxExt.Has).
const (
	ExtMark   = 0x0001 // CTA_MARK
	ExtZone   = 0x0002 // CTA_ZONE
	ExtLabels = 0x0004 // CTA_LABELS
)

// LinuxExt is the record of ActionLinuxExt (36 bytes, 9 words), this
// project's own: conntrack data of the state (CreatorID, ID) that
// pfsync_state has no field for (reference §3.7). The section's
// subheader is its type and length, and Has says which fields hold
// data, so a receiver can tell "mark 0" from "no mark". Later versions
// may append fields: receivers ignore a longer record's tail, as
// OpenBSD does (reference §1.4).
//
//	+---------------------------------------------------------------+
//	|                            id (8)                             |
//	+---------------------------------------------------------------+
//	|                           creatorid                           |
//	+-------------------------------+-------------------------------+
//	|              has              |             zone              |
//	+-------------------------------+-------------------------------+
//	|                             mark                              |
//	+---------------------------------------------------------------+
//	|                         labels (16)                           |
//	+---------------------------------------------------------------+
type LinuxExt struct {
	ID        uint64
	CreatorID uint32
	Has       uint16 // ExtMark, ExtZone, ExtLabels
	Zone      uint16
	Mark      uint32
	Labels    [16]byte // as ctnetlink's CTA_LABELS carries them
}

func (x *LinuxExt) size() int { return LinuxExtLen }

func (x *LinuxExt) appendTo(b []byte) ([]byte, error) {
	b = appendRef(b, x.ID, x.CreatorID)
	b = beOrder.AppendUint16(b, x.Has)
	b = beOrder.AppendUint16(b, x.Zone)
	b = beOrder.AppendUint32(b, x.Mark)
	return append(b, x.Labels[:]...), nil
}

// MarshalBinary encodes x.
func (x *LinuxExt) MarshalBinary() ([]byte, error) { return x.appendTo(nil) }

// UnmarshalBinary decodes the first 36 bytes of b.
func (x *LinuxExt) UnmarshalBinary(b []byte) error {
	if len(b) < LinuxExtLen {
		return ErrShortRecord
	}
	*x = LinuxExt{
		ID:        beOrder.Uint64(b[0:8]),
		CreatorID: beOrder.Uint32(b[8:12]),
		Has:       beOrder.Uint16(b[12:14]),
		Zone:      beOrder.Uint16(b[14:16]),
		Mark:      beOrder.Uint32(b[16:20]),
		Labels:    [16]byte(b[20:36]),
	}
	return nil
}

// checkIfname refuses names that do not fit IFNAMSIZ with their NUL.
func checkIfname(s string) error {
	if len(s) >= ifNamSiz || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w %q: over 15 bytes or holds a NUL", ErrBadIfname, s)
	}
	return nil
}

func appendIfname(b []byte, s string) []byte {
	var n [ifNamSiz]byte
	copy(n[:], s)
	return append(b, n[:]...)
}

// getIfname reads a NUL-padded name, keeping at most IFNAMSIZ-1 bytes as
// OpenBSD's strlcpy does.
func getIfname(b []byte) string {
	n := bytes.IndexByte(b, 0)
	if n < 0 || n > ifNamSiz-1 {
		n = ifNamSiz - 1
	}
	if string(b[:n]) == "all" { // what Export writes: no allocation
		return "all"
	}
	return string(b[:n])
}
