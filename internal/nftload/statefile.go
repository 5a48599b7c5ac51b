package nftload

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"carpfw/rules"
)

// StateFile is pfconf's record of what it loaded, kept in the run
// directory (reference §2.11: -s rules prints from pfconf's own model
// plus kernel counters, never by decoding nft expressions back).
const StateFile = "pfconf.json"

// Saved is the content of the state file.
type Saved struct {
	Loaded time.Time    `json:"loaded"`
	PID    int          `json:"pid"`
	Rules  []SavedRule  `json:"rules"`
	Tables []SavedTable `json:"tables,omitempty"`
	// Dynamic lists the (if) sets, for RefreshDynamic.
	Dynamic []DynSet `json:"dynamic,omitempty"`
	// Main is the main ruleset as loaded (its file name, text and -D
	// macros) and Anchors the rulesets loaded with -a: pfconf -a
	// recompiles them together and reloads the table in one batch.
	Main    *MainSource             `json:"main,omitempty"`
	Anchors map[string]AnchorSource `json:"anchors,omitempty"`
}

// MainSource is the main ruleset's source.
type MainSource struct {
	Name    string   `json:"name"`
	Data    string   `json:"data"`
	Defines []string `json:"defines,omitempty"`
}

// SavedRule is one rule of the main ruleset as pfctl -s rules prints it.
type SavedRule struct {
	Nr       int      `json:"nr"`
	Text     string   `json:"text"`
	Label    string   `json:"label,omitempty"`
	Counters []string `json:"counters,omitempty"` // named counters, in and out
}

// SavedTable is a table definition's flags.
type SavedTable struct {
	Name  string `json:"name"`
	Flags int    `json:"flags"`
}

// Record builds the state of a program.
func Record(prog *rules.Program, tables []*rules.Table) Saved {
	s := Saved{Loaded: time.Now(), PID: os.Getpid(), Dynamic: DynSets(prog)}
	if prog.Ruleset != nil {
		for _, r := range prog.Ruleset.Rules {
			var w strings.Builder
			call := ""
			if r.Anchor != nil {
				call = r.Anchor.Call
			}
			rules.PrintRule(&w, r, call, false)
			sr := SavedRule{Nr: r.Nr, Text: w.String(), Label: r.Label}
			if ri, ok := prog.Info(r); ok {
				sr.Counters = ri.Counters
			}
			s.Rules = append(s.Rules, sr)
		}
	}
	for _, t := range tables {
		s.Tables = append(s.Tables, SavedTable{t.Name, t.Flags})
	}
	return s
}

// Save writes the state file in dir atomically (temporary file, rename).
func Save(dir string, s Saved) error {
	data, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	tmp := filepath.Join(dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, StateFile))
}

// ReadSaved reads the state file; a missing file is an empty state.
func ReadSaved(dir string) (Saved, error) {
	var s Saved
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(data, &s)
}
