package trust

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"sync"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

// CRLSet is the revocation lists from files, reloaded when a file changes.
// A CRL that cannot be read, is not signed by a root, or is past its next
// update makes revocation *unknown* — reported as such, never as revoked;
// the policy (fail-open or fail-closed) decides what unknown means.
type CRLSet struct {
	paths    []string
	issuers  []*x509.Certificate
	failOpen bool
	clk      clock.Clock
	log      *slog.Logger
	m        *Metrics

	mu      sync.Mutex
	stamps  map[string]stamp
	revoked map[string]map[string]bool // issuer subject (raw) -> serial hex -> revoked
	problem error                      // why revocation is unknown, nil when fine
	next    time.Time                  // earliest NextUpdate over all lists
	checked time.Time
}

type stamp struct {
	mod  time.Time
	size int64
}

// reloadEvery bounds how often a check looks at the files.
const reloadEvery = 10 * time.Second

// NewCRLSet prepares the set; Load reads the files.
func NewCRLSet(paths []string, issuers []*x509.Certificate, failOpen bool, clk clock.Clock, log *slog.Logger, m *Metrics) *CRLSet {
	return &CRLSet{paths: paths, issuers: issuers, failOpen: failOpen, clk: clk, log: log, m: m, stamps: map[string]stamp{}}
}

// Load (re)reads every file. It returns the problem that makes revocation
// unknown, if any; the previous lists stay in force for serials they name.
func (c *CRLSet) Load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loadLocked()
}

func (c *CRLSet) loadLocked() error {
	revoked := map[string]map[string]bool{}
	var next time.Time
	var problems []error
	stamps := map[string]stamp{}
	for _, p := range c.paths {
		st, err := os.Stat(p)
		if err != nil {
			problems = append(problems, fmt.Errorf("CRL %s: %w", p, err))
			continue
		}
		stamps[p] = stamp{st.ModTime(), st.Size()}
		rl, err := c.read(p)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		key := string(rl.RawIssuer)
		if revoked[key] == nil {
			revoked[key] = map[string]bool{}
		}
		for _, e := range rl.RevokedCertificateEntries {
			revoked[key][serialKey(e.SerialNumber)] = true
		}
		if next.IsZero() || rl.NextUpdate.Before(next) {
			next = rl.NextUpdate
		}
		if c.m != nil {
			c.m.nextUpdate.WithLabelValues(p).Set(float64(rl.NextUpdate.Unix()))
		}
	}
	c.stamps, c.checked = stamps, c.clk.Now()
	if len(problems) > 0 {
		// Keep what we knew: a list that fails to reload still names its serials.
		for k, v := range c.revoked {
			if revoked[k] == nil {
				revoked[k] = v
			}
		}
	}
	c.revoked, c.next = revoked, next
	c.problem = errors.Join(problems...)
	if c.m != nil {
		c.m.loads.Inc()
		if c.problem != nil {
			c.m.loadErrors.Inc()
		}
	}
	if c.problem != nil && c.log != nil {
		c.log.Warn("CRL problem: revocation status unknown", "error", c.problem, "fail_open", c.failOpen)
	}
	return c.problem
}

func (c *CRLSet) read(path string) (*x509.RevocationList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CRL %s: %w", path, err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("CRL %s: PEM block %q, want X509 CRL", path, blk.Type)
		}
		b = blk.Bytes
	}
	rl, err := x509.ParseRevocationList(b)
	if err != nil {
		return nil, fmt.Errorf("CRL %s: %w", path, err)
	}
	for _, iss := range c.issuers {
		if rl.CheckSignatureFrom(iss) == nil {
			return rl, nil
		}
	}
	return nil, fmt.Errorf("CRL %s: not signed by a configured CA", path)
}

// Check reports whether cert is revoked, reloading changed files first.
func (c *CRLSet) Check(cert *x509.Certificate) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	if now.Sub(c.checked) >= reloadEvery && c.changedLocked() {
		c.loadLocked()
	}
	if c.revoked[string(cert.RawIssuer)][serialKey(cert.SerialNumber)] {
		if c.m != nil {
			c.m.revokedSeen.Inc()
		}
		return &CertError{Reason: "revoked", Err: fmt.Errorf("serial %X is on the CRL of %s", cert.SerialNumber, cert.Issuer)}
	}
	unknown := c.problem
	if unknown == nil && !c.next.IsZero() && now.After(c.next) {
		unknown = fmt.Errorf("the CRL is past its next update (%s); fetch a fresh one", c.next.UTC().Format(time.RFC3339))
	}
	stale := unknown != nil
	if c.m != nil {
		c.m.stale.Set(b2f(stale))
	}
	if stale && !c.failOpen {
		return &CertError{Reason: "revocation_unknown", Err: unknown}
	}
	return nil
}

func (c *CRLSet) changedLocked() bool {
	c.checked = c.clk.Now()
	for _, p := range c.paths {
		st, err := os.Stat(p)
		if err != nil {
			return true
		}
		if old, ok := c.stamps[p]; !ok || !old.mod.Equal(st.ModTime()) || old.size != st.Size() {
			return true
		}
	}
	return false
}

// Problem returns why revocation is unknown now, or nil. It picks up
// changed files itself (readiness asks it even when no peer connects) and
// keeps seosgw_crl_stale current.
func (c *CRLSet) Problem() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changedLocked() {
		c.loadLocked()
	}
	err := c.problem
	if err == nil && !c.next.IsZero() && c.clk.Now().After(c.next) {
		err = fmt.Errorf("CRL past its next update (%s); fetch a fresh one", c.next.UTC().Format(time.RFC3339))
	}
	if c.m != nil {
		c.m.stale.Set(b2f(err != nil))
	}
	return err
}

func serialKey(n *big.Int) string { return fmt.Sprintf("%X", n) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
