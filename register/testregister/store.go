package testregister

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/workdays"
	"github.com/seosgw/seosgw/register"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is a GUID the register does not hold.
var ErrNotFound = errors.New("no such participant in the test register")

// ErrNoDatabase is Open with Existing of a file that is not there.
var ErrNoDatabase = errors.New("test register database does not exist")

// Register is the test register's data.
type Register struct {
	db  *sql.DB
	clk clock.Clock
	cal *workdays.Calendar
	log *slog.Logger
}

// Options configure Open; zero values take defaults.
type Options struct {
	Clock    clock.Clock        // default clock.System
	Calendar *workdays.Calendar // default: the Labour Code without decree overrides
	Log      *slog.Logger
	// Existing opens only a database that exists, for uses that read it
	// (joining cases, the conformance harness): a mistyped path then fails
	// with ErrNoDatabase instead of quietly creating an empty register.
	Existing bool
}

// Open opens (creating it if needed, unless opt.Existing) the register
// database at path.
func Open(ctx context.Context, path string, opt Options) (*Register, error) {
	if opt.Existing {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoDatabase, path)
		} else if err != nil {
			return nil, fmt.Errorf("test register: %w", err)
		}
	}
	db, err := store.Open(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("test register: %w", err)
	}
	if opt.Clock == nil {
		opt.Clock = clock.System
	}
	if opt.Calendar == nil {
		opt.Calendar = workdays.New(workdays.Overrides{})
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	r := &Register{db: db, clk: opt.Clock, cal: opt.Calendar, log: opt.Log}
	// The register's LastChange starts at its creation, so the first
	// LastChange handed out is earlier than any change.
	if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO register_meta (id, last_change) VALUES (1, ?)`, r.clk.Now().UnixMilli()); err != nil {
		db.Close()
		return nil, fmt.Errorf("test register: %w", err)
	}
	return r, nil
}

// OpenWithHolidays is Open with the working-day overrides (decree days)
// of the file holidays for the joining deadlines; "" keeps the Labour Code
// calendar alone.
func OpenWithHolidays(ctx context.Context, path, holidays string, opt Options) (*Register, error) {
	if holidays != "" {
		o, err := workdays.LoadOverrides(holidays)
		if err != nil {
			return nil, fmt.Errorf("holidays: %w", err)
		}
		opt.Calendar = workdays.New(o)
	}
	return Open(ctx, path, opt)
}

// Close closes the database.
func (r *Register) Close() error { return r.db.Close() }

func key(guid string) string { return strings.ToLower(strings.TrimSpace(guid)) }

// bump takes the LastChange of a change: now to the millisecond, as the
// real register keeps it, but always a later millisecond than any
// LastChange handed out before, so GetNewRecords(previous LastChange) sees
// it even when two changes share one.
func bump(ctx context.Context, tx *sql.Tx, now time.Time) (time.Time, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT last_change FROM register_meta WHERE id = 1`).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("read register LastChange: %w", err)
	}
	t := max(now.UnixMilli(), last+1)
	if _, err := tx.ExecContext(ctx, `UPDATE register_meta SET last_change = ? WHERE id = 1`, t); err != nil {
		return time.Time{}, fmt.Errorf("bump register LastChange: %w", err)
	}
	return time.UnixMilli(t).In(clock.Sofia), nil
}

// lastChange is the register-wide LastChange.
func (r *Register) lastChange(ctx context.Context, q querier) (time.Time, error) {
	var last int64
	if err := q.QueryRowContext(ctx, `SELECT last_change FROM register_meta WHERE id = 1`).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("test register: read LastChange: %w", err)
	}
	return time.UnixMilli(last).In(clock.Sofia), nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const cols = `guid, eik, parent_guid, name, phone, fax, email, certificate_sn, status, services_json, last_change`

func scanEntities(rows *sql.Rows) ([]register.Entity, error) {
	defer rows.Close()
	var out []register.Entity
	for rows.Next() {
		var e register.Entity
		var status, services string
		var last int64
		if err := rows.Scan(&e.GUID, &e.Identifier, &e.ParentGUID, &e.AdministrativeBodyName, &e.Contact.Phone,
			&e.Contact.Fax, &e.Contact.EmailAddress, &e.CertificateSN, &status, &services, &last); err != nil {
			return nil, fmt.Errorf("test register: read entity: %w", err)
		}
		e.Status = register.Status(status)
		e.LastChange = time.UnixMilli(last).In(clock.Sofia)
		if err := json.Unmarshal([]byte(services), &e.Services); err != nil {
			return nil, fmt.Errorf("test register: entity %s services: %w", e.GUID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("test register: %w", err)
	}
	return out, nil
}

func (r *Register) entities(ctx context.Context, q querier, where string, args ...any) ([]register.Entity, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM entities `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("test register: %w", err)
	}
	return scanEntities(rows)
}

func (r *Register) get(ctx context.Context, q querier, guid string) (*register.Entity, error) {
	es, err := r.entities(ctx, q, `WHERE guid_key = ?`, key(guid))
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, guid)
	}
	return &es[0], nil
}

// check validates an entity before it is stored and normalises its serial.
func check(e *register.Entity) error {
	e.GUID = strings.TrimSpace(e.GUID)
	e.Identifier = strings.TrimSpace(e.Identifier)
	e.ParentGUID = strings.TrimSpace(e.ParentGUID)
	switch {
	case !seos.IsGUID(e.GUID):
		return fmt.Errorf("GUID %q is not a GUID in braces, e.g. {7060efa8-f1fa-4938-8b2b-12a78c86988f}", e.GUID)
	case e.ParentGUID != "" && !seos.IsGUID(e.ParentGUID):
		return fmt.Errorf("parent GUID %q is not a GUID in braces", e.ParentGUID)
	case e.Identifier == "":
		return fmt.Errorf("%s: empty EIK", e.GUID)
	case strings.TrimSpace(e.AdministrativeBodyName) == "":
		return fmt.Errorf("%s: empty administrative body name", e.GUID)
	case !e.Status.Valid():
		return fmt.Errorf("%s: status %q; use Active, Inactive or TemporarilyInactive", e.GUID, e.Status)
	}
	if s := strings.TrimSpace(e.CertificateSN); s != "" {
		e.CertificateSN = pki.NormalizeSerial(s)
		if !isHex(e.CertificateSN) {
			return fmt.Errorf("%s: certificate serial %q is not hex", e.GUID, s)
		}
	}
	seen := map[string]bool{}
	for i := range e.Services {
		s := &e.Services[i]
		if err := checkService(s); err != nil {
			return fmt.Errorf("%s: %w", e.GUID, err)
		}
		if seen[key(s.GUID)] {
			return fmt.Errorf("%s: service %s listed twice", e.GUID, s.GUID)
		}
		seen[key(s.GUID)] = true
	}
	return nil
}

func checkService(s *register.Service) error {
	s.GUID = strings.TrimSpace(s.GUID)
	switch {
	case !seos.IsGUID(s.GUID):
		return fmt.Errorf("service GUID %q is not a GUID in braces", s.GUID)
	case !s.Status.Valid():
		return fmt.Errorf("service %s: status %q; use Active, Inactive or TemporarilyInactive", s.GUID, s.Status)
	case !isInteger(string(s.Version)):
		return fmt.Errorf("service %s: version %q is not an integer: the register WSDL declares Version xsd:integer, so write e.g. 1, not 1.0", s.GUID, s.Version)
	}
	return nil
}

// isInteger is xsd:integer's lexical space: an optional sign and digits.
func isInteger(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// put writes e (already checked) with LastChange t.
func put(ctx context.Context, tx *sql.Tx, e *register.Entity, t time.Time) error {
	svcs := e.Services
	if svcs == nil {
		svcs = []register.Service{}
	}
	js, err := json.Marshal(svcs)
	if err != nil {
		return err
	}
	e.LastChange = t
	_, err = tx.ExecContext(ctx, `INSERT INTO entities (guid_key, `+cols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (guid_key) DO UPDATE SET guid=excluded.guid, eik=excluded.eik, parent_guid=excluded.parent_guid,
		name=excluded.name, phone=excluded.phone, fax=excluded.fax, email=excluded.email, certificate_sn=excluded.certificate_sn,
		status=excluded.status, services_json=excluded.services_json, last_change=excluded.last_change`,
		key(e.GUID), e.GUID, e.Identifier, e.ParentGUID, e.AdministrativeBodyName, e.Contact.Phone, e.Contact.Fax,
		e.Contact.EmailAddress, e.CertificateSN, string(e.Status), string(js), t.UnixMilli())
	if err != nil {
		return fmt.Errorf("store %s: %w", e.GUID, err)
	}
	return nil
}

// change runs f on the stored entity guid in a transaction, then stores
// it with a new LastChange.
func (r *Register) change(ctx context.Context, guid string, f func(tx *sql.Tx, e *register.Entity) error) (*register.Entity, error) {
	var out *register.Entity
	err := store.InTx(ctx, r.db, func(tx *sql.Tx) error {
		e, err := r.get(ctx, tx, guid)
		if err != nil {
			return err
		}
		if err := f(tx, e); err != nil {
			return err
		}
		if err := check(e); err != nil {
			return err
		}
		t, err := bump(ctx, tx, r.clk.Now())
		if err != nil {
			return err
		}
		out = e
		return put(ctx, tx, e, t)
	})
	if err != nil {
		return nil, fmt.Errorf("test register: %w", err)
	}
	return out, nil
}
