package pfsync

import (
	"fmt"

	"carpfw/parser/hostnameif"
)

// CheckLines checks the lines of a hostname.pfsyncN file against the
// interface's current configuration c, as if each line were applied in
// turn. Nothing is applied.
func CheckLines(c Config, file string, lines []hostnameif.Line, linkExists func(string) error) error {
	for _, l := range lines {
		if l.Shell != "" {
			continue
		}
		req, err := ParseRequest(c.Name, l.Words)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, l.N, err)
		}
		o, err := Apply(c, req, linkExists)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, l.N, err)
		}
		c = o.Config
	}
	return nil
}
