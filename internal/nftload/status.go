package nftload

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"

	"carpfw/rules"
)

// State is what is loaded: whether pfconf's table exists and whether its
// base chains are switched on.
type State struct {
	Loaded, Enabled bool
}

// Status reads the state through a fresh connection from dial.
func Status(dial func() (*nftables.Conn, error)) (State, error) {
	conn, err := dial()
	if err != nil {
		return State{}, err
	}
	if _, err := conn.ListTableOfFamily(rules.TableName, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, os.ErrNotExist) || isNoEnt(err) {
			return State{}, nil
		}
		return State{}, fmt.Errorf("reading table: %w", err)
	}
	ch := &nftables.Chain{Name: rules.BaseChainNames()[0], Table: Table}
	rs, err := conn.GetRules(Table, ch)
	if err != nil {
		return State{}, fmt.Errorf("reading chain %s: %w", ch.Name, err)
	}
	return State{Loaded: true, Enabled: len(rs) > 0}, nil
}
