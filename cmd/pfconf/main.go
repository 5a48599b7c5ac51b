// Command pfconf is carpfw's pfctl(8): it parses pf.conf(5), prints it
// normalised as pfctl -nv does, compiles it to nftables and loads it
// atomically, and shows or edits the loaded rules, states and tables.
package main

import "carpfw/internal/cli"

func main() { cli.Main(newRootCmd()) }
