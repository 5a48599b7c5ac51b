// Package pfsync replicates Linux conntrack state between firewalls over
// OpenBSD's pfsync protocol version 6 (sys/net/if_pfsync.h).
//
// The package is split in layers: a pure codec for the wire format, a pure
// mapper between conntrack flows and pfsync states, and a worker that alone
// owns the sync socket, the conntrack netlink socket and goroutines. This
// file's siblings config.go and request.go hold what pfsync0 is configured
// to be, as ifconfig(8) takes it.
package pfsync
