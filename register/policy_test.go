package register

import "testing"

func entity(guid string, st Status, svc *Service) *Entity {
	e := &Entity{GUID: guid, AdministrativeBodyName: "Община", Status: st, CertificateSN: "0A1B"}
	if svc != nil {
		e.Services = []Service{{GUID: "{00000000-0000-0000-0000-000000000001}", Name: "other", Status: Active, URI: "https://x"}, *svc}
	}
	return e
}

func svc(st Status, uri string) *Service {
	return &Service{GUID: "{7060EFA8-F1FA-4938-8B2B-12A78C86988F}", Name: "Обмен", Status: st, URI: uri, Version: "1"}
}

func TestPolicy(t *testing.T) {
	const self, peer, daeu = "{11111111-1111-1111-1111-111111111111}", "{22222222-2222-2222-2222-222222222222}", "{33333333-3333-3333-3333-333333333333}"
	ok := svc(Active, "https://b.obmen.local:4443/seos")
	activeSelf := entity(self, Active, ok)
	inactiveSelf := entity(self, Inactive, ok)
	removed := entity(peer, Active, ok)
	removed.Removed = true
	p := Policy{SelfGUID: self, TestParticipantGUID: daeu}
	cases := []struct {
		name       string
		self, peer *Entity
		allowed    bool
		reason     Reason
		ourFault   bool
	}{
		{"active peer", activeSelf, entity(peer, Active, ok), true, ReasonOK, false},
		{"unknown peer", activeSelf, nil, false, ReasonUnknown, false},
		{"removed peer", activeSelf, removed, false, ReasonRemoved, false},
		{"inactive peer", activeSelf, entity(peer, Inactive, ok), false, ReasonInactive, false},
		{"temporarily inactive peer", activeSelf, entity(peer, TemporarilyInactive, ok), false, ReasonTemporarilyInactive, false},
		{"odd status", activeSelf, entity(peer, "Suspended", ok), false, ReasonInactive, false},
		{"no service", activeSelf, entity(peer, Active, nil), false, ReasonNoService, false},
		{"service inactive", activeSelf, entity(peer, Active, svc(Inactive, "https://x")), false, ReasonServiceInactive, false},
		{"service temporarily inactive", activeSelf, entity(peer, Active, svc(TemporarilyInactive, "https://x")), false, ReasonServiceInactive, false},
		{"service without URI", activeSelf, entity(peer, Active, svc(Active, " ")), false, ReasonNoEndpoint, false},
		{"we are not listed", nil, entity(peer, Active, ok), false, ReasonSelfUnknown, true},
		{"we are inactive", inactiveSelf, entity(peer, Active, ok), false, ReasonSelfInactive, true},
		{"we are inactive, DAEU tests us", inactiveSelf, entity(daeu, Active, ok), true, ReasonOK, false},
		{"we are inactive, inactive DAEU", inactiveSelf, entity(daeu, Inactive, ok), false, ReasonInactive, false},
		{"test participant lower-case", inactiveSelf, entity("{33333333-3333-3333-3333-333333333333}", Active, ok), true, ReasonOK, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.MayExchange(c.self, c.peer)
			if d.Allowed != c.allowed || d.Reason != c.reason || d.OurFault != c.ourFault {
				t.Errorf("got %+v", d)
			}
			if d.Detail == "" && !d.Allowed {
				t.Error("refusal without detail")
			}
		})
	}
	if (Policy{SelfGUID: self}).MayExchange(inactiveSelf, entity(daeu, Active, ok)).Allowed {
		t.Error("without a configured test participant an inactive node must not exchange")
	}
}

func TestHasCertificate(t *testing.T) {
	e := &Entity{CertificateSN: "00:9f:2d"}
	for serial, want := range map[string]bool{"9F2D": true, "009F2D": true, "9f:2d": true, "9F2E": false, "": false} {
		if e.HasCertificate(serial) != want {
			t.Errorf("%q: want %v", serial, want)
		}
	}
	if (&Entity{}).HasCertificate("") {
		t.Error("empty register serial matched")
	}
}
