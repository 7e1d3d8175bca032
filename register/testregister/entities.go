package testregister

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/workdays"
	"github.com/seosgw/seosgw/register"
)

// ErrActivation is a status change that would skip the joining procedure.
var ErrActivation = errors.New("Inactive → Active only through `seosgw register admin activate GUID`, which wants a passing verdict on the joining case (or --force)")

// ExchangeService is the document-exchange service at uri, Active, as
// `admin add --uri` enters it.
func ExchangeService(uri string) register.Service {
	return register.Service{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи", URI: uri,
		Status: register.Active, Type: "SEOS", Version: "1"}
}

// TransportCertFromFile reads a transport certificate (PEM) for the admin
// CLI: its serial as the register stores it, and its issue date (NotBefore
// as a Bulgarian civil date), which starts a joining case's deadline.
func TransportCertFromFile(path string) (serial string, issued time.Time, err error) {
	certs, err := pki.LoadCertificates(path)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(certs) == 0 {
		return "", time.Time{}, fmt.Errorf("%s holds no certificate", path)
	}
	return pki.SerialHex(certs[0]), workdays.SofiaDate(certs[0].NotBefore), nil
}

// Add enters a new participant. Status defaults to Inactive. With join, it
// also opens the participant's joining case (PROTOCOL.md §7) and the status
// must not be Active: a joining participant is activated by Activate.
func (r *Register) Add(ctx context.Context, e register.Entity, join *Joining) (*register.Entity, error) {
	if e.Status == "" {
		e.Status = register.Inactive
	}
	if err := check(&e); err != nil {
		return nil, fmt.Errorf("test register: add: %w", err)
	}
	if join != nil && e.Status == register.Active {
		return nil, fmt.Errorf("test register: add %s: %w", e.GUID, ErrActivation)
	}
	err := store.InTx(ctx, r.db, func(tx *sql.Tx) error {
		if _, err := r.get(ctx, tx, e.GUID); err == nil {
			return fmt.Errorf("%s is already in the register; change it with set-status, set-cert or set-service", e.GUID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		t, err := bump(ctx, tx, r.clk.Now())
		if err != nil {
			return err
		}
		if err := put(ctx, tx, &e, t); err != nil {
			return err
		}
		if join != nil {
			return r.openCase(ctx, tx, e.GUID, *join)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("test register: add: %w", err)
	}
	r.log.InfoContext(ctx, "participant added", "guid", e.GUID, "eik", e.Identifier, "status", string(e.Status), "joining", join != nil)
	return &e, nil
}

// SetStatus changes a participant's status under checkTransition: it is
// never a way from Inactive (or an open joining case) to Active.
func (r *Register) SetStatus(ctx context.Context, guid string, st register.Status) (*register.Entity, error) {
	return r.change(ctx, guid, func(tx *sql.Tx, e *register.Entity) error {
		c, err := r.openCaseOf(ctx, tx, e.GUID)
		if err != nil {
			return err
		}
		if err := checkTransition(e.GUID, e.Status, c != nil, st); err != nil {
			return err
		}
		e.Status = st
		return nil
	})
}

// checkTransition is the status rule shared by SetStatus and Import.
// Active is reached from Inactive only through Activate; TemporarilyInactive
// suspends a live participant, so it is entered only from Active, and left
// for Active only when no joining case is open. Otherwise Inactive →
// TemporarilyInactive → Active would be a back door.
func checkTransition(guid string, from register.Status, openCase bool, to register.Status) error {
	if from == to {
		return nil
	}
	switch to {
	case register.Active:
		if from == register.Inactive {
			return fmt.Errorf("%s is Inactive: %w", guid, ErrActivation)
		}
		if openCase {
			return fmt.Errorf("%s has an open joining case: %w", guid, ErrActivation)
		}
	case register.TemporarilyInactive:
		if from != register.Active {
			return fmt.Errorf("%s is %s; TemporarilyInactive only suspends an Active participant", guid, from)
		}
	}
	return nil
}

// SetCertificate records a new transport certificate serial (any notation).
// A non-zero issued date also goes into the open joining case, where it
// starts the test deadline.
func (r *Register) SetCertificate(ctx context.Context, guid, serial string, issued time.Time) (*register.Entity, error) {
	return r.change(ctx, guid, func(tx *sql.Tx, e *register.Entity) error {
		e.CertificateSN = serial
		if issued.IsZero() {
			return nil
		}
		return r.caseCertIssued(ctx, tx, e.GUID, issued, false)
	})
}

// UpdateService changes the service serviceGUID ("" = the document-exchange
// service) of a participant with f, adding it first if it is missing. A new
// exchange service starts Active as "Обмен на документи", type SEOS, version 1.
func (r *Register) UpdateService(ctx context.Context, guid, serviceGUID string, f func(*register.Service)) (*register.Entity, error) {
	if serviceGUID == "" {
		serviceGUID = register.ExchangeServiceGUID
	}
	return r.change(ctx, guid, func(tx *sql.Tx, e *register.Entity) error {
		for i := range e.Services {
			if strings.EqualFold(e.Services[i].GUID, serviceGUID) {
				f(&e.Services[i])
				return nil
			}
		}
		s := register.Service{GUID: serviceGUID, Status: register.Active, Version: "1"}
		if strings.EqualFold(serviceGUID, register.ExchangeServiceGUID) {
			s.GUID, s.Name, s.Type = register.ExchangeServiceGUID, "Обмен на документи", "SEOS"
		}
		f(&s)
		e.Services = append(e.Services, s)
		return nil
	})
}

// RemoveService drops a service from a participant.
func (r *Register) RemoveService(ctx context.Context, guid, serviceGUID string) (*register.Entity, error) {
	return r.change(ctx, guid, func(tx *sql.Tx, e *register.Entity) error {
		for i := range e.Services {
			if strings.EqualFold(e.Services[i].GUID, serviceGUID) {
				e.Services = append(e.Services[:i], e.Services[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("%s has no service %s", e.GUID, serviceGUID)
	})
}

// Remove deletes a participant (and its joining cases). GetNewRecords
// cannot show a deletion; nodes find out at their next full sync.
func (r *Register) Remove(ctx context.Context, guid string) error {
	err := store.InTx(ctx, r.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM entities WHERE guid_key = ?`, key(guid))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, guid)
		}
		_, err = bump(ctx, tx, r.clk.Now())
		return err
	})
	if err != nil {
		return fmt.Errorf("test register: remove: %w", err)
	}
	return nil
}

// Get returns one participant, or ErrNotFound.
func (r *Register) Get(ctx context.Context, guid string) (*register.Entity, error) {
	return r.get(ctx, r.db, guid)
}

// List returns every participant by name.
func (r *Register) List(ctx context.Context) ([]register.Entity, error) {
	return r.entities(ctx, r.db, `ORDER BY name, guid_key`)
}

// The queries behind the five SOAP operations. Each answer carries the
// register-wide LastChange, read in the same transaction as the entities.

// All answers GetAllRecords.
func (r *Register) All(ctx context.Context) (*register.Listing, error) {
	return r.listing(ctx, `ORDER BY last_change, guid_key`)
}

// Since answers GetNewRecords: the participants changed after t.
func (r *Register) Since(ctx context.Context, t time.Time) (*register.Listing, error) {
	return r.listing(ctx, `WHERE last_change > ? ORDER BY last_change, guid_key`, t.UnixMilli())
}

// ByEIK answers GetByEntityIdentifier.
func (r *Register) ByEIK(ctx context.Context, eik string) (*register.Listing, error) {
	return r.listing(ctx, `WHERE eik = ? ORDER BY guid_key`, strings.TrimSpace(eik))
}

// ByGUID answers GetByGuid.
func (r *Register) ByGUID(ctx context.Context, guid string) (*register.Listing, error) {
	return r.listing(ctx, `WHERE guid_key = ?`, key(guid))
}

// BySerial answers GetByCertificateSN (any notation of the serial).
func (r *Register) BySerial(ctx context.Context, serial string) (*register.Listing, error) {
	return r.listing(ctx, `WHERE certificate_sn = ? AND certificate_sn != '' ORDER BY guid_key`, pki.NormalizeSerial(serial))
}

func (r *Register) listing(ctx context.Context, where string, args ...any) (*register.Listing, error) {
	tx, err := r.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("test register: %w", err)
	}
	defer tx.Rollback()
	es, err := r.entities(ctx, tx, where, args...)
	if err != nil {
		return nil, err
	}
	last, err := r.lastChange(ctx, tx)
	if err != nil {
		return nil, err
	}
	return &register.Listing{Entities: es, LastChange: last}, nil
}
