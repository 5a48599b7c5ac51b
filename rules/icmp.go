package rules

// ICMPName is one row of pfctl's icmp type and code tables
// (pfctl_parser.c icmp_type, icmp6_type, icmp_code, icmp6_code).
type ICMPName struct {
	Name       string
	Type, Code int
}

// ICMPTypes and ICMP6Types map ICMP type names to numbers.
var ICMPTypes = []ICMPName{
	{"echoreq", 8, 0}, {"echorep", 0, 0}, {"unreach", 3, 0}, {"squench", 4, 0},
	{"redir", 5, 0}, {"althost", 6, 0}, {"routeradv", 9, 0}, {"routersol", 10, 0},
	{"timex", 11, 0}, {"paramprob", 12, 0}, {"timereq", 13, 0}, {"timerep", 14, 0},
	{"inforeq", 15, 0}, {"inforep", 16, 0}, {"maskreq", 17, 0}, {"maskrep", 18, 0},
	{"trace", 30, 0}, {"dataconv", 31, 0}, {"mobredir", 32, 0}, {"ipv6-where", 33, 0},
	{"ipv6-here", 34, 0}, {"mobregreq", 35, 0}, {"mobregrep", 36, 0}, {"skip", 39, 0},
	{"photuris", 40, 0},
}

var ICMP6Types = []ICMPName{
	{"unreach", 1, 0}, {"toobig", 2, 0}, {"timex", 3, 0}, {"paramprob", 4, 0},
	{"echoreq", 128, 0}, {"echorep", 129, 0}, {"groupqry", 130, 0}, {"listqry", 130, 0},
	{"grouprep", 131, 0}, {"listenrep", 131, 0}, {"groupterm", 132, 0}, {"listendone", 132, 0},
	{"routersol", 133, 0}, {"routeradv", 134, 0}, {"neighbrsol", 135, 0}, {"neighbradv", 136, 0},
	{"redir", 137, 0}, {"routrrenum", 138, 0}, {"wrureq", 139, 0}, {"wrurep", 140, 0},
	{"fqdnreq", 139, 0}, {"fqdnrep", 140, 0}, {"niqry", 139, 0}, {"nirep", 140, 0},
	{"mtraceresp", 200, 0}, {"mtrace", 201, 0}, {"listenrepv2", 143, 0},
}

// ICMPCodes and ICMP6Codes map ICMP code names to type and code.
var ICMPCodes = []ICMPName{
	{"net-unr", 3, 0}, {"host-unr", 3, 1}, {"proto-unr", 3, 2}, {"port-unr", 3, 3},
	{"needfrag", 3, 4}, {"srcfail", 3, 5}, {"net-unk", 3, 6}, {"host-unk", 3, 7},
	{"isolate", 3, 8}, {"net-prohib", 3, 9}, {"host-prohib", 3, 10}, {"net-tos", 3, 11},
	{"host-tos", 3, 12}, {"filter-prohib", 3, 13}, {"host-preced", 3, 14},
	{"cutoff-preced", 3, 15}, {"redir-net", 5, 0}, {"redir-host", 5, 1},
	{"redir-tos-net", 5, 2}, {"redir-tos-host", 5, 3}, {"normal-adv", 9, 0},
	{"common-adv", 9, 16}, {"transit", 11, 0}, {"reassemb", 11, 1}, {"badhead", 12, 0},
	{"optmiss", 12, 1}, {"badlen", 12, 2}, {"unknown-ind", 40, 1}, {"auth-fail", 40, 2},
	{"decrypt-fail", 40, 3},
}

var ICMP6Codes = []ICMPName{
	{"admin-unr", 1, 1}, {"noroute-unr", 1, 0}, {"beyond-unr", 1, 2}, {"addr-unr", 1, 3},
	{"port-unr", 1, 4}, {"transit", 3, 0}, {"reassemb", 3, 1}, {"badhead", 4, 0},
	{"nxthdr", 4, 1}, {"redironlink", 137, 0}, {"redirrouter", 137, 1},
}

func icmpTypeTable(af int) []ICMPName {
	if af == AFInet6 {
		return ICMP6Types
	}
	return ICMPTypes
}

func icmpCodeTable(af int) []ICMPName {
	if af == AFInet6 {
		return ICMP6Codes
	}
	return ICMPCodes
}

// ICMPTypeByName looks up a type name (geticmptypebyname).
func ICMPTypeByName(name string, af int) (int, bool) {
	for _, e := range icmpTypeTable(af) {
		if e.Name == name {
			return e.Type, true
		}
	}
	return 0, false
}

// ICMPTypeName is geticmptypebynumber.
func ICMPTypeName(t int, af int) (string, bool) {
	for _, e := range icmpTypeTable(af) {
		if e.Type == t {
			return e.Name, true
		}
	}
	return "", false
}

// ICMPCodeByName is geticmpcodebyname.
func ICMPCodeByName(t int, name string, af int) (int, bool) {
	for _, e := range icmpCodeTable(af) {
		if e.Type == t && e.Name == name {
			return e.Code, true
		}
	}
	return 0, false
}

// ICMPCodeName is geticmpcodebynumber.
func ICMPCodeName(t, c int, af int) (string, bool) {
	for _, e := range icmpCodeTable(af) {
		if e.Type == t && e.Code == c {
			return e.Name, true
		}
	}
	return "", false
}
