// Package rules is carpfw's pf rule model after expansion, with pfctl's
// defaults applied, and the printer that renders it the way OpenBSD's
// pfctl -nv does (sbin/pfctl/pfctl_parser.c print_rule and friends).
package rules

// Address families, numbered as on OpenBSD so that AF values compare like
// pfctl's sa_family_t.
const (
	AFUnspec = 0
	AFInet   = 2
	AFInet6  = 24
)

// Actions (pf_rule.action).
const (
	ActionPass  = 0
	ActionBlock = 1
	ActionMatch = 12
)

// Directions (pf_rule.direction).
const (
	DirInOut = 0
	DirIn    = 1
	DirOut   = 2
)

// Rule flags (pf_rule.rule_flag).
const (
	FlagReturnRST    = 0x0001
	FlagReturnICMP   = 0x0002
	FlagReturn       = 0x0004
	FlagNoSync       = 0x0010
	FlagSrcTrack     = 0x0020
	FlagRuleSrcTrack = 0x0040
	FlagSetDelay     = 0x0080
	FlagIfBound      = 0x00010000
	FlagStateSloppy  = 0x00020000
	FlagPflow        = 0x00040000
	FlagOnce         = 0x00100000
	FlagAfTo         = 0x00200000
	FlagFragment     = 0x0100
)

// Log flags (pf_rule.log).
const (
	LogOn      = 0x01
	LogAll     = 0x02
	LogUser    = 0x04
	LogMatches = 0x10
)

// State handling (pf_rule.keep_state).
const (
	StateNone     = 0
	StateNormal   = 1
	StateModulate = 2
	StateSynproxy = 3
)

// Scrub and set flags (pf_rule.scrub_flags).
const (
	ScrubNoDF     = 0x0001
	ScrubRandomID = 0x0002
	ScrubTCP      = 0x0004
	ScrubSetTOS   = 0x0008
	ScrubSetPrio  = 0x0200
)

// PrioZero is how pf stores an explicit "prio 0".
const PrioZero = 0xff

// Route types (pf_rule.rt).
const (
	RouteNone  = 0
	RouteTo    = 1
	RouteReply = 2
	RouteDup   = 3
)

// Divert types.
const (
	DivertNone   = 0
	DivertTo     = 1
	DivertReply  = 2
	DivertPacket = 3
)

// Port and id operators (PF_OP_*).
const (
	OpNone = iota
	OpIRG  // ><
	OpEQ
	OpNE
	OpLT
	OpLE
	OpGT
	OpGE
	OpXRG // <>
	OpRRG // :
)

// Pool types and options (pf_pool.opts).
const (
	PoolNone        = 0
	PoolBitmask     = 1
	PoolRandom      = 2
	PoolSrcHash     = 3
	PoolRoundRobin  = 4
	PoolLeastStates = 5
	PoolTypeMask    = 0x0f
	PoolStickyAddr  = 0x20
)

// NAT proxy port defaults (PF_NAT_PROXY_PORT_LOW/HIGH).
const (
	NatProxyPortLow  = 50001
	NatProxyPortHigh = 65535
)

// Rule is one expanded pf rule, the analogue of struct pf_rule.
type Rule struct {
	Nr          int
	Action      int
	RuleFlag    uint32
	ReturnTTL   int
	ReturnICMP  uint16 // type<<8 | code
	ReturnICMP6 uint16
	Direction   int
	Log         uint8
	LogIf       uint8
	Quick       bool
	IfName      string
	IfNot       bool
	OnRdomain   int // -1: none
	AF          int
	Proto       int
	Src, Dst    RuleAddr
	OS          string
	RcvIfName   string
	RcvIfNot    bool
	UID, GID    IDMatch
	Flags       uint8
	FlagSet     uint8
	Type        int // icmp type + 1, 0: none
	Code        int // icmp code + 1, 0: none
	TOS         uint8
	Prio        uint8
	PktRate     Rate
	ScrubFlags  uint32
	SetPrio     [2]uint8
	QName       string
	PQName      string
	SetTOS      uint8
	Delay       uint16

	MaxStates      uint32
	MaxSrcNodes    uint32
	MaxSrcStates   uint32
	MaxSrcConn     uint32
	MaxSrcConnRate Rate
	OverloadTable  string
	Flush          uint8 // 1: flush, 3: flush global
	Timeout        [NumTimeouts]uint32
	KeepState      int
	Prob           uint32
	MinTTL         int
	MaxMSS         int
	AllowOpts      bool
	Label          string
	Tag            string
	MatchTag       string
	MatchTagNot    bool
	RTableID       int // -1: none
	Divert         Divert
	NAF            int
	Nat, Rdr       Pool
	Route          Pool
	RT             int

	// Anchor is set on anchor rules.
	Anchor *Anchor
}

// Rate is a limit per a number of seconds.
type Rate struct{ Limit, Seconds uint32 }

// IDMatch is a user or group match (pf_rule_uid/pf_rule_gid).
type IDMatch struct {
	Op   int
	A, B uint32
}

// Divert is the divert-to/divert-reply/divert-packet target.
type Divert struct {
	Type int
	Addr Addr16
	Port uint16
}

// Anchor is the anchor an anchor rule calls, with its rules when inline.
type Anchor struct {
	Call    string // the name as printed; "_N" for unnamed inline anchors
	Inline  bool
	Ruleset *Ruleset
	// Children are, for a wildcard call ("name/*"), the loaded anchors
	// directly below name in name order, each with its full path as
	// Call: pf evaluates their rules one after the other
	// (pf_step_into_anchor, anchor_wildcard).
	Children []*Anchor
}

// NewRule returns a rule with nothing set: no rdomain, no rtable, no
// translation or routing pools.
func NewRule() *Rule {
	r := &Rule{OnRdomain: -1, RTableID: -1}
	r.Nat.Addr.Type = AddrNone
	r.Rdr.Addr.Type = AddrNone
	r.Route.Addr.Type = AddrNone
	return r
}
