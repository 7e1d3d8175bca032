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
//
// Each file's last good list stays in force until its own NextUpdate when
// a later read of the file fails (a fetch job caught mid-write, a file
// removed by mistake): revocation is still known, so peers are judged by
// it under either policy, and Problem reports the file. At start there is
// no last good list: a file that cannot be read then is unknown, and
// fail-closed refuses to start (New).
type CRLSet struct {
	paths    []string
	issuers  []*x509.Certificate
	failOpen bool
	clk      clock.Clock
	log      *slog.Logger
	m        *Metrics

	mu     sync.Mutex
	files  map[string]*crlFile
	next   time.Time // earliest NextUpdate over the good lists
	looked time.Time // when the files were last looked at
	// failures counts reloads in a row that left a problem; the next
	// retry of an unchanged file waits reloadEvery·2^failures (at most
	// maxRetryWait), so a missing or unreadable file is not read again
	// on every check.
	failures int
	retryAt  time.Time
	problem  error // why some file has no usable list, or cannot be read now
}

// crlFile is one file: what its last look saw and its last good list.
type crlFile struct {
	seen    stamp
	good    *x509.RevocationList // nil until a read succeeded
	revoked map[string]bool      // serial hex of good
	err     error                // why the last read failed; nil after a good one
}

type stamp struct {
	missing bool
	mod     time.Time
	size    int64
}

// reloadEvery bounds how often the files are looked at (a stat each);
// maxRetryWait how long a file that keeps failing waits for its next read
// when it has not changed (a chmod changes neither size nor time).
const (
	reloadEvery  = 10 * time.Second
	maxRetryWait = 10 * time.Minute
)

// NewCRLSet prepares the set; Load reads the files.
func NewCRLSet(paths []string, issuers []*x509.Certificate, failOpen bool, clk clock.Clock, log *slog.Logger, m *Metrics) *CRLSet {
	c := &CRLSet{paths: paths, issuers: issuers, failOpen: failOpen, clk: clk, log: log, m: m, files: map[string]*crlFile{}}
	for _, p := range paths {
		c.files[p] = &crlFile{}
	}
	return c
}

// Load (re)reads every file and returns what failed: a file that could
// not be read (it keeps its last good list, if it had one), or revocation
// unknown.
func (c *CRLSet) Load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadLocked(c.clk.Now())
	if unknown := c.unknownLocked(c.clk.Now()); unknown != nil {
		return unknown
	}
	return c.problem
}

func (c *CRLSet) loadLocked(now time.Time) {
	var problems []error
	for _, p := range c.paths {
		f := c.files[p]
		f.seen = statStamp(p)
		rl, err := c.read(p)
		if err != nil {
			f.err = err
			problems = append(problems, err)
			continue
		}
		f.good, f.err, f.revoked = rl, nil, map[string]bool{}
		for _, e := range rl.RevokedCertificateEntries {
			f.revoked[serialKey(e.SerialNumber)] = true
		}
		if c.m != nil {
			c.m.nextUpdate.WithLabelValues(p).Set(float64(rl.NextUpdate.Unix()))
		}
	}
	c.next = time.Time{}
	for _, f := range c.files {
		if f.good != nil && (c.next.IsZero() || f.good.NextUpdate.Before(c.next)) {
			c.next = f.good.NextUpdate
		}
	}
	c.looked, c.problem = now, errors.Join(problems...)
	if c.problem == nil {
		c.failures, c.retryAt = 0, time.Time{}
	} else {
		c.retryAt = now.Add(min(reloadEvery<<min(c.failures, 16), maxRetryWait))
		c.failures++
	}
	if c.m != nil {
		c.m.loads.Inc()
		if c.problem != nil {
			c.m.loadErrors.Inc()
		}
	}
	if c.problem != nil && c.log != nil {
		c.log.Warn("CRL problem", "error", c.problem, "fail_open", c.failOpen, "revocation_known", c.unknownLocked(now) == nil,
			"next_retry", c.retryAt.UTC().Format(time.RFC3339))
	}
}

func statStamp(path string) stamp {
	st, err := os.Stat(path)
	if err != nil {
		return stamp{missing: true}
	}
	return stamp{mod: st.ModTime(), size: st.Size()}
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

// refreshLocked looks at the files at most every reloadEvery and reads
// them again when one changed, or when a failed read is due for a retry.
func (c *CRLSet) refreshLocked(now time.Time) {
	if now.Sub(c.looked) < reloadEvery {
		return
	}
	c.looked = now
	changed := false
	for _, p := range c.paths {
		if statStamp(p) != c.files[p].seen {
			changed = true
		}
	}
	if changed || (c.problem != nil && !now.Before(c.retryAt)) {
		c.loadLocked(now)
	}
}

// unknownLocked is why revocation is unknown now: a file that never gave a
// good list, or a list past its NextUpdate.
func (c *CRLSet) unknownLocked(now time.Time) error {
	var errs []error
	for _, p := range c.paths {
		switch f := c.files[p]; {
		case f.good == nil && f.err != nil:
			errs = append(errs, f.err)
		case f.good == nil:
			errs = append(errs, fmt.Errorf("CRL %s: not read yet", p))
		}
	}
	if len(errs) == 0 && !c.next.IsZero() && now.After(c.next) {
		errs = append(errs, fmt.Errorf("the CRL is past its next update (%s); fetch a fresh one", c.next.UTC().Format(time.RFC3339)))
	}
	err := errors.Join(errs...)
	if c.m != nil {
		c.m.stale.Set(b2f(err != nil))
	}
	return err
}

// Check reports whether cert is revoked, reloading changed files first.
func (c *CRLSet) Check(cert *x509.Certificate) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	c.refreshLocked(now)
	for _, f := range c.files {
		if f.good != nil && string(f.good.RawIssuer) == string(cert.RawIssuer) && f.revoked[serialKey(cert.SerialNumber)] {
			if c.m != nil {
				c.m.revokedSeen.Inc()
			}
			return &CertError{Reason: "revoked", Err: fmt.Errorf("serial %X is on the CRL of %s", cert.SerialNumber, cert.Issuer)}
		}
	}
	if unknown := c.unknownLocked(now); unknown != nil && !c.failOpen {
		return &CertError{Reason: "revocation_unknown", Err: unknown}
	}
	return nil
}

// Problem returns what is wrong with the CRLs now, or nil: revocation
// unknown, or a file that cannot be read while its last good list is in
// force. It picks up changed files itself (readiness asks it even when no
// peer connects), at the same pace as Check, and keeps seosgw_crl_stale
// current.
func (c *CRLSet) Problem() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	c.refreshLocked(now)
	if err := c.unknownLocked(now); err != nil {
		return err
	}
	if c.problem != nil {
		return fmt.Errorf("%w (the last good list stays in force until %s; retried from %s)", c.problem,
			c.next.UTC().Format(time.RFC3339), c.retryAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// NextUpdate is the earliest NextUpdate of the good lists in force; false
// when none is.
func (c *CRLSet) NextUpdate() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next, !c.next.IsZero()
}

func serialKey(n *big.Int) string { return fmt.Sprintf("%X", n) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
