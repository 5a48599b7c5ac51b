// Command pfsyncctl is carpfw's ifconfig(8) for pfsync(4): it configures
// pfsync0, shows its status in ifconfig's format and counters, applies
// /etc/hostname.pfsync0 and runs the pfsync worker that replicates
// conntrack state over OpenBSD's pfsync v6 wire format.
package main

import "carpfw/internal/cli"

func main() { cli.Main(newRootCmd()) }
