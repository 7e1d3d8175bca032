package testregister

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteCases writes joining cases one per line for `admin case list`.
func WriteCases(w io.Writer, cs []Case) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GUID\tSTATE\tSTATUS\tAPPLIED\tCERT ISSUED\tDEADLINE\tDAYS LEFT\tVERDICT\tNAME")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.GUID, c.State, c.Status, dateText(c.AppliedOn),
			dateText(c.CertIssuedOn), dateText(c.Deadline), daysLeft(&c), verdictText(&c), c.Name)
	}
	return tw.Flush()
}

// WriteCase writes one case with its verdict history.
func WriteCase(w io.Writer, c *Case) error {
	var b strings.Builder
	fmt.Fprintf(&b, "joining case of %s %s: %s (participant %s)\n", c.GUID, c.Name, c.State, c.Status)
	fmt.Fprintf(&b, "  applied:      %s\n  cert issued:  %s\n  deadline:     %s (%d working days from the later date)\n  days left:    %s\n",
		dateText(c.AppliedOn), dateText(c.CertIssuedOn), dateText(c.Deadline), TestWorkingDays, daysLeft(c))
	if !c.ClosedAt.IsZero() {
		fmt.Fprintf(&b, "  closed:       %s\n", c.ClosedAt.Format(time.RFC3339))
	}
	if len(c.Verdicts) == 0 {
		b.WriteString("  verdicts:     none yet\n")
	}
	for _, v := range c.Verdicts {
		fmt.Fprintf(&b, "  verdict:      %s at %s %s\n", v.Verdict, v.At.Format(time.RFC3339), v.Report)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCasesJSON writes cases as JSON, deadlines included.
func WriteCasesJSON(w io.Writer, cs []Case) error {
	type out struct {
		GUID            string          `json:"guid"`
		Name            string          `json:"name"`
		Status          string          `json:"status"`
		State           CaseState       `json:"state"`
		AppliedOn       string          `json:"appliedOn"`
		CertIssuedOn    string          `json:"certIssuedOn,omitempty"`
		Deadline        string          `json:"deadline,omitempty"`
		WorkingDaysLeft *int            `json:"workingDaysLeft,omitempty"`
		Verdicts        []VerdictRecord `json:"verdicts"`
	}
	list := []out{}
	for _, c := range cs {
		o := out{GUID: c.GUID, Name: c.Name, Status: string(c.Status), State: c.State, AppliedOn: formatDate(c.AppliedOn),
			CertIssuedOn: formatDate(c.CertIssuedOn), Deadline: formatDate(c.Deadline), Verdicts: c.Verdicts}
		if o.Verdicts == nil {
			o.Verdicts = []VerdictRecord{}
		}
		if !c.Deadline.IsZero() {
			n := c.WorkingDaysLeft
			o.WorkingDaysLeft = &n
		}
		list = append(list, o)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

func dateText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(dateLayout)
}

func daysLeft(c *Case) string {
	switch {
	case c.Deadline.IsZero():
		return "- (certificate not issued)"
	case c.State != CaseOpen:
		return "-"
	case c.WorkingDaysLeft < 0:
		return fmt.Sprintf("overdue by %d", -c.WorkingDaysLeft)
	}
	return fmt.Sprint(c.WorkingDaysLeft)
}

func verdictText(c *Case) string {
	v := c.LastVerdict()
	if v == nil {
		return "-"
	}
	return string(v.Verdict)
}
