// Package mailinput turns a received mail into what the acceptance policy
// judges (acceptance.Input) — sender, subject, body text, attachments and
// the S/MIME signature as one more document signature — so that mail meets
// the same rules as SEOS documents; and it derives the document kind from
// the subject and body by configured rules.
package mailinput

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
	"github.com/seosgw/seosgw/gateway/mail/mailmsg"
	"github.com/seosgw/seosgw/gateway/translit"
)

// KindRule gives a document kind to mail whose subject and body match.
type KindRule struct {
	Kind    string
	Subject *regexp.Regexp // nil: any subject
	Body    *regexp.Regexp // nil: any body
}

// RuleSpec is a KindRule as configured (RE2 patterns).
type RuleSpec struct {
	Kind, Subject, Body string
}

// CompileRules checks and compiles configured rules.
func CompileRules(specs []RuleSpec) ([]KindRule, error) {
	var out []KindRule
	for i, s := range specs {
		r := KindRule{Kind: strings.TrimSpace(s.Kind)}
		if r.Kind == "" {
			return nil, fmt.Errorf("rule %d: no kind", i+1)
		}
		if s.Subject == "" && s.Body == "" {
			return nil, fmt.Errorf("rule %d (%s): give a subject or body pattern", i+1, r.Kind)
		}
		var err error
		if s.Subject != "" {
			if r.Subject, err = regexp.Compile(s.Subject); err != nil {
				return nil, fmt.Errorf("rule %d (%s): subject: %w", i+1, r.Kind, err)
			}
		}
		if s.Body != "" {
			if r.Body, err = regexp.Compile(s.Body); err != nil {
				return nil, fmt.Errorf("rule %d (%s): body: %w", i+1, r.Kind, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Options configure the mapping.
type Options struct {
	Parse mailmsg.Options
	Rules []KindRule
	// FromSubject: when no rule matches, the subject (without Re:/Fwd:)
	// is the kind, and the policy's kind lists judge it; otherwise such
	// mail has no kind and is held for a clerk.
	FromSubject bool
	SpoolDir    string // attachment files while they are judged (default os.TempDir())
	Registry    prometheus.Registerer
}

// Builder maps mail to acceptance input.
type Builder struct {
	o Options
	m *metrics
}

// New builds a Builder.
func New(o Options) *Builder {
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return &Builder{o: o, m: newMetrics(o.Registry)}
}

// Kind is how the document kind was decided.
type Kind struct {
	Kind string // "" when held
	By   string // "rule N", "subject", or "" when held
	Hold bool   // no rule and no subject to go by: a clerk decides
}

// Result is a mail ready for the policy.
type Result struct {
	Mail  *mailmsg.Mail // nil when the mail could not be read
	Input acceptance.Input
	Kind  Kind
	// Refusal is set when the mail is refused whatever the rules say: it
	// is encrypted, or it cannot be read. An enforced reject check, also
	// in Input.ChannelChecks, so that the policy's verdict carries it.
	Refusal *acceptance.Check
	files   []*os.File
}

// Close removes the attachment files made for the policy.
func (r *Result) Close() error {
	var errs []error
	for _, f := range r.files {
		errs = append(errs, f.Close(), os.Remove(f.Name()))
	}
	r.files = nil
	return errors.Join(errs...)
}

// Build parses the mail in content and maps it. An unreadable or
// encrypted mail is no error: its Result carries the Refusal. Close the
// Result when done.
func (b *Builder) Build(content io.ReaderAt, size int64) (*Result, error) {
	m, err := mailmsg.Parse(content, size, b.o.Parse)
	if err != nil {
		if !errors.Is(err, mailmsg.ErrMalformed) && !errors.Is(err, mailmsg.ErrTooComplex) {
			return nil, err // our own failure to read it
		}
		b.m.refused.WithLabelValues("malformed").Inc()
		return newRefused(refusal("mail.malformed", "Съобщението не може да бъде прочетено като електронна поща (MIME): "+err.Error()+".",
			"the message cannot be read as e-mail (MIME): "+err.Error())), nil
	}
	res := &Result{Mail: m}
	for i := range m.Signatures {
		b.m.signatures.WithLabelValues(signatureResult(&m.Signatures[i])).Inc()
	}
	if len(m.Signatures) == 0 {
		b.m.signatures.WithLabelValues("none").Inc()
	}
	if m.Encrypted {
		b.m.refused.WithLabelValues("encrypted").Inc()
		res.Refusal = refusal("mail.encrypted", "Съобщението е криптирано (S/MIME enveloped-data). Приемат се само електронни изявления в прав (некриптиран) вид.",
			"the message is encrypted (S/MIME enveloped-data); only unencrypted statements are accepted")
	}
	res.Kind = b.Kind(m)
	if err := b.input(m, res); err != nil {
		res.Close()
		return nil, err
	}
	if res.Refusal != nil {
		res.Input.ChannelChecks = append(res.Input.ChannelChecks, *res.Refusal)
	}
	return res, nil
}

// newRefused is the result for a mail refused before it could be read.
func newRefused(c *acceptance.Check) *Result {
	return &Result{Refusal: c, Kind: Kind{Hold: true}, Input: acceptance.Input{ChannelChecks: []acceptance.Check{*c}}}
}

func signatureResult(s *mailmsg.Signature) string {
	switch {
	case s.Err != nil || s.Signed == nil:
		return "unreadable"
	case s.Valid():
		return "valid"
	}
	return "invalid"
}

// Kind applies the rules in order, then the subject, else holds.
func (b *Builder) Kind(m *mailmsg.Mail) Kind {
	for i, r := range b.o.Rules {
		if (r.Subject == nil || r.Subject.MatchString(m.Subject)) && (r.Body == nil || r.Body.MatchString(m.Text)) {
			return Kind{Kind: r.Kind, By: fmt.Sprintf("rule %d", i+1)}
		}
	}
	if s := stripReplyPrefixes(m.Subject); b.o.FromSubject && s != "" {
		return Kind{Kind: s, By: "subject"}
	}
	return Kind{Hold: true}
}

var replyPrefix = regexp.MustCompile(`(?i)^\s*((re|fwd?|aw|wg|отг|отн|пре[пд]|препр)\s*(\[\d+\])?\s*:\s*)+`)

func stripReplyPrefixes(s string) string {
	return strings.TrimSpace(replyPrefix.ReplaceAllString(s, ""))
}

// input fills the policy's input: the subject is what the document is
// about, the body text its comment, each attachment a file spooled for
// random access, and every S/MIME layer an envelope signature.
func (b *Builder) input(m *mailmsg.Mail, res *Result) error {
	in := acceptance.Input{DocKind: res.Kind.Kind, DocAbout: m.Subject, DocComment: m.Text}
	if m.From != nil {
		in.Sender = acceptance.Sender{Name: m.From.Name}
		name := m.From.Name
		if name == "" {
			name = m.From.Address
		}
		in.Correspondents = []acceptance.Correspondent{{Name: name, Applicant: true}}
	}
	for i, p := range m.Attachments {
		f, err := os.CreateTemp(b.o.SpoolDir, "seosgw-mail-att-*")
		if err != nil {
			return fmt.Errorf("mailinput: spool attachment: %w", err)
		}
		res.files = append(res.files, f)
		// A body that does not decode (bad base64, an unknown transfer
		// encoding) is the sender's fault: the policy judges what could be
		// read. Only a failure to write the file is ours.
		r, err := p.Open()
		if err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("attachment %d: %v", i+1, err))
			r = p.Body()
		}
		w := &fileWriter{f: f}
		n, err := io.Copy(w, r)
		if w.err != nil {
			return fmt.Errorf("mailinput: spool attachment: %w", w.err)
		}
		if err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("attachment %d (%s): %v", i+1, m.AttachmentName(i), err))
		}
		in.Attachments = append(in.Attachments, acceptance.Attachment{Name: m.AttachmentName(i), DeclaredMIME: p.MediaType, Size: n, Content: f})
	}
	for _, s := range m.Signatures {
		in.EnvelopeSignatures = append(in.EnvelopeSignatures, acceptance.EnvelopeSignature{Form: s.Form, Signed: s.Signed, Results: s.Results, Err: s.Err})
	}
	res.Input = in
	return nil
}

// fileWriter tells a failed write from a failed read in io.Copy.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// refusal is an enforced reject check of the mail itself.
func refusal(rule, bg, en string) *acceptance.Check {
	return &acceptance.Check{Rule: rule, Status: acceptance.Fail, Mode: acceptance.Enforce, Effect: acceptance.Reject,
		Reason: acceptance.Text{BG: bg, Latin: translit.String(bg), EN: en}}
}

type metrics struct {
	signatures *prometheus.CounterVec
	refused    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		signatures: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_smime_signatures_total",
			Help: "S/MIME signature layers of received mail by verification result (valid, invalid, unreadable), and mail with none."}, []string{"result"})),
		refused: revocation.RegisterOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_mail_refused_total",
			Help: "Received mail refused before the acceptance policy, by reason (encrypted, malformed)."}, []string{"reason"})),
	}
	for _, r := range []string{"valid", "invalid", "unreadable", "none"} {
		m.signatures.WithLabelValues(r)
	}
	m.refused.WithLabelValues("encrypted")
	m.refused.WithLabelValues("malformed")
	return m
}
