// Package acceptance applies an administration's published rules for
// accepting received documents (the registrable kinds, formats, no
// encryption, the author's qualified signature, no viruses, the written
// requisites) and returns a Verdict — accept, hold or reject — with every
// check and its reason in Bulgarian, Latin transliteration and English.
// The rules come from a YAML file (Load); see
// configs/acceptance.maritime.example.yaml.
package acceptance

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance/clamav"
	"github.com/seosgw/seosgw/gateway/acceptance/docsig"
	"github.com/seosgw/seosgw/gateway/acceptance/filetype"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
	"github.com/seosgw/seosgw/gateway/clock"
)

// Policy is a loaded, validated rules file ready to judge documents. It is
// safe for concurrent use.
type Policy struct {
	rules    *Rules
	kinds    *kindMatcher
	allowed  map[filetype.Kind]bool
	phrases  map[string]phraseKeys // by requisite rule id
	verifier *docsig.Verifier
	scanner  *clamav.Client
	clk      clock.Clock
	log      *slog.Logger
	m        *metrics
}

// Option adjusts a Policy.
type Option func(*options)

type options struct {
	clk  clock.Clock
	log  *slog.Logger
	reg  prometheus.Registerer
	http *http.Client
}

// WithClock sets the clock (certificate validity, revocation freshness).
func WithClock(c clock.Clock) Option { return func(o *options) { o.clk = c } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRegistry registers the policy's metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithHTTPClient sets the client CRLs and OCSP answers are fetched with
// (e.g. one with a proxy); the rules' timeout still applies per fetch.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// Load reads and validates a rules file and builds the policy.
func Load(path string, opts ...Option) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acceptance rules: %w", err)
	}
	r, err := ParseRules(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("acceptance rules %s: %w", path, err)
	}
	p, err := New(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("acceptance rules %s: %w", path, err)
	}
	return p, nil
}

// New builds a policy from validated rules.
func New(r *Rules, opts ...Option) (*Policy, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	o := options{clk: clock.System, log: slog.Default(), reg: prometheus.NewRegistry()}
	for _, opt := range opts {
		opt(&o)
	}
	p := &Policy{rules: r, kinds: newKindMatcher(r.Kinds), allowed: map[filetype.Kind]bool{}, clk: o.clk,
		log: o.log.With("component", "acceptance"), m: newMetrics(o.reg)}
	for _, k := range r.Formats.Allowed {
		p.allowed[filetype.Kind(k)] = true
	}
	p.phrases = map[string]phraseKeys{}
	for _, pr := range r.Requisites.Rules {
		p.phrases[pr.ID] = phraseKeys{affirm: keysOf(pr.Affirm), deny: keysOf(pr.Deny), ambiguous: keysOf(pr.Ambiguous)}
	}
	s := r.Signatures
	p.verifier = &docsig.Verifier{Clock: o.clk, MatchSender: s.Authors.MatchSender}
	for _, pr := range s.Authors.Persons {
		p.verifier.Persons = append(p.verifier.Persons, docsig.Person{Name: pr.Name, ID: pr.ID})
	}
	var dir []*x509.Certificate
	if s.TrustedCADir != "" {
		certs, err := loadCertDir(r.Path(s.TrustedCADir))
		if err != nil {
			return nil, fmt.Errorf("signatures.trusted_ca_dir: %w", err)
		}
		dir = certs
	}
	var listFile, listSigners string
	if s.TrustedList.File != "" {
		listFile, listSigners = r.Path(s.TrustedList.File), r.Path(s.TrustedList.SignerCerts)
	}
	anchors, err := newAnchors(dir, listFile, listSigners, s.TrustedList.Refresh.D(), o.clk, p.log, p.m)
	if err != nil {
		return nil, fmt.Errorf("signatures.trusted_list: %w", err)
	}
	p.verifier.Anchors = anchors.current
	if s.Sources.OCSP || s.Sources.CRL {
		p.verifier.Revocation = revocation.New(revocation.Config{
			OCSP: s.Sources.OCSP, CRL: s.Sources.CRL, Timeout: s.Sources.Timeout.D(),
			MaxCRLBytes: int64(s.Sources.MaxCRLSize), RetryAfter: s.Sources.RetryAfter.D(),
		}, o.http, o.clk, p.m.revocation)
	}
	sc, err := clamav.New(r.Virus.Clamd, r.Virus.Timeout.D(), int64(r.Virus.MaxSize))
	if err != nil {
		return nil, fmt.Errorf("virus.clamd: %w", err)
	}
	p.scanner = sc
	return p, nil
}

// Rules returns the rules the policy applies.
func (p *Policy) Rules() *Rules { return p.rules }

// ScannerReady pings clamd, for the readiness probe, and keeps
// seosgw_acceptance_scanner_up current.
func (p *Policy) ScannerReady(ctx context.Context) error {
	err := p.scanner.Ping(ctx)
	p.m.scannerUp(err == nil)
	return err
}

// Evaluate judges one document. It never fails: a check that cannot be
// completed is "unknown" and asks for the rule's on_unknown outcome (never
// a silent accept of something unscanned or unverified).
func (p *Policy) Evaluate(ctx context.Context, in Input) Verdict {
	start := time.Now()
	v := Verdict{Policy: p.rules.Name, EvaluatedAt: p.clk.Now()}
	v.Checks = append(v.Checks, p.checkKind(in.DocKind))
	files := p.inspect(in.Attachments)
	for _, f := range files {
		v.Checks = append(v.Checks, p.checkFormat(f), p.checkEncryption(f))
	}
	v.Checks = append(v.Checks, p.checkSignatures(ctx, in, files)...)
	for _, f := range files {
		v.Checks = append(v.Checks, p.checkVirus(ctx, f))
	}
	v.Checks = append(v.Checks, p.checkRequisites(in, files, &v)...)
	v.Checks = append(v.Checks, in.ChannelChecks...)
	v.decide()
	p.m.record(&v, time.Since(start))
	if v.Outcome != Accept {
		p.log.Info("acceptance verdict", "outcome", v.Outcome, "sender", in.Sender.GUID, "kind", in.DocKind, "why", v.Summary())
	}
	return v
}

// Failed is the verdict on a document the policy could not judge at all
// (it broke on the document): hold, so that a clerk decides, never accept.
func (p *Policy) Failed(why error) Verdict {
	v := Verdict{Policy: p.rules.Name, EvaluatedAt: p.clk.Now(), Checks: []Check{{Rule: "policy", Status: Unknown, Mode: Enforce, Effect: Hold,
		Reason: text("автоматичната проверка не можа да бъде извършена; нужна е проверка от служител", "the policy could not judge the document: "+why.Error())}}}
	v.decide()
	p.m.record(&v, 0)
	return v
}

// loadCertDir reads every certificate in the PEM or DER files of dir.
func loadCertDir(dir string) ([]*x509.Certificate, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".pem" && ext != ".crt" && ext != ".cer" && ext != ".der") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		certs, err := parseCerts(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, certs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no certificate (*.pem, *.crt, *.cer, *.der)", dir)
	}
	return out, nil
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("neither PEM certificates nor a DER certificate: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}
