package main

import (
	"fmt"

	"github.com/google/nftables"

	"github.com/gitfleet/gitfleet/nodeagent/podnet/hostgw"
)

// masqueradeProgrammed checks, in the test's network namespace, that the agent made its
// nftables table: a Pod range set and a chain with the one masquerade rule (whose content
// package hostgw tests).
func masqueradeProgrammed() error {
	c := &nftables.Conn{}
	t, err := c.ListTableOfFamily(hostgw.TableName, nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list table %s: %w", hostgw.TableName, err)
	}
	set, err := c.GetSetByName(t, hostgw.SetName)
	if err != nil {
		return fmt.Errorf("get set %s: %w", hostgw.SetName, err)
	}
	if els, err := c.GetSetElements(set); err != nil || len(els) == 0 {
		return fmt.Errorf("set %s: %d elements, %v", hostgw.SetName, len(els), err)
	}
	ch, err := c.ListChain(t, hostgw.ChainName)
	if err != nil {
		return fmt.Errorf("list chain %s: %w", hostgw.ChainName, err)
	}
	if rules, err := c.GetRules(t, ch); err != nil || len(rules) != 1 {
		return fmt.Errorf("chain %s: %d rules, %v", hostgw.ChainName, len(rules), err)
	}
	return nil
}
