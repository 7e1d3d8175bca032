package testkit

import (
	"fmt"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/register"
)

// GUID is the n-th test participant's register GUID,
// {0000000n-0000-4000-8000-00000000000n} (n in 1..9).
func GUID(n int) string { return fmt.Sprintf("{0000000%d-0000-4000-8000-00000000000%d}", n, n) }

// Participant is a register entry: the n-th GUID, Active, its
// document-exchange service at https://n<eik>.obmen.local/seos.
func Participant(n int, eik, name string) register.Entity {
	return register.Entity{Identifier: eik, GUID: GUID(n), AdministrativeBodyName: name, Status: register.Active,
		LastChange: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи",
			URI: "https://n" + eik + ".obmen.local/seos", Status: register.Active, Version: "1"}}}
}

// Party is a participant that takes part in TLS: its register entry names
// its transport certificate.
type Party struct {
	register.Entity
	ID    *pki.Identity
	Files pki.HostFiles // its certificate and key, when written
}

// NewParty is e with id as its transport certificate.
func NewParty(e register.Entity, id *pki.Identity) Party {
	e.CertificateSN = pki.SerialHex(id.Cert)
	return Party{Entity: e, ID: id}
}

// At is p's register entry with its endpoint at url and status st.
func (p Party) At(url string, st register.Status) register.Entity {
	e := p.Entity
	e.Status = st
	e.Services = []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи", URI: url, Status: register.Active, Version: "1"}}
	return e
}
