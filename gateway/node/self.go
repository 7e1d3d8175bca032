package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/register"
)

// Our own register entry against participant.eik and participant.name:
// every message we send names us with them, and receivers compare the EIK
// with the register (as this node does), so a different one would have
// every message refused, and the AIS of the receiver would show another
// administration.

// selfEIK is why participant.eik cannot be used with our register entry
// e, or nil (also when the copy does not list us yet).
func selfEIK(cfg *config.Config, e *register.Entity) error {
	if e == nil || e.Removed {
		return nil
	}
	if got, want := strings.TrimSpace(cfg.Participant.EIK), strings.TrimSpace(e.Identifier); got != want {
		return fmt.Errorf("participant.eik: %q, but the register lists EIK %q for %s (%s); set participant.eik as the register lists it (peers refuse messages whose Sender EIK differs)",
			got, want, e.GUID, e.AdministrativeBodyName)
	}
	return nil
}

// checkSelf refuses a start whose participant.eik is not our register
// entry's and warns about a different participant.name (receivers show
// the register's name; ours only travels in the header).
func (n *Node) checkSelf(ctx context.Context) error {
	e, err := n.Cache.ByGUID(ctx, n.Config.Participant.GUID)
	if err != nil {
		return fmt.Errorf("register copy: %w", err)
	}
	if err := selfEIK(n.Config, e); err != nil {
		return err
	}
	if e != nil && !e.Removed && strings.TrimSpace(e.AdministrativeBodyName) != strings.TrimSpace(n.Config.Participant.Name) {
		n.Log.Warn("participant.name differs from our register entry; receivers show the register's name",
			"participant_name", n.Config.Participant.Name, "register_name", e.AdministrativeBodyName, "guid", e.GUID)
	}
	return nil
}

// selfReady is the readiness check "participant": it fails while the
// register copy lists another EIK for us, which a sync may bring after the
// start.
func (n *Node) selfReady(ctx context.Context) error {
	e, err := n.Cache.ByGUID(ctx, n.Config.Participant.GUID)
	if err != nil {
		return err
	}
	return selfEIK(n.Config, e)
}
