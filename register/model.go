// Package register is seosgw's view of the DAEU participant register: the
// participant model, the status policy every exchange is judged by, the
// register client, its sync loop and the local cache.
//
// The cache (Cache) shares the gateway database file: its tables
// register_entities and register_sync come with the gateway's migrations in
// gateway/store, so one file holds all a node knows and backs up
// consistently. The register's SOAP client is in register/daeu, the test
// register service in register/testregister.
package register

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/textsafe"
)

// Status of an entity or a service in the register.
type Status string

const (
	Active              Status = "Active"
	Inactive            Status = "Inactive"
	TemporarilyInactive Status = "TemporarilyInactive"
)

// Valid reports whether s is one of the register's status strings.
func (s Status) Valid() bool { return s == Active || s == Inactive || s == TemporarilyInactive }

// ParseStatus reads a status as the register writes it.
func ParseStatus(s string) (Status, error) {
	if st := Status(strings.TrimSpace(s)); st.Valid() {
		return st, nil
	}
	return "", fmt.Errorf("status %q; use Active, Inactive or TemporarilyInactive", s)
}

// ExchangeServiceGUID identifies the document-exchange service; its URI is
// the participant's Submit endpoint.
const ExchangeServiceGUID = "{7060efa8-f1fa-4938-8b2b-12a78c86988f}"

// Contact is Entity/Contact.
type Contact struct {
	Phone        string `json:"phone,omitempty"`
	Fax          string `json:"fax,omitempty"`
	EmailAddress string `json:"email,omitempty"`
}

// Service is one service of an entity.
type Service struct {
	GUID    string  `json:"guid"`
	Name    string  `json:"name"`
	URI     string  `json:"uri"`
	Status  Status  `json:"status"`
	Type    string  `json:"type,omitempty"`
	Version Version `json:"version"`
}

// Version is a service's Version exactly as the register wrote it. The WSDL
// says xsd:integer, but the .NET register's class has a string and writes
// "1.0"; the text is kept, nothing reads a number out of it.
type Version string

// UnmarshalJSON also reads the JSON number that copies and test register
// exports made before the version was kept as text.
func (v *Version) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = Version(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("service version %s is neither text nor a number", b)
	}
	*v = Version(n.String())
	return nil
}

// Entity is a participant as the register lists it.
type Entity struct {
	Identifier             string  `json:"eik"` // EntityIdentifier: EIK/BULSTAT
	GUID                   string  `json:"guid"`
	ParentGUID             string  `json:"parentGuid,omitempty"`
	AdministrativeBodyName string  `json:"name"`
	Contact                Contact `json:"contact"`
	// CertificateSN is the transport certificate's serial as the register
	// wrote it (case, leading zeros): GetByCertificateSN must be asked with
	// that text. Compare serials with HasCertificate.
	CertificateSN string    `json:"certificateSN"`
	Services      []Service `json:"services"`
	// LastChange is zero when the register left it unset (.NET's
	// 0001-01-01T00:00:00).
	LastChange time.Time `json:"lastChange"`
	Status     Status    `json:"status"`
	// Removed marks an entity that a full listing no longer contains; the
	// cache keeps it so that refusals can say so instead of "unknown".
	Removed bool `json:"removed,omitempty"`
}

// Node is the participant as a message header names it (EntityNodeType):
// the register's EIK, name and GUID.
func (e *Entity) Node() seos.Entity {
	return seos.Entity{Identifier: e.Identifier, AdministrativeBodyName: e.AdministrativeBodyName, GUID: e.GUID}
}

// ExchangeService returns the document-exchange service, or nil.
func (e *Entity) ExchangeService() *Service {
	for i := range e.Services {
		if strings.EqualFold(e.Services[i].GUID, ExchangeServiceGUID) {
			return &e.Services[i]
		}
	}
	return nil
}

// HasCertificate reports whether serial (any notation) is the entity's
// transport certificate serial.
func (e *Entity) HasCertificate(serial string) bool {
	return e.CertificateSN != "" && pki.NormalizeSerial(e.CertificateSN) == pki.NormalizeSerial(serial)
}

// maxRegisterText bounds a free-text value of the register kept in the
// copy, in bytes (a long Bulgarian name is a few hundred).
const maxRegisterText = 1024

// Neutralised is e as the copy stores it: the register's free text — the
// EIK, names, contacts, service names, addresses and types — passed
// through gateway/textsafe, so that control characters, C1 (U+009B is an
// 8-bit CSI) and bidi overrides a peer put in its register entry reach no
// operator, AIS, log, metric label or console as anything but visible
// escapes, and very long values are cut. Legitimate values are unchanged.
// GUIDs stay as written: they are keys, matched against messages, and
// every display escapes them.
func (e Entity) Neutralised() Entity {
	cut := func(s string) string { return textsafe.Cut(s, maxRegisterText) }
	e.Identifier = textsafe.Cut(e.Identifier, 64)
	e.AdministrativeBodyName = cut(e.AdministrativeBodyName)
	e.Contact = Contact{Phone: cut(e.Contact.Phone), Fax: cut(e.Contact.Fax), EmailAddress: cut(e.Contact.EmailAddress)}
	if e.Services != nil {
		svcs := make([]Service, len(e.Services))
		for i, s := range e.Services {
			s.Name, s.URI, s.Type, s.Version = cut(s.Name), cut(s.URI), cut(s.Type), Version(cut(string(s.Version)))
			svcs[i] = s
		}
		e.Services = svcs
	}
	return e
}
