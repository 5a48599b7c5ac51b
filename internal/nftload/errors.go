package nftload

import (
	"errors"
	"syscall"
)

// isNoEnt reports a netlink "no such file or directory" (a missing
// table, chain, set or object).
func isNoEnt(err error) bool { return errors.Is(err, syscall.ENOENT) }
