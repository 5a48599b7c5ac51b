// Package carp implements OpenBSD's Common Address Redundancy Protocol for
// Linux: the configuration of carpN interfaces as ifconfig(8) takes it,
// and (in the files to come) the 36-byte advertisement codec after
// sys/netinet/ip_carp.h, the INIT/BACKUP/MASTER state machine after
// sys/netinet/ip_carp.c, and the worker that owns the sockets.
//
// The package is split in layers: a pure codec, a pure state machine driven
// by events and an injected clock, and a worker that alone owns sockets,
// netlink and goroutines. This file's siblings ifconfig*.go hold the first
// piece every layer needs: what a carp interface is configured to be.
package carp
