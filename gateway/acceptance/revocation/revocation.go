// Package revocation asks whether a document signer's certificate is
// revoked: by OCSP where the certificate names a responder, by the CRL at
// its distribution point otherwise. Lists and answers are cached until
// their next update. A source that cannot be reached or read gives
// Unknown, never Revoked: the policy decides what Unknown means.
package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"golang.org/x/crypto/ocsp"
)

// Status is a certificate's revocation status.
type Status string

// Statuses.
const (
	Good    Status = "good"
	Revoked Status = "revoked"
	Unknown Status = "unknown"
)

// Result is the answer for one certificate.
type Result struct {
	Status    Status
	Source    string    // "ocsp" or "crl", the source that decided
	URL       string    // where it came from
	RevokedAt time.Time // when Revoked
	Err       error     // why Unknown (every source's failure)
}

// Config bounds the checker.
type Config struct {
	OCSP        bool          // ask OCSP responders named in certificates
	CRL         bool          // fetch CRLs from distribution points
	Timeout     time.Duration // one fetch
	MaxCRLBytes int64         // a larger CRL is refused (unknown)
	RetryAfter  time.Duration // after a failed fetch, wait before asking the same URL again
	MaxCached   int           // cached CRLs and OCSP answers
}

// Checker fetches and caches revocation information. Safe for concurrent use.
type Checker struct {
	cfg  Config
	http *http.Client
	clk  clock.Clock
	m    *Metrics

	mu      sync.Mutex
	crls    map[string]*crlEntry  // by URL
	answers map[string]ocspAnswer // by issuer key hash + serial
}

type crlEntry struct {
	mu        sync.Mutex // one fetch per URL at a time
	rawIssuer []byte
	revoked   map[string]time.Time
	next      time.Time // use until
	failedAt  time.Time
	failure   error
}

type ocspAnswer struct {
	status    Status
	revokedAt time.Time
	next      time.Time
}

// New makes a checker; client may be nil for a plain one with cfg.Timeout.
func New(cfg Config, client *http.Client, clk clock.Clock, m *Metrics) *Checker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxCRLBytes <= 0 {
		cfg.MaxCRLBytes = 32 << 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Minute
	}
	if cfg.MaxCached <= 0 {
		cfg.MaxCached = 1000
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	if clk == nil {
		clk = clock.System
	}
	return &Checker{cfg: cfg, http: client, clk: clk, m: m, crls: map[string]*crlEntry{}, answers: map[string]ocspAnswer{}}
}

// Check returns the revocation status of cert, issued by issuer.
func (c *Checker) Check(ctx context.Context, cert, issuer *x509.Certificate) Result {
	var problems []error
	if c.cfg.OCSP {
		for _, u := range cert.OCSPServer {
			if !isHTTP(u) {
				continue
			}
			r := c.ocsp(ctx, u, cert, issuer)
			if r.Status != Unknown {
				return r
			}
			problems = append(problems, r.Err)
		}
	}
	if c.cfg.CRL {
		for _, u := range cert.CRLDistributionPoints {
			if !isHTTP(u) {
				continue // ldap:// points are not fetched
			}
			r := c.crl(ctx, u, cert, issuer)
			if r.Status != Unknown {
				return r
			}
			problems = append(problems, r.Err)
		}
	}
	if len(problems) == 0 {
		problems = append(problems, errors.New("the certificate names no usable CRL distribution point or OCSP responder (or both are switched off)"))
	}
	return Result{Status: Unknown, Err: errors.Join(problems...)}
}

func isHTTP(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// clockSkew tolerates a responder or CA whose clock runs a little ahead.
const clockSkew = 5 * time.Minute

func (c *Checker) crl(ctx context.Context, u string, cert, issuer *x509.Certificate) Result {
	c.mu.Lock()
	e := c.crls[u]
	if e == nil {
		if len(c.crls) >= c.cfg.MaxCached {
			c.evictCRLs()
		}
		e = &crlEntry{}
		c.crls[u] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := c.clk.Now()
	if e.revoked == nil || !now.Before(e.next) {
		recent := e.failure != nil && now.Sub(e.failedAt) < c.cfg.RetryAfter
		if !recent {
			if err := c.fetchCRL(ctx, u, issuer, e); err != nil && ctx.Err() != nil {
				// Cut short by the caller: not the server's failure, so
				// nothing is remembered against the URL.
				return Result{Status: Unknown, Source: "crl", URL: u, Err: fmt.Errorf("CRL %s: %w", u, err)}
			} else if err != nil {
				e.failure, e.failedAt = fmt.Errorf("CRL %s: %w", u, err), now
			} else {
				e.failure = nil
			}
		}
		if e.failure != nil {
			// A stale list still proves a revocation it names.
			if at, ok := e.revoked[serialKey(cert)]; ok && bytes.Equal(e.rawIssuer, cert.RawIssuer) {
				return Result{Status: Revoked, Source: "crl", URL: u, RevokedAt: at}
			}
			return Result{Status: Unknown, Source: "crl", URL: u, Err: e.failure}
		}
	}
	if !bytes.Equal(e.rawIssuer, cert.RawIssuer) {
		return Result{Status: Unknown, Source: "crl", URL: u, Err: fmt.Errorf("CRL %s is issued by another CA than the certificate", u)}
	}
	if at, ok := e.revoked[serialKey(cert)]; ok {
		return Result{Status: Revoked, Source: "crl", URL: u, RevokedAt: at}
	}
	return Result{Status: Good, Source: "crl", URL: u}
}

// evictCRLs drops expired entries, or all when none has expired; called
// with c.mu held. The cache is small and rarely full, so simple is enough.
func (c *Checker) evictCRLs() {
	now := c.clk.Now()
	for u, e := range c.crls {
		if e.mu.TryLock() {
			if !now.Before(e.next) {
				delete(c.crls, u)
			}
			e.mu.Unlock()
		}
	}
	if len(c.crls) >= c.cfg.MaxCached {
		clear(c.crls)
	}
}

func (c *Checker) fetchCRL(ctx context.Context, u string, issuer *x509.Certificate, e *crlEntry) error {
	body, err := c.get(ctx, "crl", u, c.cfg.MaxCRLBytes, nil)
	if err != nil {
		return err
	}
	if blk, _ := pem.Decode(body); blk != nil && blk.Type == "X509 CRL" {
		body = blk.Bytes
	}
	rl, err := x509.ParseRevocationList(body)
	if err != nil {
		c.m.failed("crl")
		return fmt.Errorf("not a CRL: %w", err)
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		c.m.failed("crl")
		return fmt.Errorf("not signed by the certificate's issuer %q: %w", issuer.Subject.CommonName, err)
	}
	now := c.clk.Now()
	if rl.ThisUpdate.After(now.Add(clockSkew)) {
		c.m.failed("crl")
		return fmt.Errorf("issued in the future (%s; clock skew?)", rl.ThisUpdate.UTC().Format(time.RFC3339))
	}
	next := rl.NextUpdate
	if next.IsZero() {
		next = now.Add(time.Hour)
	}
	if !now.Before(next) {
		c.m.failed("crl")
		return fmt.Errorf("out of date: its next update was %s", next.UTC().Format(time.RFC3339))
	}
	revoked := make(map[string]time.Time, len(rl.RevokedCertificateEntries))
	for _, r := range rl.RevokedCertificateEntries {
		revoked[fmt.Sprintf("%X", r.SerialNumber)] = r.RevocationTime
	}
	e.rawIssuer, e.revoked, e.next = rl.RawIssuer, revoked, next
	return nil
}

func (c *Checker) ocsp(ctx context.Context, u string, cert, issuer *x509.Certificate) Result {
	key := fmt.Sprintf("%x/%X", issuer.SubjectKeyId, cert.SerialNumber)
	now := c.clk.Now()
	c.mu.Lock()
	a, ok := c.answers[key]
	c.mu.Unlock()
	if ok && now.Before(a.next) {
		return Result{Status: a.status, Source: "ocsp", URL: u, RevokedAt: a.revokedAt}
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return Result{Status: Unknown, Source: "ocsp", URL: u, Err: fmt.Errorf("OCSP %s: %w", u, err)}
	}
	body, err := c.get(ctx, "ocsp", u, 1<<20, req)
	if err != nil {
		return Result{Status: Unknown, Source: "ocsp", URL: u, Err: fmt.Errorf("OCSP %s: %w", u, err)}
	}
	resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err == nil && resp.Certificate != nil && !hasOCSPSigning(resp.Certificate) {
		err = errors.New("the responder's certificate is not authorised for OCSP signing")
	}
	if err == nil && resp.ThisUpdate.After(now.Add(clockSkew)) {
		err = fmt.Errorf("answer dated in the future (%s; clock skew?)", resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if err == nil && !resp.NextUpdate.IsZero() && !now.Before(resp.NextUpdate) {
		err = fmt.Errorf("answer out of date (next update %s)", resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	if err != nil {
		c.m.failed("ocsp")
		return Result{Status: Unknown, Source: "ocsp", URL: u, Err: fmt.Errorf("OCSP %s: %w", u, err)}
	}
	a = ocspAnswer{status: Unknown, next: resp.NextUpdate}
	if a.next.IsZero() {
		a.next = now.Add(5 * time.Minute)
	}
	switch resp.Status {
	case ocsp.Good:
		a.status = Good
	case ocsp.Revoked:
		a.status, a.revokedAt = Revoked, resp.RevokedAt
	default:
		return Result{Status: Unknown, Source: "ocsp", URL: u, Err: fmt.Errorf("OCSP %s: the responder does not know the certificate", u)}
	}
	c.mu.Lock()
	if len(c.answers) >= c.cfg.MaxCached {
		clear(c.answers)
	}
	c.answers[key] = a
	c.mu.Unlock()
	return Result{Status: a.status, Source: "ocsp", URL: u, RevokedAt: a.revokedAt}
}

func hasOCSPSigning(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageOCSPSigning {
			return true
		}
	}
	return false
}

// get fetches u (POSTing body when given), bounded in time and size.
func (c *Checker) get(parent context.Context, method, u string, max int64, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(parent, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	b, err := c.do(ctx, u, max, body)
	if err != nil && parent.Err() != nil {
		// The caller gave up (a stop, the document's own time limit): no
		// word on the server, which may be fine.
		return nil, fmt.Errorf("not asked to the end: %w", parent.Err())
	}
	c.m.observe(method, time.Since(start))
	if err != nil {
		c.m.failed(method)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %s: %w", c.cfg.Timeout, err)
		}
	}
	return b, err
}

func (c *Checker) do(ctx context.Context, u string, max int64, body []byte) ([]byte, error) {
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/ocsp-request")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	}
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than the %d-byte limit", max)
	}
	return b, nil
}

func serialKey(c *x509.Certificate) string { return fmt.Sprintf("%X", c.SerialNumber) }

// Metrics of revocation fetching.
type Metrics struct {
	failures *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the revocation metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_acceptance_revocation_fetch_failures_total",
			Help: "CRL downloads and OCSP queries for document signers that failed (status then unknown, never revoked)."}, []string{"method"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "seosgw_acceptance_revocation_fetch_seconds",
			Help: "Time to download a CRL or get an OCSP answer.", Buckets: prometheus.ExponentialBuckets(0.005, 4, 8)}, []string{"method"}),
	}
	m.failures = RegisterOrReuse(reg, m.failures)
	m.latency = RegisterOrReuse(reg, m.latency)
	for _, method := range []string{"crl", "ocsp"} {
		m.failures.WithLabelValues(method)
	}
	return m
}

// RegisterOrReuse registers c, or returns the collector already registered
// under its name (a policy reloaded on the same registry).
func RegisterOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

func (m *Metrics) failed(method string) {
	if m != nil {
		m.failures.WithLabelValues(method).Inc()
	}
}

func (m *Metrics) observe(method string, d time.Duration) {
	if m != nil {
		m.latency.WithLabelValues(method).Observe(d.Seconds())
	}
}

// Describe is for error messages: which sources a certificate names.
func Describe(cert *x509.Certificate) string {
	var parts []string
	if len(cert.OCSPServer) > 0 {
		parts = append(parts, "OCSP "+strings.Join(cert.OCSPServer, ", "))
	}
	if len(cert.CRLDistributionPoints) > 0 {
		parts = append(parts, "CRL "+strings.Join(cert.CRLDistributionPoints, ", "))
	}
	if len(parts) == 0 {
		return "no revocation source"
	}
	return strings.Join(parts, "; ")
}
