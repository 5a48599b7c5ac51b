package pfsync

// packer fills frames of at most mtu bytes (the IP payload) with
// sections, in the order their actions are first used, and encodes each
// record as it is added, so that building a frame allocates the frame
// and nothing per record (a bulk transfer builds 20,000 frames for
// 100,000 states). A state's LinuxExt record goes in the same frame as
// the state, in a last section of its own that OpenBSD skips
// (reference §1.3: an unknown action is skipped by its subheader).
type packer struct {
	mtu  int
	pkts [][]byte
	secs []packedSection // the frame being built: secs[:n]
	n    int
	ext  packedSection // its LinuxExt records
	size int           // the frame's length so far
	// spare, if not nil, holds sent frames to build new ones in
	// (Engine.Recycle), so that a bulk transfer cycles through warm
	// memory instead of touching fresh pages for each frame.
	spare *[][]byte
}

// packedSection is one section of the frame being built: its records,
// already encoded.
type packedSection struct {
	action Action
	count  int
	body   []byte
}

func newPacker(mtu int) *packer {
	return &packer{mtu: mtu, size: HeaderLen, ext: packedSection{action: ActionLinuxExt}}
}

// add appends r to the section of action a, and x (if not nil) to the
// frame's LinuxExt section. A record that does not encode (a state
// with an interface name too long for the wire) is left out.
func (p *packer) add(a Action, r Record, x *LinuxExt) {
	sec := p.reserve(a, x != nil)
	b, err := r.appendTo(sec.body)
	p.settle(sec, b, err, x)
}

// addState is add for a full state, without the interface call that
// would move s to the heap.
func (p *packer) addState(a Action, s *State, x *LinuxExt) {
	sec := p.reserve(a, x != nil)
	b, err := s.appendTo(sec.body)
	p.settle(sec, b, err, x)
}

// settle keeps a record reserve made room for and appendTo encoded into
// b, with its LinuxExt record, or gives the room back if it failed.
func (p *packer) settle(sec *packedSection, b []byte, err error, x *LinuxExt) {
	if err != nil {
		p.unreserve(sec, x != nil)
		return
	}
	sec.body = b
	sec.count++
	if x != nil {
		p.ext.body, _ = x.appendTo(p.ext.body)
		p.ext.count++
	}
}

// reserve makes room for one record of a (and a LinuxExt record if ext),
// starting a new frame when the current one would outgrow mtu, and
// returns the section to append the record to.
func (p *packer) reserve(a Action, ext bool) *packedSection {
	need := p.need(a, ext)
	if p.size+need > p.mtu && p.n > 0 {
		p.emit()
		need = p.need(a, ext)
	}
	sec := p.section(a)
	if sec == nil {
		if p.n == len(p.secs) {
			p.secs = append(p.secs, packedSection{})
		}
		sec = &p.secs[p.n]
		p.n++
		sec.action, sec.count, sec.body = a, 0, sec.body[:0]
	}
	p.size += need
	return sec
}

// need is what one more record of a (and its LinuxExt record) adds to
// the frame, subheaders included.
func (p *packer) need(a Action, ext bool) int {
	need := a.RecordLen()
	if p.section(a) == nil {
		need += SubheaderLen
	}
	if ext {
		need += LinuxExtLen
		if p.ext.count == 0 {
			need += SubheaderLen
		}
	}
	return need
}

// unreserve gives back what reserve counted for a record left out.
func (p *packer) unreserve(sec *packedSection, ext bool) {
	p.size -= sec.action.RecordLen()
	if sec.count == 0 {
		p.size -= SubheaderLen
		p.n-- // sec is the last section: reserve just opened it
	}
	if ext {
		p.size -= LinuxExtLen
		if p.ext.count == 0 {
			p.size -= SubheaderLen
		}
	}
}

func (p *packer) section(a Action) *packedSection {
	for i := range p.secs[:p.n] {
		if p.secs[i].action == a {
			return &p.secs[i]
		}
	}
	return nil
}

// flushIf starts a new frame if the current one has a section of a.
func (p *packer) flushIf(a Action) {
	if p.section(a) != nil {
		p.emit()
	}
}

// emit closes the frame being built: the header (version, length, a
// zero checksum), then each section's subheader and records.
func (p *packer) emit() {
	if p.n == 0 {
		return
	}
	b := p.frame()
	b[0] = Version
	beOrder.PutUint16(b[2:4], uint16(p.size))
	for _, s := range p.secs[:p.n] {
		b = appendSection(b, &s)
	}
	if p.ext.count > 0 {
		b = appendSection(b, &p.ext)
	}
	p.pkts = append(p.pkts, b)
	p.n, p.size = 0, HeaderLen
	p.ext.count, p.ext.body = 0, p.ext.body[:0]
}

// frame returns an empty frame of HeaderLen zero bytes with room for
// p.size, a spare one if there is one large enough.
func (p *packer) frame() []byte {
	if p.spare != nil {
		if sp := *p.spare; len(sp) > 0 {
			b := sp[len(sp)-1]
			*p.spare = sp[:len(sp)-1]
			if cap(b) >= p.size {
				b = b[:HeaderLen]
				clear(b)
				return b
			}
		}
	}
	return make([]byte, HeaderLen, max(p.size, p.mtu))
}

func appendSection(b []byte, s *packedSection) []byte {
	b = append(b, byte(s.action), uint8(s.action.RecordLen()/4))
	b = beOrder.AppendUint16(b, uint16(s.count))
	return append(b, s.body...)
}

// done closes the last frame and returns the frames, which are the
// caller's: a later use of the packer starts a new list (reset).
func (p *packer) done() [][]byte {
	p.emit()
	return p.pkts
}

// reset readies p for a new set of frames, keeping its sections'
// buffers.
func (p *packer) reset() {
	p.pkts = nil
	p.n, p.size = 0, HeaderLen
	p.ext.count, p.ext.body = 0, p.ext.body[:0]
}
