package register

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
)

// ChangeKind says what a sync did to one entity.
type ChangeKind string

const (
	Added    ChangeKind = "added"
	Updated  ChangeKind = "updated"
	Restored ChangeKind = "restored" // listed again after being marked removed
	Removed  ChangeKind = "removed"  // missing from a full listing
)

// Change is one entity a sync changed in the cache.
type Change struct {
	Kind          ChangeKind
	GUID, Name    string
	Before, After Status // Before is "" for Added
}

// Changes is what one Apply did.
type Changes struct {
	Full      bool
	Changes   []Change
	Unchanged int
	Cursor    string // the cursor in force after the apply
	// Rejected are the answer's entities left out as malformed.
	Rejected []Rejected
	// Warnings are the answer's values read as "no value".
	Warnings []Warning
	// RemovalsSkipped: a full listing had a rejected entity without a Guid,
	// which might be any participant, so nothing was marked removed.
	RemovalsSkipped bool
	// Certificates are the participants whose transport certificate serial
	// changed (a renewal, as the register lists it).
	Certificates []CertificateChange
}

// CertificateChange is a participant's CertificateSN changing in the copy.
type CertificateChange struct {
	GUID, Name string
	From, To   string // as the register wrote them
	SeenAt     time.Time
}

// Rejected is a rejected entity and what the copy did about it.
type Rejected struct {
	Rejection
	// Kept: the copy has an earlier version of this participant and keeps
	// it unchanged (and not removed); false when the copy never had it.
	Kept bool
}

// Apply stores a listing in one transaction: all of it or, on error, none.
// full says the listing is the whole register, so entities it lacks are
// marked removed (kept, so refusals can say why). cursor is the register's
// LastChange as written; "" keeps the cursor in force. Apply also records
// a successful sync in register_sync.
func (c *Cache) Apply(ctx context.Context, full bool, entities []Entity, cursor string) error {
	_, err := c.ApplyChanges(ctx, full, entities, cursor)
	return err
}

// row is an entity as stored, for comparing and writing.
type row struct {
	guid, eik, parent, name, phone, fax, email, serial, serialText, status, lastChange, services string
	removed                                                                                      bool
}

// toRow is e as stored, its free text neutralised (Entity.Neutralised):
// the copy is where every consumer reads the register from.
func toRow(orig *Entity) (row, error) {
	n := orig.Neutralised()
	e := &n
	svcs := e.Services
	if svcs == nil {
		svcs = []Service{}
	}
	js, err := json.Marshal(svcs)
	if err != nil {
		return row{}, err
	}
	serial := ""
	if strings.TrimSpace(e.CertificateSN) != "" {
		serial = pki.NormalizeSerial(e.CertificateSN)
	}
	return row{guid: strings.TrimSpace(e.GUID), eik: strings.TrimSpace(e.Identifier), parent: strings.TrimSpace(e.ParentGUID),
		name: e.AdministrativeBodyName, phone: e.Contact.Phone, fax: e.Contact.Fax, email: e.Contact.EmailAddress,
		serial: serial, serialText: strings.TrimSpace(e.CertificateSN), status: string(e.Status), lastChange: formatStamp(e.LastChange),
		services: string(js)}, nil
}

// ApplyChanges is Apply, reporting what changed.
func (c *Cache) ApplyChanges(ctx context.Context, full bool, entities []Entity, cursor string) (*Changes, error) {
	return c.ApplyListing(ctx, full, &Listing{Entities: entities}, cursor)
}

// ApplyListing is ApplyChanges for a whole answer: l's rejected entities
// are left as the copy has them (a full listing does not mark them
// removed), and reported in Changes with l's warnings.
func (c *Cache) ApplyListing(ctx context.Context, full bool, l *Listing, cursor string) (*Changes, error) {
	defer c.memo.gen.Add(1) // lookups remembered before are of the old copy
	entities := l.Entities
	rows := make(map[string]row, len(entities))
	order := make([]string, 0, len(entities))
	for i := range entities {
		e := &entities[i]
		k := guidKey(e.GUID)
		if k == "" {
			return nil, fmt.Errorf("register cache: entity #%d (EIK %q) has no GUID; nothing applied", i+1, e.Identifier)
		}
		if _, dup := rows[k]; dup {
			return nil, fmt.Errorf("register cache: GUID %s listed twice; nothing applied", e.GUID)
		}
		r, err := toRow(e)
		if err != nil {
			return nil, fmt.Errorf("register cache: entity %s: %w", e.GUID, err)
		}
		rows[k] = r
		order = append(order, k)
	}
	now := formatStamp(c.clk.Now())
	ch := &Changes{Full: full, Warnings: l.Warnings}
	// A rejected entity keeps its last good copy: a full listing must not
	// mark it removed. One without a Guid could be anyone, so then nothing is.
	spared := map[string]bool{}
	for _, r := range l.Rejected {
		if k := guidKey(r.GUID); k != "" {
			spared[k] = true
		} else if full {
			ch.RemovalsSkipped = true
		}
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("register cache: begin: %w", err)
	}
	defer tx.Rollback()
	old, err := loadRows(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, k := range order {
		r := rows[k]
		prev, known := old[k]
		switch {
		case !known:
			ch.Changes = append(ch.Changes, Change{Kind: Added, GUID: r.guid, Name: r.name, After: Status(r.status)})
		case prev.removed:
			ch.Changes = append(ch.Changes, Change{Kind: Restored, GUID: r.guid, Name: r.name, Before: Status(prev.status), After: Status(r.status)})
		case prev != r:
			ch.Changes = append(ch.Changes, Change{Kind: Updated, GUID: r.guid, Name: r.name, Before: Status(prev.status), After: Status(r.status)})
		default:
			ch.Unchanged++
		}
		if known && prev.serial != "" && r.serial != "" && prev.serial != r.serial {
			cc := CertificateChange{GUID: r.guid, Name: r.name, From: prev.serialText, To: r.serialText, SeenAt: c.clk.Now()}
			if _, err := tx.ExecContext(ctx, `INSERT INTO register_certificate_changes (guid_key, old_serial, new_serial, seen_at) VALUES (?, ?, ?, ?)`,
				k, cc.From, cc.To, now); err != nil {
				return nil, fmt.Errorf("register cache: record the certificate change of %s: %w", r.guid, err)
			}
			ch.Certificates = append(ch.Certificates, cc)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO register_entities
			(guid_key, guid, eik, parent_guid, name, phone, fax, email, certificate_sn, certificate_sn_text, status, last_change, removed, services_json, synced_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)
			ON CONFLICT (guid_key) DO UPDATE SET guid=excluded.guid, eik=excluded.eik, parent_guid=excluded.parent_guid,
			name=excluded.name, phone=excluded.phone, fax=excluded.fax, email=excluded.email,
			certificate_sn=excluded.certificate_sn, certificate_sn_text=excluded.certificate_sn_text, status=excluded.status,
			last_change=excluded.last_change, removed=0, services_json=excluded.services_json, synced_at=excluded.synced_at`,
			k, r.guid, r.eik, r.parent, r.name, r.phone, r.fax, r.email, r.serial, r.serialText, r.status, r.lastChange, r.services, now); err != nil {
			return nil, fmt.Errorf("register cache: store %s: %w", r.guid, err)
		}
	}
	for _, r := range l.Rejected {
		prev, had := old[guidKey(r.GUID)]
		ch.Rejected = append(ch.Rejected, Rejected{Rejection: r, Kept: had && !prev.removed && r.GUID != ""})
	}
	if full && !ch.RemovalsSkipped {
		for k, prev := range old {
			if _, listed := rows[k]; listed || prev.removed || spared[k] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE register_entities SET removed = 1, synced_at = ? WHERE guid_key = ?`, now, k); err != nil {
				return nil, fmt.Errorf("register cache: mark %s removed: %w", prev.guid, err)
			}
			ch.Changes = append(ch.Changes, Change{Kind: Removed, GUID: prev.guid, Name: prev.name, Before: Status(prev.status), After: Status(prev.status)})
		}
	}
	stampCol := "last_incremental_at"
	if full {
		stampCol = "last_full_at"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE register_sync SET `+stampCol+` = ?, last_success_at = ?,
		cursor = CASE WHEN ? = '' THEN cursor ELSE ? END, consecutive_failures = 0 WHERE id = 1`,
		now, now, cursor, cursor); err != nil {
		return nil, fmt.Errorf("register cache: record sync: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT cursor FROM register_sync WHERE id = 1`).Scan(&ch.Cursor); err != nil {
		return nil, fmt.Errorf("register cache: record sync: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("register cache: commit: %w", err)
	}
	return ch, nil
}

func loadRows(ctx context.Context, tx *sql.Tx) (map[string]row, error) {
	rs, err := tx.QueryContext(ctx, `SELECT guid_key, guid, eik, parent_guid, name, phone, fax, email, certificate_sn, certificate_sn_text,
		status, last_change, removed, services_json FROM register_entities`)
	if err != nil {
		return nil, fmt.Errorf("register cache: read: %w", err)
	}
	defer rs.Close()
	out := map[string]row{}
	for rs.Next() {
		var k string
		var r row
		if err := rs.Scan(&k, &r.guid, &r.eik, &r.parent, &r.name, &r.phone, &r.fax, &r.email, &r.serial, &r.serialText,
			&r.status, &r.lastChange, &r.removed, &r.services); err != nil {
			return nil, fmt.Errorf("register cache: read: %w", err)
		}
		// Compare services as toRow writes them today, so that a copy
		// stored in an older form (a numeric version) is not "updated".
		var svcs []Service
		if err := json.Unmarshal([]byte(r.services), &svcs); err == nil {
			if svcs == nil {
				svcs = []Service{}
			}
			if js, err := json.Marshal(svcs); err == nil {
				r.services = string(js)
			}
		}
		out[k] = r
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("register cache: read: %w", err)
	}
	return out, nil
}

// errNoSyncRow means the gateway database lacks its register_sync row,
// which migration 0001 creates.
var errNoSyncRow = errors.New("register_sync has no row; the gateway database was not migrated by store.OpenGateway")
