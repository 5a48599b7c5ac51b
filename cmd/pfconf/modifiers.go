package main

import (
	"fmt"
	"strings"
)

// Modifier words, in pfctl(8)'s order. pfctl accepts any unique prefix
// (case-sensitive), so -sr is rules and -sT is Tables.
var (
	showModifiers  = []string{"rules", "states", "info", "labels", "Tables", "all"}
	flushModifiers = []string{"rules", "states", "Tables", "all"}
	tableCommands  = []string{"show", "add", "delete", "flush", "replace", "test"}
	optimizeLevels = []string{"none", "basic"}
)

// modifier resolves word against the words flag accepts, as pfctl's
// pfctl_lookup_option does: an exact match or a unique prefix.
func modifier(flag, word string, words []string) (string, error) {
	var found []string
	for _, w := range words {
		if w == word {
			return w, nil
		}
		if word != "" && strings.HasPrefix(w, word) {
			found = append(found, w)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("%s %s: unknown modifier (one of: %s)", flag, word, strings.Join(words, ", "))
	}
	return "", fmt.Errorf("%s %s: ambiguous (%s)", flag, word, strings.Join(found, ", "))
}
