package hostinv

// protocols is OpenBSD's /etc/protocols (name, number, aliases). Printing
// always uses these names so that output matches OpenBSD's pfctl, also on
// a Linux host whose /etc/protocols differs (icmp6 is "ipv6-icmp", 103 is
// "pim", carp is 112 and pfsync 240).
var protocols = []struct {
	name    string
	num     int
	aliases []string
}{
	{"ip", 0, []string{"IP"}},
	{"icmp", 1, []string{"ICMP"}},
	{"igmp", 2, []string{"IGMP"}},
	{"ggp", 3, []string{"GGP"}},
	{"ipencap", 4, []string{"IP-ENCAP"}},
	{"st", 5, []string{"ST"}},
	{"tcp", 6, []string{"TCP"}},
	{"egp", 8, []string{"EGP"}},
	{"igp", 9, []string{"IGP"}},
	{"pup", 12, []string{"PUP"}},
	{"udp", 17, []string{"UDP"}},
	{"hmp", 20, []string{"HMP"}},
	{"xns-idp", 22, []string{"XNS-IDP"}},
	{"rdp", 27, []string{"RDP"}},
	{"iso-tp4", 29, []string{"ISO-TP4"}},
	{"xtp", 36, []string{"XTP"}},
	{"ddp", 37, []string{"DDP"}},
	{"idpr-cmtp", 38, []string{"IDPR-CMTP"}},
	{"ipv6", 41, []string{"IPv6"}},
	{"ipv6-route", 43, []string{"IPv6-Route"}},
	{"ipv6-frag", 44, []string{"IPv6-Frag"}},
	{"idrp", 45, []string{"IDRP"}},
	{"rsvp", 46, []string{"RSVP"}},
	{"gre", 47, []string{"GRE"}},
	{"esp", 50, []string{"ESP"}},
	{"ah", 51, []string{"AH"}},
	{"skip", 57, []string{"SKIP"}},
	{"ipv6-icmp", 58, []string{"IPv6-ICMP", "icmp6"}},
	{"ipv6-nonxt", 59, []string{"IPv6-NoNxt"}},
	{"ipv6-opts", 60, []string{"IPv6-Opts"}},
	{"rspf", 73, []string{"RSPF", "CPHB"}},
	{"vmtp", 81, []string{"VMTP"}},
	{"eigrp", 88, []string{"EIGRP"}},
	{"ospf", 89, []string{"OSPFIGP"}},
	{"ax.25", 93, []string{"AX.25"}},
	{"ipip", 94, []string{"IPIP"}},
	{"etherip", 97, []string{"ETHERIP"}},
	{"encap", 98, []string{"ENCAP"}},
	{"pim", 103, []string{"PIM"}},
	{"ipcomp", 108, []string{"IPCOMP"}},
	{"carp", 112, []string{"CARP"}},
	{"l2tp", 115, []string{"L2TP"}},
	{"sctp", 132, []string{"SCTP"}},
	{"mpls-in-ip", 137, []string{"MPLS-IN-IP"}},
	{"pfsync", 240, []string{"PFSYNC"}},
}

// services is the part of OpenBSD's /etc/services that pf.conf files use
// (name, port, protocols, aliases).
var services = []struct {
	name    string
	port    int
	tcp     bool
	udp     bool
	aliases []string
}{
	{"tcpmux", 1, true, false, nil},
	{"echo", 7, true, true, nil},
	{"discard", 9, true, true, []string{"sink", "null"}},
	{"systat", 11, true, false, []string{"users"}},
	{"daytime", 13, true, true, nil},
	{"netstat", 15, true, false, nil},
	{"qotd", 17, true, false, []string{"quote"}},
	{"chargen", 19, true, true, []string{"ttytst", "source"}},
	{"ftp-data", 20, true, false, nil},
	{"ftp", 21, true, false, nil},
	{"ssh", 22, true, true, nil},
	{"telnet", 23, true, false, nil},
	{"smtp", 25, true, false, []string{"mail"}},
	{"time", 37, true, true, []string{"timserver"}},
	{"whois", 43, true, false, []string{"nicname"}},
	{"domain", 53, true, true, []string{"nameserver"}},
	{"bootps", 67, true, true, nil},
	{"bootpc", 68, true, true, nil},
	{"tftp", 69, false, true, nil},
	{"gopher", 70, true, false, nil},
	{"finger", 79, true, false, nil},
	{"www", 80, true, true, []string{"http"}},
	{"kerberos", 88, true, true, []string{"krb5"}},
	{"pop3", 110, true, false, []string{"pop-3"}},
	{"sunrpc", 111, true, true, []string{"rpcbind"}},
	{"auth", 113, true, false, []string{"authentication", "tap", "ident"}},
	{"nntp", 119, true, false, []string{"usenet"}},
	{"ntp", 123, true, true, nil},
	{"netbios-ns", 137, true, true, nil},
	{"netbios-dgm", 138, true, true, nil},
	{"netbios-ssn", 139, true, false, nil},
	{"imap", 143, true, false, []string{"imap2", "imap4"}},
	{"snmp", 161, true, true, nil},
	{"snmp-trap", 162, true, true, []string{"snmptrap"}},
	{"bgp", 179, true, true, nil},
	{"ldap", 389, true, true, nil},
	{"https", 443, true, true, nil},
	{"microsoft-ds", 445, true, true, nil},
	{"isakmp", 500, true, true, nil},
	{"syslog", 514, false, true, nil},
	{"submission", 587, true, false, nil},
	{"ldaps", 636, true, false, nil},
	{"imaps", 993, true, false, nil},
	{"pop3s", 995, true, false, nil},
	{"openvpn", 1194, true, true, nil},
	{"ipsec-nat-t", 4500, false, true, nil},
	{"carp", 112, false, false, nil},
	{"pfsync", 8023, false, true, nil},
}

// icmp names are handled by the parser (they are pfctl's own tables).
