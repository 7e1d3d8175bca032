package testregister

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seosgw/seosgw/gateway/textsafe"
)

// CaseView is a joining case as the CLI shows it (`register admin case
// list`, `conformance cases`): dates as YYYY-MM-DD, the working days left,
// the last verdict and how many runs were recorded.
type CaseView struct {
	GUID         string    `json:"guid"`
	Name         string    `json:"name"`
	Status       string    `json:"status"` // the participant's status now
	State        CaseState `json:"state"`
	AppliedOn    string    `json:"appliedOn"`
	CertIssuedOn string    `json:"certIssuedOn,omitempty"`
	Deadline     string    `json:"deadline,omitempty"`
	// WorkingDaysLeft is nil until the deadline is known.
	WorkingDaysLeft *int           `json:"workingDaysLeft,omitempty"`
	LastVerdict     *VerdictRecord `json:"lastVerdict,omitempty"`
	// Runs counts the recorded verdicts.
	Runs     int             `json:"runs"`
	Verdicts []VerdictRecord `json:"verdicts"` // oldest first
}

// View is c as the CLI shows it.
func View(c *Case) CaseView {
	v := CaseView{GUID: c.GUID, Name: c.Name, Status: string(c.Status), State: c.State, AppliedOn: formatDate(c.AppliedOn),
		CertIssuedOn: formatDate(c.CertIssuedOn), Deadline: formatDate(c.Deadline), Runs: len(c.Verdicts),
		Verdicts: append([]VerdictRecord{}, c.Verdicts...)}
	if !c.Deadline.IsZero() {
		n := c.WorkingDaysLeft
		v.WorkingDaysLeft = &n
	}
	if last := c.LastVerdict(); last != nil {
		l := *last
		v.LastVerdict = &l
	}
	return v
}

// Views is View of each case.
func Views(cs []Case) []CaseView {
	out := make([]CaseView, 0, len(cs))
	for i := range cs {
		out = append(out, View(&cs[i]))
	}
	return out
}

// WriteCases writes joining cases one per line.
func WriteCases(w io.Writer, cs []Case) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GUID\tNAME\tSTATUS\tSTATE\tAPPLIED\tCERT ISSUED\tDEADLINE\tWORKING DAYS LEFT\tLAST VERDICT\tREPORT")
	for _, c := range Views(cs) {
		verdict, report := "-", "-"
		if v := c.LastVerdict; v != nil {
			verdict = fmt.Sprintf("%s %s (%d runs)", v.Verdict, v.At.Local().Format("2006-01-02 15:04"), c.Runs)
			if v.Report != "" {
				report = v.Report
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", textsafe.Field(c.GUID), textsafe.Field(c.Name), c.Status, c.State, dash(c.AppliedOn),
			dash(c.CertIssuedOn), dash(c.Deadline), c.daysLeft(), textsafe.Field(verdict), textsafe.Field(report))
	}
	return tw.Flush()
}

// WriteCasesJSON writes cases as a JSON array of CaseView (never null).
func WriteCasesJSON(w io.Writer, cs []Case) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Views(cs))
}

// WriteCase writes one case with its verdict history.
func WriteCase(w io.Writer, c *Case) error {
	v := View(c)
	var b strings.Builder
	fmt.Fprintf(&b, "joining case of %s %s: %s (participant %s)\n", textsafe.Field(c.GUID), textsafe.Field(c.Name), c.State, c.Status)
	fmt.Fprintf(&b, "  applied:      %s\n  cert issued:  %s\n  deadline:     %s (%d working days from the later date)\n  days left:    %s\n",
		dash(v.AppliedOn), dash(v.CertIssuedOn), dash(v.Deadline), TestWorkingDays, v.daysLeft())
	if !c.ClosedAt.IsZero() {
		fmt.Fprintf(&b, "  closed:       %s\n", c.ClosedAt.Format(time.RFC3339))
	}
	if len(c.Verdicts) == 0 {
		b.WriteString("  verdicts:     none yet\n")
	}
	for _, v := range c.Verdicts {
		fmt.Fprintf(&b, "  verdict:      %s at %s %s\n", v.Verdict, v.At.Format(time.RFC3339), textsafe.Field(v.Report))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (c CaseView) daysLeft() string {
	switch {
	case c.WorkingDaysLeft == nil:
		return "- (certificate not issued)"
	case c.State != CaseOpen:
		return "- (" + string(c.State) + ")"
	case *c.WorkingDaysLeft < 0:
		return fmt.Sprintf("overdue by %d", -*c.WorkingDaysLeft)
	}
	return fmt.Sprint(*c.WorkingDaysLeft)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
