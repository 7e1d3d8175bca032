package register

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seosgw/seosgw/gateway/textsafe"
)

// WriteTable writes entities one per line for `seosgw register list`.
func WriteTable(w io.Writer, es []*Entity) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GUID\tEIK\tSTATUS\tEXCHANGE\tCERTIFICATE SN\tLAST CHANGE\tNAME")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safe(e.GUID), safe(e.Identifier), safe(statusText(e)), safe(exchangeText(e)),
			safe(dash(e.CertificateSN)), stamp(e.LastChange), safe(e.AdministrativeBodyName))
	}
	return tw.Flush()
}

// WriteJSON writes entities as a JSON array (never null).
func WriteJSON(w io.Writer, es []*Entity) error {
	if es == nil {
		es = []*Entity{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(es)
}

// WriteEntity writes one entity in full for `seosgw register show`, with
// what the policy says about exchanging with it when d is not nil.
func WriteEntity(w io.Writer, e *Entity, d *Decision) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", safe(e.AdministrativeBodyName))
	row := func(k, v string) { fmt.Fprintf(&b, "  %-16s %s\n", k+":", safe(v)) }
	row("GUID", e.GUID)
	row("EIK", e.Identifier)
	row("Parent", dash(e.ParentGUID))
	row("Status", statusText(e))
	row("Certificate SN", dash(e.CertificateSN))
	row("Last change", stamp(e.LastChange))
	var contact []string
	for _, c := range [][2]string{{"phone ", e.Contact.Phone}, {"fax ", e.Contact.Fax}, {"", e.Contact.EmailAddress}} {
		if strings.TrimSpace(c[1]) != "" {
			contact = append(contact, c[0]+c[1])
		}
	}
	row("Contact", dash(strings.Join(contact, ", ")))
	if len(e.Services) == 0 {
		row("Services", "-")
	}
	for _, s := range e.Services {
		mark := ""
		if strings.EqualFold(s.GUID, ExchangeServiceGUID) {
			mark = " (document exchange)"
		}
		fmt.Fprintf(&b, "  service %s%s\n    %s, %s, type %s, version %s\n    %s\n", safe(s.GUID), mark, safe(s.Name), safe(string(s.Status)),
			safe(dash(s.Type)), safe(dash(string(s.Version))), safe(dash(s.URI)))
	}
	if d != nil {
		verdict := "no"
		if d.Allowed {
			verdict = "yes"
		}
		row("May exchange", fmt.Sprintf("%s (%s) %s", verdict, d.Reason, d.Detail))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteChanges writes what a sync did, for `seosgw register sync`.
func WriteChanges(w io.Writer, ch *Changes) error {
	mode := "incremental (GetNewRecords)"
	if ch.Full {
		mode = "full (GetAllRecords)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sync: %s, %d changed, %d unchanged, %d rejected, cursor %s\n", mode, len(ch.Changes), ch.Unchanged, len(ch.Rejected), safe(dash(ch.Cursor)))
	for _, c := range ch.Changes {
		switch c.Kind {
		case Added:
			fmt.Fprintf(&b, "  %-8s %s %s: %s\n", c.Kind, safe(c.GUID), safe(c.Name), safe(string(c.After)))
		case Updated, Restored:
			fmt.Fprintf(&b, "  %-8s %s %s: %s -> %s\n", c.Kind, safe(c.GUID), safe(c.Name), safe(string(c.Before)), safe(string(c.After)))
		case Removed:
			fmt.Fprintf(&b, "  %-8s %s %s (was %s)\n", c.Kind, safe(c.GUID), safe(c.Name), safe(string(c.Before)))
		}
	}
	for _, c := range ch.Certificates {
		fmt.Fprintf(&b, "  %-8s %s %s: transport certificate %s -> %s\n", "renewed", c.GUID, c.Name, dash(c.From), c.To)
	}
	for _, r := range ch.Rejected {
		kept := "not in the copy"
		if r.Kept {
			kept = "the copy keeps its last good version"
		}
		fmt.Fprintf(&b, "  %-8s %s %s: %s %q: %s (%s)\n", "rejected", safe(dash(r.GUID)), safe(r.Name), r.Field, safe(r.Value), safe(r.Err), kept)
	}
	if ch.RemovalsSkipped {
		b.WriteString("  a rejected entity has no Guid, so this full listing marked nothing removed\n")
	}
	for _, w := range ch.Warnings {
		who := "the answer"
		if w.GUID != "" {
			who = w.GUID + " " + w.Name
		}
		fmt.Fprintf(&b, "  %-8s %s: %s %q: %s\n", "warning", safe(who), w.Field, safe(w.Value), safe(w.Msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteAnswer writes what the register answered to one lookup, for
// `seosgw register show --ask`.
func WriteAnswer(w io.Writer, a Answer) error {
	n := len(a.Listing.Entities)
	if _, err := fmt.Fprintf(w, "\nthe register answers %s(%s): %d participant(s), LastChange %s\n", a.Op, safe(a.Param), n, safe(dash(a.Listing.Cursor))); err != nil {
		return err
	}
	for i := range a.Listing.Entities {
		if err := WriteEntity(w, &a.Listing.Entities[i], nil); err != nil {
			return err
		}
	}
	for _, r := range a.Listing.Rejected {
		if _, err := fmt.Fprintf(w, "  rejected %s %s: %s %q: %s\n", safe(dash(r.GUID)), safe(r.Name), r.Field, safe(r.Value), safe(r.Err)); err != nil {
			return err
		}
	}
	return nil
}

// WriteState writes the sync state.
func WriteState(w io.Writer, s SyncState) error {
	var b strings.Builder
	fmt.Fprintf(&b, "last success %s, last full %s, last incremental %s, cursor %s\n",
		stamp(s.LastSuccess), stamp(s.LastFull), stamp(s.LastIncremental), safe(dash(s.Cursor)))
	if s.LastError != "" {
		fmt.Fprintf(&b, "last error at %s (%d in a row): %s\n", stamp(s.LastErrorAt), s.ConsecutiveFailures, safe(s.LastError))
	}
	if s.FullSyncOverdue {
		fmt.Fprintf(&b, "full sync overdue: GetAllRecords keeps failing since it fell due (last full %s); the copy follows GetNewRecords only and misses removals\n",
			stamp(s.LastFull))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func statusText(e *Entity) string {
	if e.Removed {
		return "removed (was " + string(e.Status) + ")"
	}
	return string(e.Status)
}

func exchangeText(e *Entity) string {
	s := e.ExchangeService()
	if s == nil {
		return "-"
	}
	return string(s.Status) + " " + dash(s.URI)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// safe is a register value (the register writes names, services and
// contacts; a rejected one is shown as it came) made safe for a terminal.
func safe(s string) string { return textsafe.Field(s) }
