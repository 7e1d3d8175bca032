package testregister

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/workdays"
	"github.com/seosgw/seosgw/register"
)

// TestWorkingDays is how long DAEU has to test a joining participant:
// 14 working days from the application and the issue of the test
// transport certificate (PROTOCOL.md §7), so from the later of the two.
const TestWorkingDays = 14

const dateLayout = "2006-01-02"

// Joining starts a joining case.
type Joining struct {
	Applied    time.Time // date of the application
	CertIssued time.Time // date the test transport certificate was issued; zero if not yet
}

// Verdict is the result of DAEU's test of a joining participant.
type Verdict string

const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
)

// CaseState is where a joining case stands.
type CaseState string

const (
	CaseOpen      CaseState = "open"
	CaseActivated CaseState = "activated" // the participant went live
	CaseWithdrawn CaseState = "withdrawn" // closed without going live
)

// VerdictRecord is one recorded test result.
type VerdictRecord struct {
	At      time.Time `json:"at"`
	Verdict Verdict   `json:"verdict"`
	Report  string    `json:"report,omitempty"` // path of the conformance report
}

// Case is a joining case as the admin CLI and the conformance harness see it.
type Case struct {
	ID     int64
	GUID   string
	Name   string
	Status register.Status // the participant's status now
	State  CaseState
	// Civil dates, midnight Europe/Sofia.
	AppliedOn    time.Time
	CertIssuedOn time.Time // zero until the test certificate is issued
	// Deadline is TestWorkingDays working days (Bulgarian calendar) after
	// the later of AppliedOn and CertIssuedOn; zero until both are known.
	Deadline time.Time
	// WorkingDaysLeft counts working days from today (Sofia) to Deadline:
	// 0 on the deadline itself, negative once it has passed.
	WorkingDaysLeft int
	OpenedAt        time.Time
	ClosedAt        time.Time
	Verdicts        []VerdictRecord // oldest first
}

// LastVerdict is the most recent verdict, or nil.
func (c *Case) LastVerdict() *VerdictRecord {
	if len(c.Verdicts) == 0 {
		return nil
	}
	return &c.Verdicts[len(c.Verdicts)-1]
}

// Passed reports whether the most recent verdict is Pass.
func (c *Case) Passed() bool { v := c.LastVerdict(); return v != nil && v.Verdict == Pass }

// Deadline returns the test deadline for a case with these dates, or the
// zero time while the certificate is not issued.
func (r *Register) Deadline(applied, certIssued time.Time) time.Time {
	if applied.IsZero() || certIssued.IsZero() {
		return time.Time{}
	}
	start := applied
	if certIssued.After(start) {
		start = certIssued
	}
	return r.cal.AddWorkingDays(start, TestWorkingDays)
}

// Date reads a civil date YYYY-MM-DD as midnight Europe/Sofia.
func Date(s string) (time.Time, error) {
	t, err := time.ParseInLocation(dateLayout, strings.TrimSpace(s), clock.Sofia)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return t, nil
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

func civil(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, clock.Sofia)
}

// OpenCase opens the joining case of a participant already in the
// register. It must not be Active and must have no open case.
func (r *Register) OpenCase(ctx context.Context, guid string, j Joining) (*Case, error) {
	err := store.InTx(ctx, r.db, func(tx *sql.Tx) error { return r.openCase(ctx, tx, guid, j) })
	if err != nil {
		return nil, fmt.Errorf("test register: open case: %w", err)
	}
	return r.Case(ctx, guid)
}

func (r *Register) openCase(ctx context.Context, tx *sql.Tx, guid string, j Joining) error {
	e, err := r.get(ctx, tx, guid)
	if err != nil {
		return err
	}
	if e.Status == register.Active {
		return fmt.Errorf("%s is already Active; a joining case is for participants not yet live", e.GUID)
	}
	if j.Applied.IsZero() {
		return errors.New("the application date is required")
	}
	if c, err := r.openCaseOf(ctx, tx, guid); err != nil {
		return err
	} else if c != nil {
		return fmt.Errorf("%s already has an open joining case (applied %s)", e.GUID, formatDate(c.AppliedOn))
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO joining_cases (guid_key, applied_on, cert_issued_on, state, opened_at) VALUES (?,?,?,?,?)`,
		key(guid), formatDate(civil(j.Applied)), formatDate(civil(j.CertIssued)), string(CaseOpen), r.clk.Now().UTC().Format(time.RFC3339))
	return err
}

// CaseCertIssued records the issue date of the test transport certificate
// in the open joining case.
func (r *Register) CaseCertIssued(ctx context.Context, guid string, issued time.Time) (*Case, error) {
	err := store.InTx(ctx, r.db, func(tx *sql.Tx) error { return r.caseCertIssued(ctx, tx, guid, issued, true) })
	if err != nil {
		return nil, fmt.Errorf("test register: %w", err)
	}
	return r.Case(ctx, guid)
}

func (r *Register) caseCertIssued(ctx context.Context, tx *sql.Tx, guid string, issued time.Time, mustHaveCase bool) error {
	res, err := tx.ExecContext(ctx, `UPDATE joining_cases SET cert_issued_on = ? WHERE guid_key = ? AND state = 'open'`,
		formatDate(civil(issued)), key(guid))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 && mustHaveCase {
		return fmt.Errorf("%s has no open joining case", guid)
	}
	return nil
}

// RecordVerdict records a test result on the participant's open joining
// case; report is the path of the conformance report ("" if none). The
// conformance harness calls this.
func (r *Register) RecordVerdict(ctx context.Context, guid string, v Verdict, report string) (*Case, error) {
	if v != Pass && v != Fail {
		return nil, fmt.Errorf("test register: verdict %q; use pass or fail", v)
	}
	err := store.InTx(ctx, r.db, func(tx *sql.Tx) error {
		c, err := r.openCaseOf(ctx, tx, guid)
		if err != nil {
			return err
		}
		if c == nil {
			return fmt.Errorf("%s has no open joining case; open one first", guid)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO verdicts (case_id, recorded_at, verdict, report) VALUES (?,?,?,?)`,
			c.ID, r.clk.Now().UTC().Format(time.RFC3339Nano), string(v), report)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("test register: record verdict: %w", err)
	}
	r.log.InfoContext(ctx, "joining verdict recorded", "guid", guid, "verdict", string(v), "report", report)
	return r.Case(ctx, guid)
}

// Activate makes a participant Active: the one way from Inactive to
// Active. Without force it wants an open joining case whose latest verdict
// is Pass; the case is then closed as activated.
func (r *Register) Activate(ctx context.Context, guid string, force bool) (*register.Entity, error) {
	var caseID int64
	e, err := r.change(ctx, guid, func(tx *sql.Tx, e *register.Entity) error {
		if e.Status == register.Active {
			return fmt.Errorf("%s is already Active", e.GUID)
		}
		c, err := r.openCaseOf(ctx, tx, guid)
		if err != nil {
			return err
		}
		switch {
		case force:
		case c == nil:
			return fmt.Errorf("%s has no open joining case; open one and record a passing verdict, or use --force", e.GUID)
		case c.LastVerdict() == nil:
			return fmt.Errorf("%s has no test verdict yet (deadline %s); record a passing one, or use --force", e.GUID, formatDate(c.Deadline))
		case !c.Passed():
			return fmt.Errorf("%s: the latest verdict is %s (%s); record a passing one, or use --force", e.GUID, c.LastVerdict().Verdict, c.LastVerdict().At.Format(time.RFC3339))
		}
		if c != nil {
			caseID = c.ID
			if _, err := tx.ExecContext(ctx, `UPDATE joining_cases SET state = 'activated', closed_at = ? WHERE id = ?`,
				r.clk.Now().UTC().Format(time.RFC3339), c.ID); err != nil {
				return err
			}
		}
		e.Status = register.Active
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.log.InfoContext(ctx, "participant activated", "guid", e.GUID, "forced", force, "case", caseID)
	return e, nil
}

// WithdrawCase closes an open joining case without activation.
func (r *Register) WithdrawCase(ctx context.Context, guid string) error {
	res, err := r.db.ExecContext(ctx, `UPDATE joining_cases SET state = 'withdrawn', closed_at = ? WHERE guid_key = ? AND state = 'open'`,
		r.clk.Now().UTC().Format(time.RFC3339), key(guid))
	if err != nil {
		return fmt.Errorf("test register: withdraw case: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("test register: %s has no open joining case", guid)
	}
	return nil
}

// Case returns the participant's open joining case, else its latest one,
// else nil, nil.
func (r *Register) Case(ctx context.Context, guid string) (*Case, error) {
	cs, err := r.cases(ctx, r.db, `WHERE c.guid_key = ? ORDER BY c.state = 'open' DESC, c.id DESC LIMIT 1`, key(guid))
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return &cs[0], nil
}

// Cases lists joining cases, open ones only when openOnly, oldest first.
func (r *Register) Cases(ctx context.Context, openOnly bool) ([]Case, error) {
	where := `ORDER BY c.id`
	if openOnly {
		where = `WHERE c.state = 'open' ORDER BY c.id`
	}
	return r.cases(ctx, r.db, where)
}

func (r *Register) openCaseOf(ctx context.Context, q querier, guid string) (*Case, error) {
	cs, err := r.cases(ctx, q, `WHERE c.guid_key = ? AND c.state = 'open'`, key(guid))
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return &cs[0], nil
}

func (r *Register) cases(ctx context.Context, q querier, where string, args ...any) ([]Case, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.id, e.guid, e.name, e.status, c.state, c.applied_on, c.cert_issued_on, c.opened_at, c.closed_at
		FROM joining_cases c JOIN entities e ON e.guid_key = c.guid_key `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("test register: cases: %w", err)
	}
	var out []Case
	for rows.Next() {
		var c Case
		var status, state, applied, issued, opened, closed string
		if err := rows.Scan(&c.ID, &c.GUID, &c.Name, &status, &state, &applied, &issued, &opened, &closed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("test register: cases: %w", err)
		}
		c.Status, c.State = register.Status(status), CaseState(state)
		var errs []error
		c.AppliedOn, err = Date(applied)
		errs = append(errs, err)
		if issued != "" {
			c.CertIssuedOn, err = Date(issued)
			errs = append(errs, err)
		}
		c.OpenedAt, err = time.Parse(time.RFC3339, opened)
		errs = append(errs, err)
		if closed != "" {
			c.ClosedAt, err = time.Parse(time.RFC3339, closed)
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("test register: case %d: %w", c.ID, err)
		}
		c.Deadline = r.Deadline(c.AppliedOn, c.CertIssuedOn)
		if !c.Deadline.IsZero() {
			c.WorkingDaysLeft = r.cal.WorkingDaysBetween(workdays.SofiaDate(r.clk.Now()), c.Deadline)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("test register: cases: %w", err)
	}
	// Verdicts after the case rows are closed: one connection in a transaction.
	for i := range out {
		vs, err := q.QueryContext(ctx, `SELECT recorded_at, verdict, report FROM verdicts WHERE case_id = ? ORDER BY id`, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("test register: verdicts: %w", err)
		}
		for vs.Next() {
			var v VerdictRecord
			var at, verdict string
			if err := vs.Scan(&at, &verdict, &v.Report); err != nil {
				vs.Close()
				return nil, fmt.Errorf("test register: verdicts: %w", err)
			}
			v.Verdict = Verdict(verdict)
			if v.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
				vs.Close()
				return nil, fmt.Errorf("test register: verdicts: %w", err)
			}
			out[i].Verdicts = append(out[i].Verdicts, v)
		}
		vs.Close()
		if err := vs.Err(); err != nil {
			return nil, fmt.Errorf("test register: verdicts: %w", err)
		}
	}
	return out, nil
}
