package outbound

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/rotation"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

// renewA gives A a new certificate, which DAEU has entered in the
// register and A's copy has seen (opening A's grace window), while B's
// copy still lists the old one; B is the real endpoint. It returns the
// count of B's inbox and a function that brings B's copy up to date.
func renewA(t *testing.T, n *testNet, window time.Duration) (bDB func() int, refreshB func(), stop func()) {
	t.Helper()
	renewed := testkit.SharedPKI(t).Issue(t, "a.obmen.local", pki.WithLoopback())
	dbB, stopB := n.serveRealB() // B's copy: A's old certificate
	n.d.Identity = renewed
	current := []register.Entity{entity(n.aEnt, renewed, "https://a.invalid/seos"), entity(n.bEnt, n.b, n.bURL)}
	cacheA := register.NewCache(n.dbA, clock.System)
	if err := cacheA.Apply(context.Background(), false, current, ""); err != nil {
		t.Fatal(err)
	}
	n.d.Grace = &rotation.Grace{Dir: cacheA, Self: n.aEnt.GUID, Window: window, Clock: clock.System, Log: n.log}
	return func() int {
			return testkit.Count(t, dbB, `SELECT count(*) FROM inbox`)
		}, func() {
			if err := register.NewCache(dbB, clock.System).Apply(context.Background(), false, current, ""); err != nil {
				t.Fatal(err)
			}
		}, stopB
}

// During the grace window, B's Error about A's certificate (its copy does
// not list the renewed one yet) is retried, and the document arrives once
// B's copy follows: nothing fails, nothing is lost.
func TestRotationGraceRetriesAnErrorBlamingOurCertificate(t *testing.T) {
	n := newNet(t)
	inbox, refreshB, stop := renewA(t, n, time.Hour)
	defer stop()
	id := n.enqueue(seos.NewGUID())
	it := n.runUntil(id, 20*time.Second, func(it *outbox.Item) bool {
		return it.Attempts >= 2 || it.State != outbox.Queued && it.State != outbox.Sending
	})
	if it.State == outbox.Failed {
		t.Fatalf("failed within the grace window: %s", it.LastError)
	}
	ev, _ := outbox.Events(context.Background(), n.dbA, id)
	if len(ev) < 2 || ev[1].Event != "retry" || !strings.Contains(ev[1].Detail, "TLS сертификатът") || !strings.Contains(ev[1].Detail, "tls.rotation_grace") {
		t.Errorf("history: %+v", ev)
	}
	if v := testutil.ToFloat64(n.d.Metrics.failures.WithLabelValues("peer_error_rotation_grace")); v < 1 {
		t.Errorf("grace retries counted %v", v)
	}
	refreshB()
	it = n.runUntil(id, 20*time.Second, delivered)
	if it.DocStatus != outbox.StateWaiting || inbox() != 1 {
		t.Errorf("after B's copy followed: %+v, B holds %d", it, inbox())
	}
}

// Without the window (or after it), the same Error is what any Error is:
// final.
func TestWithoutGraceAnErrorBlamingOurCertificateIsFinal(t *testing.T) {
	for name, window := range map[string]time.Duration{"rule off": 0, "window passed": time.Nanosecond} {
		t.Run(name, func(t *testing.T) {
			n := newNet(t)
			_, _, stop := renewA(t, n, window)
			defer stop()
			it := n.runUntil(n.enqueue(seos.NewGUID()), 20*time.Second, failed)
			if it.Attempts != 1 || !strings.Contains(it.LastError, "ERR_EXTERNAL") || !strings.Contains(it.LastError, "TLS сертификатът") {
				t.Errorf("%+v", it)
			}
		})
	}
}
