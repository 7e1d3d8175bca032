package testregister

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
)

// DumpFormat names the JSON of Export and Import.
const DumpFormat = "seosgw-test-register/1"

// Dump is the whole test register as JSON.
type Dump struct {
	Format     string            `json:"format"`
	LastChange time.Time         `json:"lastChange"`
	Entities   []register.Entity `json:"entities"`
	Cases      []CaseRecord      `json:"cases"`
}

// CaseRecord is a joining case as stored; deadlines are derived, not kept.
type CaseRecord struct {
	GUID         string          `json:"guid"`
	State        CaseState       `json:"state"`
	AppliedOn    string          `json:"appliedOn"`              // YYYY-MM-DD
	CertIssuedOn string          `json:"certIssuedOn,omitempty"` // YYYY-MM-DD
	OpenedAt     time.Time       `json:"openedAt"`
	ClosedAt     *time.Time      `json:"closedAt,omitempty"`
	Verdicts     []VerdictRecord `json:"verdicts,omitempty"`
}

// Export writes the register, participants and joining cases, as JSON.
func (r *Register) Export(ctx context.Context, w io.Writer) error {
	tx, err := r.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("test register: export: %w", err)
	}
	defer tx.Rollback()
	d := Dump{Format: DumpFormat, Entities: []register.Entity{}, Cases: []CaseRecord{}}
	if d.LastChange, err = r.lastChange(ctx, tx); err != nil {
		return err
	}
	es, err := r.entities(ctx, tx, `ORDER BY guid_key`)
	if err != nil {
		return err
	}
	d.Entities = append(d.Entities, es...)
	cs, err := r.cases(ctx, tx, `ORDER BY c.guid_key, c.id`)
	if err != nil {
		return err
	}
	for _, c := range cs {
		rec := CaseRecord{GUID: c.GUID, State: c.State, AppliedOn: formatDate(c.AppliedOn), CertIssuedOn: formatDate(c.CertIssuedOn),
			OpenedAt: c.OpenedAt, Verdicts: c.Verdicts}
		if !c.ClosedAt.IsZero() {
			closed := c.ClosedAt
			rec.ClosedAt = &closed
		}
		d.Cases = append(d.Cases, rec)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("test register: export: %w", err)
	}
	return nil
}

// ExportFile writes Export into the file path, whole or not at all: into a
// temporary file beside it, synced, then renamed over path, so a failed
// export never leaves a partial file where a good one is expected.
func (r *Register) ExportFile(ctx context.Context, path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("test register: export: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	if err := r.Export(ctx, w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("test register: export %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("test register: export %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("test register: export %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("test register: export %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("test register: export %s: %w", path, err)
	}
	return nil
}

// ImportOptions adjust Import.
type ImportOptions struct {
	// Force lets statuses through that would skip the joining procedure
	// (see checkTransition); for seeding test environments.
	Force bool
	// KeepLastChange keeps the file's LastChange values (a restore) instead
	// of stamping every imported participant as changed now. Nodes then see
	// the restored entries at their next full sync.
	KeepLastChange bool
}

// ImportResult counts what Import stored.
type ImportResult struct{ Entities, Cases int }

// Import merges a Dump into the register in one transaction: participants
// are added or replaced by GUID; a participant's joining cases in the file
// replace its cases in the register. Nothing is stored if anything is wrong.
func (r *Register) Import(ctx context.Context, rd io.Reader, opt ImportOptions) (ImportResult, error) {
	var d Dump
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return ImportResult{}, fmt.Errorf("test register: import: %w", err)
	}
	if d.Format != DumpFormat {
		return ImportResult{}, fmt.Errorf("test register: import: format %q, want %q", d.Format, DumpFormat)
	}
	inFile := map[string]bool{}
	for i := range d.Entities {
		e := &d.Entities[i]
		if e.Removed {
			return ImportResult{}, fmt.Errorf("test register: import: %s: \"removed\" is a node's cache flag, not register data", e.GUID)
		}
		if err := check(e); err != nil {
			return ImportResult{}, fmt.Errorf("test register: import: %w", err)
		}
		if inFile[key(e.GUID)] {
			return ImportResult{}, fmt.Errorf("test register: import: %s listed twice", e.GUID)
		}
		inFile[key(e.GUID)] = true
	}
	fileCases := map[string][]CaseRecord{}
	for _, c := range d.Cases {
		if err := checkCaseRecord(c); err != nil {
			return ImportResult{}, fmt.Errorf("test register: import: %w", err)
		}
		k := key(c.GUID)
		for _, o := range fileCases[k] {
			if o.State == CaseOpen && c.State == CaseOpen {
				return ImportResult{}, fmt.Errorf("test register: import: %s has two open joining cases", c.GUID)
			}
		}
		fileCases[k] = append(fileCases[k], c)
	}
	res := ImportResult{Entities: len(d.Entities), Cases: len(d.Cases)}
	err := store.InTx(ctx, r.db, func(tx *sql.Tx) error {
		stamp := time.Time{}
		if !opt.KeepLastChange {
			var err error
			if stamp, err = bump(ctx, tx, r.clk.Now()); err != nil {
				return err
			}
		}
		latest := d.LastChange
		var held int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM entities`).Scan(&held); err != nil {
			return err
		}
		empty := held == 0
		for i := range d.Entities {
			e := &d.Entities[i]
			if err := r.checkImport(ctx, tx, e, fileCases, opt.Force); err != nil {
				return err
			}
			t := stamp
			if opt.KeepLastChange {
				if t = e.LastChange; t.IsZero() {
					return fmt.Errorf("%s has no lastChange to keep", e.GUID)
				}
				t = t.In(clock.Sofia)
			}
			latest = later(latest, t)
			if err := put(ctx, tx, e, t); err != nil {
				return err
			}
		}
		if opt.KeepLastChange {
			// The register's LastChange never goes back, except that a
			// restore into an empty register takes the file's: its own is
			// only when the file was created, to the millisecond.
			q := `UPDATE register_meta SET last_change = max(last_change, ?) WHERE id = 1`
			if empty {
				q = `UPDATE register_meta SET last_change = ? WHERE id = 1`
			}
			if _, err := tx.ExecContext(ctx, q, latest.UnixMilli()); err != nil {
				return err
			}
		}
		for _, c := range d.Cases {
			if !inFile[key(c.GUID)] {
				if _, err := r.get(ctx, tx, c.GUID); err != nil {
					return fmt.Errorf("joining case of %w", err)
				}
			}
		}
		for k := range fileCases {
			if _, err := tx.ExecContext(ctx, `DELETE FROM joining_cases WHERE guid_key = ?`, k); err != nil {
				return err
			}
		}
		for _, c := range d.Cases {
			if err := insertCase(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("test register: import: %w", err)
	}
	return res, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// checkImport applies the status rule to an imported participant, against
// what the register holds and the cases the file brings.
func (r *Register) checkImport(ctx context.Context, tx *sql.Tx, e *register.Entity, fileCases map[string][]CaseRecord, force bool) error {
	if force {
		return nil
	}
	open := false
	if cs, ok := fileCases[key(e.GUID)]; ok {
		for _, c := range cs {
			open = open || c.State == CaseOpen
		}
	} else {
		c, err := r.openCaseOf(ctx, tx, e.GUID)
		if err != nil {
			return err
		}
		open = c != nil
	}
	cur, err := r.get(ctx, tx, e.GUID)
	switch {
	case errors.Is(err, ErrNotFound):
		if e.Status == register.Active && open {
			return fmt.Errorf("%s has an open joining case: %w (or import with --force)", e.GUID, ErrActivation)
		}
		return nil
	case err != nil:
		return err
	}
	if err := checkTransition(e.GUID, cur.Status, open, e.Status); err != nil {
		return fmt.Errorf("%w (or import with --force)", err)
	}
	return nil
}

func checkCaseRecord(c CaseRecord) error {
	switch c.State {
	case CaseOpen, CaseActivated, CaseWithdrawn:
	default:
		return fmt.Errorf("case of %s: state %q; use open, activated or withdrawn", c.GUID, c.State)
	}
	if _, err := Date(c.AppliedOn); err != nil {
		return fmt.Errorf("case of %s: appliedOn: %w", c.GUID, err)
	}
	if c.CertIssuedOn != "" {
		if _, err := Date(c.CertIssuedOn); err != nil {
			return fmt.Errorf("case of %s: certIssuedOn: %w", c.GUID, err)
		}
	}
	if c.OpenedAt.IsZero() {
		return fmt.Errorf("case of %s: openedAt is missing", c.GUID)
	}
	for _, v := range c.Verdicts {
		if v.Verdict != Pass && v.Verdict != Fail {
			return fmt.Errorf("case of %s: verdict %q; use pass or fail", c.GUID, v.Verdict)
		}
	}
	return nil
}

func insertCase(ctx context.Context, tx *sql.Tx, c CaseRecord) error {
	closed := ""
	if c.ClosedAt != nil {
		closed = c.ClosedAt.UTC().Format(time.RFC3339)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO joining_cases (guid_key, applied_on, cert_issued_on, state, opened_at, closed_at) VALUES (?,?,?,?,?,?)`,
		key(c.GUID), c.AppliedOn, c.CertIssuedOn, string(c.State), c.OpenedAt.UTC().Format(time.RFC3339), closed)
	if err != nil {
		return fmt.Errorf("case of %s: %w", c.GUID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, v := range c.Verdicts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO verdicts (case_id, recorded_at, verdict, report) VALUES (?,?,?,?)`,
			id, v.At.UTC().Format(time.RFC3339Nano), string(v.Verdict), v.Report); err != nil {
			return fmt.Errorf("case of %s: verdict: %w", c.GUID, err)
		}
	}
	return nil
}
