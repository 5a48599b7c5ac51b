// Package difftest holds the differential test of carpfw's pf.conf
// compiler: random small rulesets and packets, the reference evaluator's
// verdict (package rules/eval) against the Linux kernel's, measured by
// sending each packet through a router network namespace running the
// compiled nftables ruleset. The package has no non-test code; see
// TestDifferential.
package difftest
