package acceptance

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/docsig"
	"github.com/seosgw/seosgw/gateway/textsafe"
	"github.com/seosgw/seosgw/gateway/translit"
)

// Outcome is what happens to a document.
type Outcome string

// Outcomes, in rising severity.
const (
	Accept Outcome = "accept" // to the inbox as registrable
	Hold   Outcome = "hold"   // to the inbox marked for a clerk's review
	Reject Outcome = "reject" // refused; the sender gets DS_REJECTED with the reasons
)

func (o Outcome) severity() int {
	switch o {
	case Reject:
		return 2
	case Hold:
		return 1
	}
	return 0
}

// Mode says whether a rule decides (enforce) or only annotates (advise).
type Mode string

// Modes.
const (
	Enforce Mode = "enforce"
	Advise  Mode = "advise"
)

// Status is a check's result; the signature judge (docsig) speaks the
// same vocabulary, so its findings become checks unchanged.
type Status = docsig.Status

// Statuses.
const (
	Pass          = docsig.Pass
	Fail          = docsig.Fail
	Unknown       = docsig.Unknown
	NotApplicable = docsig.NotApplicable
)

// Text is a reason in Bulgarian Cyrillic, in its official Latin
// transliteration (both go to the sender), and in English (for logs).
type Text struct {
	BG    string `json:"bg"`
	Latin string `json:"latin"`
	EN    string `json:"en"`
}

func text(bg, en string) Text { return Text{BG: bg, Latin: translit.String(bg), EN: en} }

// Check is one rule's result for the document or one attachment.
type Check struct {
	Rule    string  `json:"rule"`              // kind, format, encryption, signature.integrity, virus, requisite.<id>, ...
	Subject string  `json:"subject,omitempty"` // the attachment's file name; empty for the document
	Status  Status  `json:"status"`
	Mode    Mode    `json:"mode"`
	Effect  Outcome `json:"effect"` // the outcome the check asks for (advise checks do not apply it)
	Reason  Text    `json:"reason"`
}

// Verdict is the policy's judgement of one document. It is stored with the
// document and shown to clerks, so it serialises to JSON.
type Verdict struct {
	Policy  string  `json:"policy"`
	Outcome Outcome `json:"outcome"`
	Checks  []Check `json:"checks"`
	// DeclinedReceipt: the sender wrote that it does not want confirmation
	// of receipt, so no receipt text is sent on registration.
	DeclinedReceipt bool `json:"declinedReceipt"`
	// Requisites maps each requisite rule to what the text said: affirmed,
	// denied, ambiguous, missing or not-applicable.
	Requisites  map[string]string `json:"requisites,omitempty"`
	EvaluatedAt time.Time         `json:"evaluatedAt"`
}

// decide sets the outcome from the enforced checks.
func (v *Verdict) decide() {
	v.Outcome = Accept
	for _, c := range v.Checks {
		if c.Mode == Enforce && c.Effect.severity() > v.Outcome.severity() {
			v.Outcome = c.Effect
		}
	}
}

// Problems are the enforced checks that made the outcome other than accept,
// in order.
func (v *Verdict) Problems() []Check {
	var out []Check
	for _, c := range v.Checks {
		if c.Mode == Enforce && c.Effect != Accept {
			out = append(out, c)
		}
	}
	return out
}

// Summary is a one-line English account for logs.
func (v *Verdict) Summary() string {
	var parts []string
	for _, c := range v.Problems() {
		parts = append(parts, c.line(func(t Text) string { return t.EN }))
	}
	if len(parts) == 0 {
		return string(v.Outcome)
	}
	return string(v.Outcome) + ": " + strings.Join(parts, "; ")
}

func (c Check) line(pick func(Text) string) string {
	if c.Subject == "" {
		return pick(c.Reason)
	}
	return c.Subject + ": " + pick(c.Reason)
}

// WriteTable prints the verdict for people (the offline CLI): one row per
// check, control characters from file names and texts made harmless.
// lang is bg, latin or en.
func (v *Verdict) WriteTable(w io.Writer, lang string) error {
	pick := func(t Text) string {
		switch lang {
		case "bg":
			return t.BG
		case "latin":
			return t.Latin
		}
		return t.EN
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSUBJECT\tSTATUS\tMODE\tEFFECT\tREASON")
	for _, c := range v.Checks {
		subj := c.Subject
		if subj == "" {
			subj = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", textsafe.Field(c.Rule), textsafe.Field(subj), c.Status, c.Mode, c.Effect, textsafe.Field(pick(c.Reason)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	receipt := "wanted"
	if v.DeclinedReceipt {
		receipt = "declined by the sender"
	}
	_, err := fmt.Fprintf(w, "\noutcome: %s (policy %q; receipt %s)\n", v.Outcome, textsafe.Field(v.Policy), receipt)
	return err
}

// Infected reports whether the virus scan found the named attachment
// infected, with what it found; such a file is never handed out.
func (v *Verdict) Infected(name string) (string, bool) {
	if v == nil {
		return "", false
	}
	for _, c := range v.Checks {
		if c.Rule == "virus" && c.Status == Fail && c.Subject == name {
			return c.Reason.EN, true
		}
	}
	return "", false
}
