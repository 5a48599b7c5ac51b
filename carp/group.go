package carp

import (
	"fmt"
	"strconv"
)

// GroupRequest is "ifconfig -g group [[-]carpdemote [n]]": with Delta 0 it
// only shows the group's demotion counter ("carp: carp demote count N").
type GroupRequest struct {
	Group string `json:"group"`
	Delta int    `json:"delta"`
}

// ParseGroupRequest checks the words after "-g group". carpdemote adds n
// (default 1) to the group's demotion counter and -carpdemote subtracts it;
// n is 0..128 as in ifconfig(8).
func ParseGroupRequest(group string, words []string) (GroupRequest, error) {
	if _, err := groupCheck(group); err != nil {
		return GroupRequest{}, err
	}
	r := GroupRequest{Group: group}
	if len(words) == 0 {
		return r, nil
	}
	sign := 1
	switch words[0] {
	case "carpdemote":
	case "-carpdemote":
		sign = -1
	default:
		return GroupRequest{}, fmt.Errorf("%s: unknown keyword", words[0])
	}
	n := 1
	switch len(words) {
	case 1:
	case 2:
		v, err := strconv.Atoi(words[1])
		if err != nil || v < 0 || v > MaxDemote {
			return GroupRequest{}, fmt.Errorf("invalid carp demotion: %s", words[1])
		}
		n = v
	default:
		return GroupRequest{}, fmt.Errorf("%s: unknown keyword", words[2])
	}
	r.Delta = sign * n
	return r, nil
}
