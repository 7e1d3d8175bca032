package acceptance_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
)

// TestScannerUpIsAboutTheScanner: seosgw_acceptance_scanner_up goes to 0
// only when clamd cannot be reached or does not answer. A virus, a file
// over virus.max_size and a file over clamd's own StreamMaxLength ("INSTREAM
// size limit exceeded") are verdicts about the file: the scanner stays up,
// and the oversize file is held with a reason naming the limit, never
// accepted unscanned. The clamd is real, with StreamMaxLength 2M.
func TestScannerUpIsAboutTheScanner(t *testing.T) {
	pki := acceptancetest.NewPKI(t)
	clamd := acceptancetest.StartClamdLimited(t, "2M")
	pdf := func(n int) []byte {
		return append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0 0 m 1 1 l S\n"), n/14)...)
	}
	up := func(reg *prometheus.Registry) float64 {
		return testutil.ToFloat64(gauge(t, reg, "seosgw_acceptance_scanner_up"))
	}
	for _, c := range []struct {
		name    string
		edit    func(string) string
		file    []byte
		status  acceptance.Status
		effect  acceptance.Outcome
		words   []string
		outcome acceptance.Outcome // the document's, when the file decides it
	}{
		{"over clamd's StreamMaxLength", nil, pdf(3 << 20), acceptance.Unknown, acceptance.Hold,
			[]string{"not scanned for viruses", "clamd's StreamMaxLength", "virus.max_size = 25MiB", "raise it to at least 25MiB"}, ""},
		{"over clamd's StreamMaxLength, on_too_large: reject", func(s string) string {
			return strings.Replace(s, "on_too_large: hold", "on_too_large: reject", 1)
		}, pdf(3 << 20), acceptance.Unknown, acceptance.Reject, []string{"clamd's StreamMaxLength"}, acceptance.Reject},
		{"over virus.max_size", func(s string) string {
			return strings.Replace(s, "max_size: 25MiB", "max_size: 1MiB", 1)
		}, pdf(3 << 20), acceptance.Unknown, acceptance.Hold, []string{"larger than the scan limit (virus.max_size = 1MiB)"}, ""},
		{"infected", nil, append(pdf(1000), acceptancetest.EICAR...), acceptance.Fail, acceptance.Reject,
			[]string{"infected: " + acceptancetest.EICARSignature}, acceptance.Reject},
		{"clean", nil, pdf(1000), acceptance.Pass, acceptance.Accept, []string{"no virus found"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			p, err := acceptance.Load(exampleRules(t, pki.CADir(t), clamd.Addr, c.edit), acceptance.WithRegistry(reg))
			if err != nil {
				t.Fatal(err)
			}
			in := acceptance.Input{DocKind: "Писмо", Sender: acceptance.Sender{EIK: senderEIK, Name: "Министерство"},
				Attachments: []acceptance.Attachment{att("писмо.pdf", "application/pdf", c.file)}}
			v := p.Evaluate(context.Background(), in)
			chk := find(t, v, "virus", "писмо.pdf")
			if chk.Status != c.status || chk.Effect != c.effect {
				t.Errorf("virus check %s → %s, want %s → %s\n%s", chk.Status, chk.Effect, c.status, c.effect, table(v))
			}
			for _, w := range c.words {
				if !strings.Contains(chk.Reason.EN, w) {
					t.Errorf("reason %q lacks %q", chk.Reason.EN, w)
				}
			}
			if c.outcome != "" && v.Outcome != c.outcome {
				t.Errorf("outcome %s, want %s", v.Outcome, c.outcome)
			}
			if v.Outcome == acceptance.Accept && c.status != acceptance.Pass {
				t.Errorf("an unscanned file was accepted\n%s", table(v))
			}
			if got := up(reg); got != 1 {
				t.Errorf("seosgw_acceptance_scanner_up = %v after a verdict about the file, want 1", got)
			}
		})
	}

	// Only an unreachable scanner is down.
	reg := prometheus.NewRegistry()
	p, err := acceptance.Load(exampleRules(t, pki.CADir(t), clamd.Addr, nil), acceptance.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	clamd.Stop()
	v := p.Evaluate(context.Background(), acceptance.Input{DocKind: "Писмо", Attachments: []acceptance.Attachment{att("писмо.pdf", "application/pdf", pdf(1000))}})
	if chk := find(t, v, "virus", "писмо.pdf"); chk.Status != acceptance.Unknown || chk.Effect != acceptance.Hold {
		t.Errorf("scanner stopped: %s → %s", chk.Status, chk.Effect)
	}
	if got := up(reg); got != 0 {
		t.Errorf("seosgw_acceptance_scanner_up = %v with clamd stopped, want 0", got)
	}
}
