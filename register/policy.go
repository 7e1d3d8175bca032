package register

import (
	"fmt"
	"strings"
)

// Reason says why an exchange is refused; it doubles as a metric label.
type Reason string

const (
	ReasonOK                  Reason = "ok"
	ReasonUnknown             Reason = "unknown_participant"
	ReasonRemoved             Reason = "removed_participant"
	ReasonInactive            Reason = "inactive_participant"
	ReasonTemporarilyInactive Reason = "temporarily_inactive_participant"
	ReasonNoService           Reason = "no_exchange_service"
	ReasonServiceInactive     Reason = "exchange_service_inactive"
	ReasonNoEndpoint          Reason = "no_endpoint_uri"
	ReasonSelfUnknown         Reason = "self_not_in_register"
	ReasonSelfInactive        Reason = "self_not_active"
)

// Decision is the policy's answer about one peer.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Detail is an English sentence for logs and operators.
	Detail string
	// OurFault is set when the refusal comes from our own register entry
	// (ERR_INTERNAL towards the peer), not from the peer's.
	OurFault bool
}

// Policy decides who may exchange documents with this participant:
// an Active entity whose document-exchange service is Active with a URI,
// while we are Active ourselves — or, during joining, the configured DAEU
// test participant while we are still inactive.
type Policy struct {
	SelfGUID            string
	TestParticipantGUID string // DAEU's test participant; may be empty
}

// MayExchange judges peer given our own entry self (nil when we are not in
// the register). It does not look at certificates; callers compare serials.
func (p Policy) MayExchange(self, peer *Entity) Decision {
	if d := peerDecision(peer); !d.Allowed {
		return d
	}
	if self == nil || self.Removed {
		return Decision{Reason: ReasonSelfUnknown, OurFault: true,
			Detail: fmt.Sprintf("our own participant %s is not in the register copy; check participant.guid and the register sync", p.SelfGUID)}
	}
	if self.Status != Active {
		if p.TestParticipantGUID != "" && strings.EqualFold(peer.GUID, p.TestParticipantGUID) {
			return Decision{Allowed: true, Reason: ReasonOK, Detail: "DAEU test participant, allowed while we are " + string(self.Status)}
		}
		return Decision{Reason: ReasonSelfInactive, OurFault: true,
			Detail: fmt.Sprintf("we are %s in the register; until DAEU activates us only its test participant may exchange with us", self.Status)}
	}
	return Decision{Allowed: true, Reason: ReasonOK, Detail: "active participant"}
}

func peerDecision(e *Entity) Decision {
	switch {
	case e == nil:
		return Decision{Reason: ReasonUnknown, Detail: "not in the register"}
	case e.Removed:
		return Decision{Reason: ReasonRemoved, Detail: fmt.Sprintf("%s is no longer in the register", e.GUID)}
	case e.Status == Inactive:
		return Decision{Reason: ReasonInactive, Detail: fmt.Sprintf("%s (%s) is inactive in the register", e.AdministrativeBodyName, e.GUID)}
	case e.Status == TemporarilyInactive:
		return Decision{Reason: ReasonTemporarilyInactive, Detail: fmt.Sprintf("%s (%s) is temporarily inactive in the register", e.AdministrativeBodyName, e.GUID)}
	case e.Status != Active:
		return Decision{Reason: ReasonInactive, Detail: fmt.Sprintf("%s has unknown register status %q", e.GUID, e.Status)}
	}
	s := e.ExchangeService()
	switch {
	case s == nil:
		return Decision{Reason: ReasonNoService, Detail: fmt.Sprintf("%s has no document-exchange service in the register", e.GUID)}
	case s.Status != Active:
		return Decision{Reason: ReasonServiceInactive, Detail: fmt.Sprintf("the document-exchange service of %s is %s", e.GUID, s.Status)}
	case strings.TrimSpace(s.URI) == "":
		return Decision{Reason: ReasonNoEndpoint, Detail: fmt.Sprintf("the document-exchange service of %s has no URI", e.GUID)}
	}
	return Decision{Allowed: true, Reason: ReasonOK}
}
