package conformance

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/seosgw/seosgw/register/testregister"
)

// openRegister opens the configured test register database. It never
// creates one: a wrong joining.register_db (or --register-db) must fail
// here, not read as "no joining case" from a new, empty register.
func (s *suite) openRegister(ctx context.Context) (*testregister.Register, error) {
	j := s.cfg.Joining
	reg, err := testregister.OpenWithHolidays(ctx, s.cfg.Path(j.RegisterDB), s.cfg.Path(j.Holidays),
		testregister.Options{Log: slog.New(slog.DiscardHandler), Existing: true, Clock: s.clk})
	if err != nil {
		return nil, fmt.Errorf("joining.register_db (or --register-db): %w", err)
	}
	return reg, nil
}

// readJoining puts the participant's joining case into the report, when a
// test register is configured.
func (s *suite) readJoining(ctx context.Context) error {
	if s.cfg.Joining.RegisterDB == "" {
		if s.opt.Record {
			return fmt.Errorf("--record needs joining.register_db (or --register-db), the test register's database")
		}
		return nil
	}
	reg, err := s.openRegister(ctx)
	if err != nil {
		return err
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
	v := testregister.View(c)
	return &JoiningInfo{State: string(v.State), Status: v.Status, AppliedOn: v.AppliedOn, CertIssuedOn: v.CertIssuedOn,
		Deadline: v.Deadline, WorkingDaysLeft: v.WorkingDaysLeft}
}

// record puts the verdict on the participant's open joining case and says
// what happened, for the report. Only pass and fail are verdicts: an
// incomplete run or one that could not test records nothing.
func (s *suite) record(ctx context.Context) string {
	l := s.lang
	var v testregister.Verdict
	switch s.rep.Verdict {
	case Pass:
		v = testregister.Pass
	case Fail:
		v = testregister.Fail
	default:
		return l.pick("not recorded: a run with verdict %q is not a test result", "не е вписано: изпитване с резултат „%s“ не е резултат от тест", l.verdict(s.rep.Verdict))
	}
	if s.cfg.Joining.RegisterDB == "" {
		return l.pick("not recorded: no joining.register_db", "не е вписано: липсва joining.register_db")
	}
	reg, err := s.openRegister(ctx)
	if err != nil {
		return l.pick("not recorded: %v", "не е вписано: %v", err)
	}
	defer reg.Close()
	report := s.reportPath("report.html")
	c, err := reg.RecordVerdict(ctx, s.opt.Participant, v, report)
	if err != nil {
		return l.pick("not recorded: %v", "не е вписано: %v", err)
	}
	s.rep.Joining = joiningInfo(c)
	ji := s.rep.Joining
	msg := l.pick("%s recorded on the joining case (applied %s", "резултатът „%s“ е вписан в преписката за присъединяване (заявление от %s",
		l.verdict(s.rep.Verdict), l.date(ji.AppliedOn))
	if ji.WorkingDaysLeft != nil {
		msg += l.pick(", deadline %s, %d working days left", ", срок %s, остават %d работни дни", l.date(ji.Deadline), *ji.WorkingDaysLeft)
	}
	// Plain text: the report is read and printed, not rendered as markdown.
	msg += l.pick("); activation stays a separate step: seosgw register admin activate %s", "); активирането остава отделна стъпка: seosgw register admin activate %s", c.GUID)
	return msg
}
