// Package rotation is the renewal of this node's transport certificate
// while it runs: the Keeper holds the pair in force and swaps it on
// SIGHUP or when its files change, refusing (and keeping the old pair) a
// new one that does not match or is under the key-size floor; Grace is
// the rule that retries a peer's Error blaming our certificate for a
// while after our register entry's CertificateSN changed.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
)

// Keeper is the transport identity in force, read on every TLS handshake
// and signature (it is a pki.Source).
type Keeper struct {
	certPath, keyPath string
	minRSABits        int // tls.min_rsa_bits, the floor start applied too
	log               *slog.Logger
	m                 *Metrics
	clk               clock.Clock

	cur atomic.Pointer[pki.Identity]

	mu     sync.Mutex // one reload at a time
	loaded stamps     // the files' version last loaded, or last refused
	seen   stamps     // the files' version at the last poll, to let a rewrite settle
	onSwap []func(old, new *pki.Identity)
}

// PollEvery is how often Run looks at the files.
const PollEvery = 10 * time.Second

// Reload triggers, for logs and metrics.
const (
	TriggerSignal = "sighup"
	TriggerFile   = "file"
)

// Result is what a reload did.
type Result string

const (
	Swapped   Result = "swapped"   // a new pair is in force
	Unchanged Result = "unchanged" // the files hold the pair in force
	Refused   Result = "refused"   // the new pair was refused; the old one stays
)

// NewKeeper starts with id, loaded from certPath and keyPath and checked
// against minRSABits (tls.min_rsa_bits; 0 is pki.DefaultMinRSABits), the
// floor every reload is held to as well. m may be nil.
func NewKeeper(certPath, keyPath string, minRSABits int, id *pki.Identity, clk clock.Clock, log *slog.Logger, m *Metrics) *Keeper {
	k := &Keeper{certPath: certPath, keyPath: keyPath, minRSABits: minRSABits, log: log, m: m, clk: clk}
	k.cur.Store(id)
	k.loaded = stampsOf(certPath, keyPath)
	k.seen = k.loaded
	m.inForce(id, clk.Now())
	return k
}

// Current is the pair in force.
func (k *Keeper) Current() *pki.Identity { return k.cur.Load() }

// OnSwap calls f after each swap, in the reloading goroutine: to close
// idle connections made with the old certificate, and the like. Call it
// before Run.
func (k *Keeper) OnSwap(f func(old, new *pki.Identity)) {
	k.mu.Lock()
	k.onSwap = append(k.onSwap, f)
	k.mu.Unlock()
}

// Reload reads the files again and puts the pair in force unless it is
// refused: a key that does not belong to the certificate, a key under the
// floor, or files that cannot be read. A refusal keeps the old pair and is
// logged and counted; it is also the error returned.
func (k *Keeper) Reload(trigger string) (Result, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := stampsOf(k.certPath, k.keyPath)
	k.loaded, k.seen = st, st
	old := k.Current()
	id, err := pki.LoadIdentity(k.certPath, k.keyPath)
	if err == nil {
		if err = pki.CheckKey(id.Cert.PublicKey, k.minRSABits); err != nil {
			err = &refusal{reason: "key_too_small", err: fmt.Errorf("the new certificate's %w: peers refuse it; ask DAEU for a new certificate (seosgw pki csr) with a key at the floor", err)}
		}
	} else {
		reason := "unreadable"
		if errors.Is(err, pki.ErrKeyMismatch) {
			reason = "key_mismatch"
		}
		err = &refusal{reason: reason, err: err}
	}
	if err != nil {
		var r *refusal
		errors.As(err, &r)
		k.m.reloaded(trigger, Refused, r.reason)
		k.log.Error("transport certificate not reloaded; the pair in force stays", "trigger", trigger, "reason", r.reason,
			"in_force_serial", pki.SerialHex(old.Cert), "error", r.err)
		return Refused, err
	}
	if samePair(old, id) {
		k.m.reloaded(trigger, Unchanged, "")
		k.log.Info("transport certificate files reread; the pair in force is unchanged", "trigger", trigger, "serial", pki.SerialHex(old.Cert))
		return Unchanged, nil
	}
	k.cur.Store(id)
	now := k.clk.Now()
	k.m.reloaded(trigger, Swapped, "")
	k.m.inForce(id, now)
	args := []any{"trigger", trigger, "old_serial", pki.SerialHex(old.Cert), "new_serial", pki.SerialHex(id.Cert),
		"subject", id.Cert.Subject.String(), "not_after", id.Cert.NotAfter.UTC().Format(time.RFC3339)}
	switch {
	case now.After(id.Cert.NotAfter):
		k.log.Warn("transport certificate swapped, but the new one has expired: peers refuse it", args...)
	case now.Before(id.Cert.NotBefore):
		k.log.Warn("transport certificate swapped, but the new one is not valid yet (clock skew?): peers refuse it", args...)
	default:
		k.log.Info("transport certificate swapped without a restart", args...)
	}
	for _, f := range k.onSwap {
		f(old, id)
	}
	return Swapped, nil
}

// Poll reloads when the files changed since the last load and have stayed
// the same since the last poll: a certificate and a key are two files,
// rarely replaced at one instant, and half a rewrite is no pair to judge.
func (k *Keeper) Poll() {
	st := stampsOf(k.certPath, k.keyPath)
	k.mu.Lock()
	changed, settled := st != k.loaded, st == k.seen
	k.seen = st
	k.mu.Unlock()
	if changed && settled {
		k.Reload(TriggerFile) // a refusal is logged and counted; the next change is looked at again
	}
}

// Run polls the files every PollEvery until ctx ends.
func (k *Keeper) Run(ctx context.Context) error {
	t := time.NewTicker(PollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			k.Poll()
		}
	}
}

// samePair: the same certificate and chain (LoadIdentity has checked
// that the key belongs to the certificate).
func samePair(a, b *pki.Identity) bool {
	if !a.Cert.Equal(b.Cert) || len(a.Chain) != len(b.Chain) {
		return false
	}
	for i := range a.Chain {
		if !a.Chain[i].Equal(b.Chain[i]) {
			return false
		}
	}
	return true
}

// refusal is a reload refused, for the metric's reason label.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string {
	return fmt.Sprintf("transport certificate not reloaded (%s): %v", r.reason, r.err)
}
func (r *refusal) Unwrap() error { return r.err }

// stamps tell versions of the two files apart: a rename over a file (the
// usual way to replace it) changes the inode even when size and time match.
type stamps struct{ cert, key fileStamp }

type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
	err  bool
}

func stampsOf(cert, key string) stamps {
	return stamps{cert: stampOf(cert), key: stampOf(key)}
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{err: true}
	}
	return fileStamp{mod: st.ModTime(), size: st.Size(), ino: inode(st)}
}
