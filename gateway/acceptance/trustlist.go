package acceptance

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/docsig"
	"github.com/seosgw/seosgw/gateway/acceptance/trustlist"
	"github.com/seosgw/seosgw/gateway/clock"
)

// DefaultTrustedListRefresh is how often the trusted list is re-read and
// its signature verified again when its files have not changed.
const DefaultTrustedListRefresh = time.Hour

// anchors keeps the trust anchors in force: the CA folder's, read at
// start, and the trusted list's, read again when its files change and
// every trusted_list.refresh — a new list is taken without a restart, a
// list that no longer verifies is refused (the last good one stays), and
// one past its NextUpdate no longer vouches: the signatures it would
// anchor are "unknown" (signatures.trust.on_unknown, hold by default).
type anchors struct {
	dir              []*x509.Certificate // trusted_ca_dir, fixed
	file, signers    string              // trusted_list; "" when none
	refresh          time.Duration
	clk              clock.Clock
	log              *slog.Logger
	m                *metrics
	mu               sync.Mutex // one reload at a time
	cur              atomic.Pointer[anchorState]
	stamp            string // the list's files as last read
	lastTry, lastErr time.Time
}

type anchorState struct {
	set      *docsig.Anchors
	list     *trustlist.List // nil without a trusted list
	fromList map[string]bool // raw certificates only the list vouches for
	loadedAt time.Time
}

func newAnchors(dir []*x509.Certificate, file, signers string, refresh time.Duration, clk clock.Clock, log *slog.Logger, m *metrics) (*anchors, error) {
	if refresh <= 0 {
		refresh = DefaultTrustedListRefresh
	}
	a := &anchors{dir: dir, file: file, signers: signers, refresh: refresh, clk: clk, log: log, m: m}
	if file == "" {
		a.cur.Store(a.build(nil))
		return a, nil
	}
	a.stamp = stampOf(file, signers)
	l, err := loadTrustedList(file, signers, clk)
	if err != nil {
		return nil, err
	}
	a.install(l)
	if l.OutOfDate(clk.Now()) {
		log.Warn("trusted list out of date: signatures under its CAs are held until a current list is in place",
			"file", file, "next_update", l.NextUpdate.UTC().Format(time.RFC3339))
	}
	return a, nil
}

// current is the anchors in force, after reloading the trusted list when
// its files changed or its refresh is due.
func (a *anchors) current() *docsig.Anchors {
	if a.file != "" {
		a.maybeReload()
	}
	return a.cur.Load().set
}

func (a *anchors) maybeReload() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clk.Now()
	st := stampOf(a.file, a.signers)
	if st == a.stamp && now.Sub(a.cur.Load().loadedAt) < a.refresh {
		return
	}
	if st == a.stamp && !a.lastErr.IsZero() && now.Sub(a.lastTry) < a.refresh {
		return // the same files failed: try them again at the next refresh
	}
	changed := st != a.stamp
	a.stamp, a.lastTry = st, now
	l, err := loadTrustedList(a.file, a.signers, a.clk)
	if err != nil {
		a.lastErr = now
		a.m.trustedListReloadFailed()
		a.log.Error("trusted list not reloaded; the last good one stays in force", "file", a.file, "changed", changed, "error", err)
		return
	}
	a.lastErr = time.Time{}
	a.install(l)
	a.log.Info("trusted list reloaded", "file", a.file, "changed", changed, "services", len(l.Services),
		"issued", l.IssueDate.UTC().Format(time.RFC3339), "next_update", l.NextUpdate.UTC().Format(time.RFC3339))
}

// install puts l in force beside the CA folder's certificates.
func (a *anchors) install(l *trustlist.List) {
	st := a.build(l)
	a.cur.Store(st)
	a.m.trustedList(l, st.loadedAt)
}

func (a *anchors) build(l *trustlist.List) *anchorState {
	st := &anchorState{list: l, fromList: map[string]bool{}, loadedAt: a.clk.Now()}
	all := append([]*x509.Certificate(nil), a.dir...)
	inDir := map[string]bool{}
	for _, c := range a.dir {
		inDir[string(c.Raw)] = true
	}
	if l != nil {
		for _, s := range l.Services {
			all = append(all, s.Cert)
			if !inDir[string(s.Cert.Raw)] {
				st.fromList[string(s.Cert.Raw)] = true
			}
		}
	}
	st.set = &docsig.Anchors{Intermediates: all}
	if len(all) > 0 {
		st.set.Roots = x509.NewCertPool()
		for _, c := range all {
			st.set.Roots.AddCert(c)
		}
	}
	if l != nil {
		st.set.Stale = func(top *x509.Certificate) (string, string) {
			if !st.fromList[string(top.Raw)] || !l.OutOfDate(a.clk.Now()) {
				return "", ""
			}
			nu := l.NextUpdate.UTC().Format(time.RFC3339)
			return "доверителният списък е остарял (следващото обновяване беше " + nu + ")",
				"the trusted list is out of date (its next update was " + nu + "): put the current list in " + a.file
		}
	}
	return st
}

// stampOf tells versions of the list's files apart by size and
// modification time (a list replaced by rename or rewritten in place).
func stampOf(paths ...string) string {
	var b bytes.Buffer
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s %d %d;", p, st.Size(), st.ModTime().UnixNano())
		} else {
			fmt.Fprintf(&b, "%s missing;", p)
		}
	}
	return b.String()
}

// loadTrustedList verifies an EU trusted list with the operator's
// certificates and returns it.
func loadTrustedList(file, signersPEM string, clk clock.Clock) (*trustlist.List, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	sb, err := os.ReadFile(signersPEM)
	if err != nil {
		return nil, fmt.Errorf("signer_certs: %w", err)
	}
	signers, err := parseCerts(sb)
	if err != nil {
		return nil, fmt.Errorf("signer_certs %s: %w", signersPEM, err)
	}
	l, err := trustlist.Parse(b, signers, clk.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return l, nil
}
