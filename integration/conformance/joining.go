package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/seosgw/seosgw/gateway/workdays"
	"github.com/seosgw/seosgw/register/testregister"
)

// OpenRegister opens the test register's database with the working-day
// overrides in holidays ("" for the Labour Code calendar alone).
func OpenRegister(ctx context.Context, dbPath, holidays string) (*testregister.Register, error) {
	opt := testregister.Options{Log: slog.New(slog.DiscardHandler)}
	if holidays != "" {
		o, err := workdays.LoadOverrides(holidays)
		if err != nil {
			return nil, fmt.Errorf("holidays: %w", err)
		}
		opt.Calendar = workdays.New(o)
	}
	return testregister.Open(ctx, dbPath, opt)
}

// readJoining puts the participant's joining case into the report, when a
// test register is configured.
func (s *suite) readJoining(ctx context.Context) error {
	j := s.cfg.Joining
	if j.RegisterDB == "" {
		if s.opt.Record {
			return fmt.Errorf("--record needs joining.register_db (or --register-db), the test register's database")
		}
		return nil
	}
	reg, err := OpenRegister(ctx, s.cfg.Path(j.RegisterDB), s.cfg.Path(j.Holidays))
	if err != nil {
		return fmt.Errorf("joining.register_db: %w", err)
	}
	defer reg.Close()
	c, err := reg.Case(ctx, s.target.GUID)
	if err != nil {
		return fmt.Errorf("joining.register_db: %w", err)
	}
	if c != nil {
		s.rep.Joining = joiningInfo(c)
	}
	return nil
}

func joiningInfo(c *testregister.Case) *JoiningInfo {
	ji := &JoiningInfo{State: string(c.State), Status: string(c.Status), AppliedOn: date(c.AppliedOn), CertIssuedOn: date(c.CertIssuedOn), Deadline: date(c.Deadline)}
	if !c.Deadline.IsZero() {
		n := c.WorkingDaysLeft
		ji.WorkingDaysLeft = &n
	}
	return ji
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// record puts the verdict on the participant's open joining case and says
// what happened, for the report. Only pass and fail are verdicts: an
// incomplete run or one that could not test records nothing.
func (s *suite) record(ctx context.Context) string {
	var v testregister.Verdict
	switch s.rep.Verdict {
	case Pass:
		v = testregister.Pass
	case Fail:
		v = testregister.Fail
	default:
		return fmt.Sprintf("not recorded: a run with verdict %q is not a test result", s.rep.Verdict)
	}
	if s.cfg.Joining.RegisterDB == "" {
		return "not recorded: no joining.register_db"
	}
	reg, err := OpenRegister(ctx, s.cfg.Path(s.cfg.Joining.RegisterDB), s.cfg.Path(s.cfg.Joining.Holidays))
	if err != nil {
		return "not recorded: " + err.Error()
	}
	defer reg.Close()
	report := s.reportPath("report.html")
	c, err := reg.RecordVerdict(ctx, s.opt.Participant, v, report)
	if err != nil {
		return "not recorded: " + err.Error()
	}
	s.rep.Joining = joiningInfo(c)
	msg := fmt.Sprintf("%s recorded on the joining case (applied %s", v, date(c.AppliedOn))
	if !c.Deadline.IsZero() {
		msg += fmt.Sprintf(", deadline %s, %d working days left", date(c.Deadline), c.WorkingDaysLeft)
	}
	msg += "); activation stays `seosgw register admin activate " + c.GUID + "`"
	return msg
}

// CaseView is a joining case as `seosgw conformance cases` shows it.
type CaseView struct {
	GUID            string                      `json:"guid"`
	Name            string                      `json:"name"`
	Status          string                      `json:"status"`
	State           string                      `json:"state"`
	AppliedOn       string                      `json:"appliedOn"`
	CertIssuedOn    string                      `json:"certIssuedOn,omitempty"`
	Deadline        string                      `json:"deadline,omitempty"`
	WorkingDaysLeft *int                        `json:"workingDaysLeft,omitempty"`
	LastVerdict     *testregister.VerdictRecord `json:"lastVerdict,omitempty"`
	Runs            int                         `json:"runs"`
}

// Cases lists joining cases (open ones unless all) for the cases command.
func Cases(ctx context.Context, reg *testregister.Register, all bool) ([]CaseView, error) {
	cs, err := reg.Cases(ctx, !all)
	if err != nil {
		return nil, err
	}
	out := make([]CaseView, 0, len(cs))
	for i := range cs {
		c := &cs[i]
		ji := joiningInfo(c)
		out = append(out, CaseView{GUID: c.GUID, Name: c.Name, Status: ji.Status, State: ji.State, AppliedOn: ji.AppliedOn,
			CertIssuedOn: ji.CertIssuedOn, Deadline: ji.Deadline, WorkingDaysLeft: ji.WorkingDaysLeft, LastVerdict: c.LastVerdict(), Runs: len(c.Verdicts)})
	}
	return out, nil
}

// WriteCases prints cases as a table.
func WriteCases(w io.Writer, cs []CaseView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GUID\tNAME\tSTATUS\tAPPLIED\tCERT ISSUED\tDEADLINE\tWORKING DAYS LEFT\tLAST VERDICT\tREPORT")
	for _, c := range cs {
		left := "-"
		switch {
		case c.WorkingDaysLeft == nil:
			left = "- (certificate not issued)"
		case c.State != string(testregister.CaseOpen):
			left = "- (" + c.State + ")"
		case *c.WorkingDaysLeft < 0:
			left = fmt.Sprintf("overdue by %d", -*c.WorkingDaysLeft)
		default:
			left = fmt.Sprint(*c.WorkingDaysLeft)
		}
		verdict, report := "-", "-"
		if v := c.LastVerdict; v != nil {
			verdict = fmt.Sprintf("%s %s (%d runs)", v.Verdict, v.At.Local().Format("2006-01-02 15:04"), c.Runs)
			if v.Report != "" {
				report = v.Report
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.GUID, c.Name, c.Status, orDefault(c.AppliedOn, "-"),
			orDefault(c.CertIssuedOn, "-"), orDefault(c.Deadline, "-"), left, verdict, report)
	}
	return tw.Flush()
}

// WriteCasesJSON prints cases as JSON.
func WriteCasesJSON(w io.Writer, cs []CaseView) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(cs)
}
