package rules

// Timeouts lists pf's timeout names indexed by their PFTM_* number (the
// order of enum pf_timeouts in OpenBSD's pfvar.h), which is also the order
// print_rule lists per-rule timeouts in.
var Timeouts = [NumTimeouts]string{
	"tcp.first", "tcp.opening", "tcp.established", "tcp.closing",
	"tcp.finwait", "tcp.closed", "udp.first", "udp.single", "udp.multiple",
	"icmp.first", "icmp.error", "other.first", "other.single",
	"other.multiple", "frag", "interval", "adaptive.start", "adaptive.end",
	"src.track", "tcp.tsdiff",
}

// NumTimeouts is PFTM_MAX.
const NumTimeouts = 20

// Timeout indexes used by the parser's defaults.
const (
	TimeoutAdaptiveStart = 16
	TimeoutAdaptiveEnd   = 17
	TimeoutSrcNode       = 18
)

// TimeoutIndex returns the PFTM number of a timeout name, or -1.
func TimeoutIndex(name string) int {
	for i, n := range Timeouts {
		if n == name {
			return i
		}
	}
	return -1
}
