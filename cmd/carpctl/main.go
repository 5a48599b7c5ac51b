// Command carpctl is carpfw's ifconfig(8) for carp(4) interfaces: it
// configures carpN, shows their status in ifconfig's format, applies
// /etc/hostname.carpN files and runs one CARP worker per interface.
package main

import "carpfw/internal/cli"

func main() { cli.Main(newRootCmd()) }
