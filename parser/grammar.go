package parser

import "github.com/alecthomas/participle/v2/lexer"

// The grammar of one pf.conf statement, after pfctl's parse.y. Newlines
// inside braces are dropped by the statement splitter (parse.y allows
// them anywhere in a list through optnl), and "comma" is an optional ",".

// Statement is one line of pf.conf (ruleset in parse.y).
type Statement struct {
	Rule      *PfRule     `parser:"  @@"`
	Anchor    *AnchorRule `parser:"| @@"`
	Table     *TableDef   `parser:"| @@"`
	Option    *Option     `parser:"| @@"`
	Varset    *Varset     `parser:"| @@"`
	Include   *Include    `parser:"| @@"`
	Load      *LoadRule   `parser:"| @@"`
	Queue     *QueueSpec  `parser:"| @@"`
	Antispoof *Antispoof  `parser:"| @@"`
}

// Include is include "file".
type Include struct {
	File string `parser:"\"include\" @String"`
}

// Varset is a macro definition: name = value …
type Varset struct {
	Name   string   `parser:"@String \"=\""`
	Values []string `parser:"@(String | Number)+"`
}

// LoadRule is load anchor name from "file".
type LoadRule struct {
	Name *string  `parser:"\"load\" \"anchor\" @String?"`
	File []string `parser:"\"from\" @String+"`
}

// Option is a set statement.
type Option struct {
	Pos           lexer.Position
	Reassemble    *Reassemble   `parser:"\"set\" ( @@"`
	Optimization  *string       `parser:"| \"optimization\" @String"`
	RulesetOpt    []string      `parser:"| \"ruleset-optimization\" @String+"`
	Timeouts      []*NamedValue `parser:"| \"timeout\" ( @@ | \"{\" @@ ( \",\"? @@ )* \"}\" )"`
	Limits        []*NamedValue `parser:"| \"limit\" ( @@ | \"{\" @@ ( \",\"? @@ )* \"}\" )"`
	LogInterface  *string       `parser:"| \"loginterface\" @(String | \"all\")"`
	HostID        *NumStr       `parser:"| \"hostid\" @@"`
	BlockPolicy   *string       `parser:"| \"block-policy\" @(\"drop\" | \"return\")"`
	Fingerprints  *string       `parser:"| \"fingerprints\" @String"`
	StatePolicy   *string       `parser:"| \"state-policy\" @(\"if-bound\" | \"floating\")"`
	Debug         *string       `parser:"| \"debug\" @(String | \"debug\")"`
	Skip          *Interface    `parser:"| \"skip\" @@"`
	StateDefaults []*StateOpt   `parser:"| \"state-defaults\" @@ ( \",\"? @@ )*"`
	Syncookies    *Syncookies   `parser:"| \"syncookies\" @@ )"`
}

// Reassemble is set reassemble yes|no [no-df].
type Reassemble struct {
	Value string `parser:"\"reassemble\" @(String | \"no\")"`
	NoDF  bool   `parser:"@\"no-df\"?"`
}

// NamedValue is "name number" in set timeout and set limit.
type NamedValue struct {
	Pos   lexer.Position
	Name  string `parser:"@String"`
	Value int64  `parser:"@Number"`
}

// NumStr is a NUMBER or a STRING that should hold one.
type NumStr struct {
	Num *int64  `parser:"  @Number"`
	Str *string `parser:"| @String"`
}

// Syncookies is set syncookies mode [(start x%, end y%)].
type Syncookies struct {
	Mode string          `parser:"@String"`
	Opts []*SyncookieOpt `parser:"( \"(\" @@ ( \",\"? @@ )* \")\" )?"`
}

// SyncookieOpt is start|end percent.
type SyncookieOpt struct {
	Name  string `parser:"@String"`
	Value string `parser:"@String"`
}

// PfRule is a pass, block or match rule.
type PfRule struct {
	Pos       lexer.Position
	Action    *Action      `parser:"@@"`
	Dir       string       `parser:"@(\"in\" | \"out\")?"`
	LogQuick  *LogQuick    `parser:"@@?"`
	Interface *Interface   `parser:"@@?"`
	AF        string       `parser:"@(\"inet\" | \"inet6\")?"`
	Proto     *Proto       `parser:"@@?"`
	FromTo    *FromTo      `parser:"@@?"`
	Opts      []*FilterOpt `parser:"( (?! EOF) @@ )*"`
}

// AnchorRule is the head of an anchor rule; an inline body is split off
// by the statement splitter.
type AnchorRule struct {
	Pos       lexer.Position
	Name      *string      `parser:"\"anchor\" @String?"`
	Dir       string       `parser:"@(\"in\" | \"out\")?"`
	Quick     bool         `parser:"@\"quick\"?"`
	Interface *Interface   `parser:"@@?"`
	AF        string       `parser:"@(\"inet\" | \"inet6\")?"`
	Proto     *Proto       `parser:"@@?"`
	FromTo    *FromTo      `parser:"@@?"`
	Opts      []*FilterOpt `parser:"( (?! EOF) @@ )*"`
}

// Action is pass, match or block with its return options.
type Action struct {
	Kind    string     `parser:"  @(\"pass\" | \"match\")"`
	BlockKw bool       `parser:"| ( @\"block\""`
	Block   *BlockSpec `parser:"    @@? )"`
}

// BlockSpec is what a block rule returns.
type BlockSpec struct {
	Drop        bool        `parser:"  @\"drop\""`
	ReturnRST   *ReturnRST  `parser:"| @@"`
	ReturnICMP  *ReturnICMP `parser:"| @@"`
	Return      bool        `parser:"| @\"return\""`
	ReturnICMP6 *ReturnICMP // return-icmp6, moved here by blockSpec
}

// ReturnRST is return-rst [(ttl n)].
type ReturnRST struct {
	Keyword bool   `parser:"@\"return-rst\""`
	TTL     *int64 `parser:"( \"(\" \"ttl\" @Number \")\" )?"`
}

// ReturnICMP is return-icmp[6] [(code [, code6])].
type ReturnICMP struct {
	Keyword string    `parser:"@(\"return-icmp\" | \"return-icmp6\")"`
	Codes   []*NumStr `parser:"( \"(\" @@ ( \",\"? @@ )? \")\" )?"`
}

// LogQuick is log and quick in either order.
type LogQuick struct {
	Log1   *Log `parser:"  ( @@"`
	Quick  bool `parser:"    @\"quick\"? )"`
	Quick2 bool `parser:"| ( @\"quick\""`
	Log2   *Log `parser:"    @@? )"`
}

// Log is log [(opts)].
type Log struct {
	Keyword bool      `parser:"@\"log\""`
	Opts    []*LogOpt `parser:"( \"(\" @@ ( \",\"? @@ )* \")\" )?"`
}

// LogOpt is all, matches, user or to pflogN.
type LogOpt struct {
	Word string   `parser:"  @(\"all\" | \"matches\" | \"user\")"`
	To   []string `parser:"| \"to\" @String+"`
}

// Interface is on ifname or on { list }.
type Interface struct {
	Items []*IfItem `parser:"\"on\" ( @@ | \"{\" @@ ( \",\"? @@ )* \"}\" )"`
}

// IfItem is [!] name | any | rdomain n.
type IfItem struct {
	Pos     lexer.Position
	Not     bool    `parser:"@\"!\"?"`
	Name    *string `parser:"( @String"`
	Any     bool    `parser:"| @\"any\""`
	Rdomain *int64  `parser:"| \"rdomain\" @Number )"`
}

// Proto is proto p or proto { list }.
type Proto struct {
	Pos   lexer.Position
	Items []*NumStr `parser:"\"proto\" ( @@ | \"{\" @@ ( \",\"? @@ )* \"}\" )"`
}

// FromTo is all, or from, os and to parts (the order is checked when the
// rule is built, so that "to … from …" is still a syntax error).
type FromTo struct {
	All   bool      `parser:"  @\"all\""`
	Parts []*FTPart `parser:"| @@+"`
}

// FTPart is one of from …, os … and to ….
type FTPart struct {
	Pos  lexer.Position
	From *IPPort  `parser:"  \"from\" @@"`
	To   *IPPort  `parser:"| \"to\" @@"`
	OS   []string `parser:"| \"os\" ( @String | \"{\" @String ( \",\"? @String )* \"}\" )"`
}

// IPPort is an address spec with an optional port spec.
type IPPort struct {
	Host     *IPSpec   `parser:"( @@"`
	HostPort *PortSpec `parser:"  ( \"port\" @@ )?"`
	Port     *PortSpec `parser:"| \"port\" @@ )"`
}

// IPSpec is any, a host or a list.
type IPSpec struct {
	Pos  lexer.Position
	Any  bool      `parser:"  @\"any\""`
	List []*IPSpec `parser:"| \"{\" @@ ( \",\"? @@ )* \"}\""`
	Host *XHost    `parser:"| @@"`
}

// XHost is [!] host | no-route | urpf-failed.
type XHost struct {
	Pos        lexer.Position
	Not        bool  `parser:"@\"!\"?"`
	Host       *Host `parser:"( @@"`
	NoRoute    bool  `parser:"| @\"no-route\""`
	URPFFailed bool  `parser:"| @\"urpf-failed\" )"`
}

// Host is one address form (host in parse.y).
type Host struct {
	Pos      lexer.Position
	Str      *string `parser:"( @String"`
	RangeEnd *string `parser:"  ( \"-\" @String"`
	StrMask  *int64  `parser:"  | \"/\" @Number )? )"`
	Num      *int64  `parser:"| ( @Number"`
	NumMask  *int64  `parser:"  \"/\" @Number )"`
	Dyn      *string `parser:"| ( \"(\" @String \")\""`
	DynMask  *int64  `parser:"  ( \"/\" @Number )? )"`
	Table    *string `parser:"| ( \"<\" @String \">\" )"`
	Route    *string `parser:"| ( \"route\" @String )"`
}

// PortSpec is one port item or a list.
type PortSpec struct {
	Items []*PortItem `parser:"@@ | \"{\" @@ ( \",\"? @@ )* \"}\""`
}

// PortItem is [op] port, port:port or port >< port.
type PortItem struct {
	Pos lexer.Position
	A2  string `parser:"( @(String | Number)"`
	Bin string `parser:"  ( @PortBin"`
	B   string `parser:"    @(String | Number) )? )"`
	Op  string `parser:"| ( @(\"=\" | NE | LE | \"<\" | GE | \">\")"`
	A   string `parser:"  @(String | Number) )"`
}

// IDItem is a user or group item with the same operators as ports.
type IDItem struct {
	A2  string `parser:"( @(String | Number)"`
	Bin string `parser:"  ( @PortBin"`
	B   string `parser:"    @(String | Number) )? )"`
	Op  string `parser:"| ( @(\"=\" | NE | LE | \"<\" | GE | \">\")"`
	A   string `parser:"  @(String | Number) )"`
}

// IDList is one item or a list.
type IDList struct {
	Items []*IDItem `parser:"@@ | \"{\" @@ ( \",\"? @@ )* \"}\""`
}

// Flags is flags a/b, flags /b or flags any.
type Flags struct {
	Pos  lexer.Position
	Any  bool    `parser:"\"flags\" ( @\"any\""`
	Set  *string `parser:"| @String? \"/\""`
	Mask string  `parser:"  @String )"`
}

// ICMPSpec is icmp-type … or icmp6-type ….
type ICMPSpec struct {
	Pos     lexer.Position
	Keyword string      `parser:"@(\"icmp-type\" | \"icmp6-type\")"`
	Items   []*ICMPItem `parser:"( @@ | \"{\" @@ ( \",\"? @@ )* \"}\" )"`
}

// ICMPItem is type [code c].
type ICMPItem struct {
	Pos  lexer.Position
	Type NumStr  `parser:"@@"`
	Code *NumStr `parser:"( \"code\" @@ )?"`
}

// StateOpt is one state option.
type StateOpt struct {
	Pos          lexer.Position
	Max          *int64  `parser:"  \"max\" @Number"`
	NoSync       bool    `parser:"| @\"no-sync\""`
	MaxSrcStates *int64  `parser:"| \"max-src-states\" @Number"`
	MaxSrcConn   *int64  `parser:"| \"max-src-conn\" @Number"`
	ConnRate     []int64 `parser:"| \"max-src-conn-rate\" @Number \"/\" @Number"`
	Overload     *string `parser:"| \"overload\" \"<\" @String \">\""`
	Flush        bool    `parser:"  ( @\"flush\""`
	FlushGlobal  bool    `parser:"    @\"global\"? )?"`
	MaxSrcNodes  *int64  `parser:"| \"max-src-nodes\" @Number"`
	SourceTrack  bool    `parser:"| @\"source-track\""`
	TrackHow     string  `parser:"  @(\"global\" | \"rule\")?"`
	Lock         string  `parser:"| @(\"if-bound\" | \"floating\")"`
	Sloppy       bool    `parser:"| @\"sloppy\""`
	Pflow        bool    `parser:"| @\"pflow\""`
	TimeoutName  *string `parser:"| @String"`
	TimeoutValue int64   `parser:"  @Number"`
}

// Keep is no state, keep state, modulate state or synproxy state.
type Keep struct {
	Kind string      `parser:"@(\"keep\" | \"no\" | \"modulate\" | \"synproxy\") \"state\""`
	Opts []*StateOpt `parser:"( \"(\" @@ ( \",\"? @@ )* \")\" )?"`
}

// ScrubOpt is one scrub option.
type ScrubOpt struct {
	Pos        lexer.Position
	NoDF       bool    `parser:"  @\"no-df\""`
	MinTTL     *int64  `parser:"| \"min-ttl\" @Number"`
	MaxMSS     *int64  `parser:"| \"max-mss\" @Number"`
	Reassemble *string `parser:"| \"reassemble\" @String"`
	RandomID   bool    `parser:"| @\"random-id\""`
}

// QName is a queue name or (queue, priority queue).
type QName struct {
	Pos   lexer.Position
	Names []string `parser:"@String | \"(\" @String ( \",\"? @String )? \")\""`
}

// Prio is prio n or prio (n, m).
type Prio struct {
	Pos  lexer.Position
	Vals []int64 `parser:"\"prio\" ( @Number | \"(\" @Number \",\"? @Number \")\" )"`
}

// FilterSet is one set option of a rule.
type FilterSet struct {
	Pos   lexer.Position
	Prio  *Prio   `parser:"  @@"`
	Queue *QName  `parser:"| \"queue\" @@"`
	TOS   *NumStr `parser:"| \"tos\" @@"`
	Delay *int64  `parser:"| \"delay\" @Number"`
}

// RedirHost is a host with an optional weight.
type RedirHost struct {
	Pos    lexer.Position
	Host   *Host  `parser:"@@"`
	Weight *int64 `parser:"( \"weight\" @Number )?"`
}

// RedirSpec is a host or a list of hosts.
type RedirSpec struct {
	Pos  lexer.Position
	List []*RedirHost `parser:"  \"{\" @@ ( \",\"? @@ )* \"}\""`
	Host *RedirHost   `parser:"| @@"`
}

// PoolOpt is one pool option.
type PoolOpt struct {
	Pos     lexer.Position
	Type    string   `parser:"  @(\"bitmask\" | \"random\" | \"round-robin\" | \"least-states\")"`
	SrcHash bool     `parser:"| @\"source-hash\""`
	Key     []string `parser:"  @String*"`
	Static  bool     `parser:"| @\"static-port\""`
	Sticky  bool     `parser:"| @\"sticky-address\""`
}

// RedirPool is a redirection target with port and pool options.
type RedirPool struct {
	Pos  lexer.Position
	Spec *RedirSpec `parser:"@@"`
	Port *string    `parser:"( \"port\" @(String | Number) )?"`
	Opts []*PoolOpt `parser:"( (?! EOF) @@ )*"`
}

// RouteSpec is the target of route-to, reply-to and dup-to.
type RouteSpec struct {
	Pos  lexer.Position
	Spec *RedirSpec `parser:"@@"`
	Opts []*PoolOpt `parser:"( (?! EOF) @@ )*"`
}

// AfTo is af-to family from pool [to pool].
type AfTo struct {
	Pos  lexer.Position
	AF   string     `parser:"\"af-to\" @(\"inet\" | \"inet6\")? \"from\""`
	From *RedirPool `parser:"@@"`
	To   *RedirPool `parser:"( \"to\" @@ )?"`
}

// FilterOpt is one filter option (filter_opt in parse.y).
type FilterOpt struct {
	Pos          lexer.Position
	Keep         *Keep        `parser:"  @@"`
	Flags        *Flags       `parser:"| @@"`
	Label        *string      `parser:"| \"label\" @String"`
	NatTo        *RedirPool   `parser:"| \"nat-to\" @@"`
	RdrTo        *RedirPool   `parser:"| \"rdr-to\" @@"`
	Tag          []string     `parser:"| \"tag\" @String+"`
	Not          bool         `parser:"| ( @\"!\"?"`
	Tagged       []string     `parser:"    ( \"tagged\" @String+"`
	ReceivedOn   *IfItem      `parser:"    | \"received-on\" @@ ) )"`
	ICMP         *ICMPSpec    `parser:"| @@"`
	User         *IDList      `parser:"| \"user\" @@"`
	Group        *IDList      `parser:"| \"group\" @@"`
	Scrub        []*ScrubOpt  `parser:"| \"scrub\" \"(\" @@ ( \",\"? @@ )* \")\""`
	Sets         []*FilterSet `parser:"| \"set\" ( \"(\" @@ ( \",\"? @@ )* \")\" | @@ )"`
	RouteKind    string       `parser:"| @(\"route-to\" | \"reply-to\" | \"dup-to\")"`
	Route        *RouteSpec   `parser:"  @@"`
	Prio         *int64       `parser:"| \"prio\" @Number"`
	TOS          *NumStr      `parser:"| \"tos\" @@"`
	Fragment     bool         `parser:"| @\"fragment\""`
	AllowOpts    bool         `parser:"| @\"allow-opts\""`
	Queue        *QName       `parser:"| \"queue\" @@"`
	Probability  *NumStr      `parser:"| \"probability\" @@"`
	RTable       *int64       `parser:"| \"rtable\" @Number"`
	DivertTo     *string      `parser:"| \"divert-to\" @String"`
	DivertToPort *string      `parser:"  \"port\" @(String | Number)"`
	DivertReply  bool         `parser:"| @\"divert-reply\""`
	DivertPacket *string      `parser:"| \"divert-packet\" \"port\" @(String | Number)"`
	AfTo         *AfTo        `parser:"| @@"`
	BinatTo      *RedirPool   `parser:"| \"binat-to\" @@"`
	Once         bool         `parser:"| @\"once\""`
	PktRate      []int64      `parser:"| \"max-pkt-rate\" @Number \"/\" @Number"`
}

// QueueSpec is queue name [on if] options.
type QueueSpec struct {
	Pos       lexer.Position
	Name      string      `parser:"\"queue\" @String"`
	Interface *Interface  `parser:"@@?"`
	Opts      []*QueueOpt `parser:"@@+"`
}

// QueueOpt is one queue option.
type QueueOpt struct {
	Pos       lexer.Position
	Bandwidth *SCSpec   `parser:"  \"bandwidth\" @@"`
	MinMax    []*MinMax `parser:"  @@*"`
	Parent    *string   `parser:"| \"parent\" @String"`
	Default   bool      `parser:"| @\"default\""`
	QLimit    *int64    `parser:"| \"qlimit\" @Number"`
	Flows     *int64    `parser:"| \"flows\" @Number"`
	Quantum   *int64    `parser:"| \"quantum\" @Number"`
}

// MinMax is ", min spec" or ", max spec" after a bandwidth.
type MinMax struct {
	Kind string  `parser:"\",\"? @(\"min\" | \"max\")"`
	Spec *SCSpec `parser:"@@"`
}

// SCSpec is bandwidth [burst bandwidth for Nms].
type SCSpec struct {
	BW    NumStr  `parser:"@@"`
	Burst *NumStr `parser:"( \"burst\" @@"`
	For   string  `parser:"  \"for\" @String )?"`
}

// Antispoof is antispoof [log] [quick] for ifs [af] [opts].
type Antispoof struct {
	Pos      lexer.Position
	LogQuick *LogQuick       `parser:"\"antispoof\" @@?"`
	Ifs      []*AntispoofIf  `parser:"\"for\" ( @@ | \"{\" @@ ( \",\"? @@ )* \"}\" )"`
	AF       string          `parser:"@(\"inet\" | \"inet6\")?"`
	Opts     []*AntispoofOpt `parser:"@@*"`
}

// AntispoofIf is an interface, or (interface) for its dynamic address.
type AntispoofIf struct {
	Dyn  *IfItem `parser:"  \"(\" @@ \")\""`
	Item *IfItem `parser:"| @@"`
}

// AntispoofOpt is label or rtable.
type AntispoofOpt struct {
	Label  *string `parser:"  \"label\" @String"`
	RTable *int64  `parser:"| \"rtable\" @Number"`
}

// TableDef is table <name> options.
type TableDef struct {
	Pos  lexer.Position
	Name string      `parser:"\"table\" \"<\" @String \">\""`
	Opts []*TableOpt `parser:"( (?! EOF) @@ )*"`
}

// TableOpt is a flag word, an address list or file "name".
type TableOpt struct {
	Pos   lexer.Position
	Word  *string      `parser:"  @String"`
	Empty bool         `parser:"| ( \"{\" @\"}\""`
	List  []*TableSpec `parser:"  | \"{\" @@ ( \",\"? @@ )* \"}\" )"`
	File  *string      `parser:"| \"file\" @String"`
}

// TableSpec is an address with optional weight, or a nested list.
type TableSpec struct {
	Pos    lexer.Position
	List   []*TableSpec `parser:"  \"{\" @@ ( \",\"? @@ )* \"}\""`
	Host   *XHost       `parser:"| @@"`
	Weight *int64       `parser:"  ( \"weight\" @Number )?"`
}
