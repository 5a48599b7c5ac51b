package main

import (
	"github.com/spf13/cobra"

	"carpfw/internal/cli"
)

// parseOnly implements -n -f: parse the file, print it with -v, load nothing.
func parseOnly(cmd *cobra.Command, o *options) error {
	return cli.Errorf("parsing pf.conf is not implemented yet")
}
