package ctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SaveState writes v as ifname's saved configuration, atomically (a reader
// or a crash sees the old file or the new one, never half of one).
func SaveState(dir, ifname string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+ifname+".json.*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), StatePath(dir, ifname)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// LoadState reads ifname's saved configuration into v; it reports false
// when there is none.
func LoadState(dir, ifname string, v any) (bool, error) {
	b, err := os.ReadFile(StatePath(dir, ifname))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load state: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("load state %s: %w", filepath.Base(StatePath(dir, ifname)), err)
	}
	return true, nil
}

// RemoveState deletes ifname's saved configuration (on destroy).
func RemoveState(dir, ifname string) error {
	if err := os.Remove(StatePath(dir, ifname)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Workers lists the interfaces that have a control socket in dir whose
// name has the given prefix ("carp", "pfsync"), sorted.
func Workers(dir, prefix string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, prefix+"*.sock"))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m))
	for _, p := range m {
		b := filepath.Base(p)
		names = append(names, b[:len(b)-len(".sock")])
	}
	return names, nil
}
