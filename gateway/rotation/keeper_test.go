package rotation_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/rotation"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// keeperWorld is a node's transport files, its Keeper, and TLS on
// loopback in both directions: a server presenting the Keeper's
// certificate, and a client presenting it to a server that notes what it
// was shown.
type keeperWorld struct {
	t          *testing.T
	p          *testkit.PKI
	dir        string
	cert, key  string
	k          *rotation.Keeper
	reg        *prometheus.Registry
	log        *testkit.SyncBuffer
	serverAddr string       // serves with the Keeper's certificate
	peerAddr   string       // requires a client certificate and records it
	seenClient atomic.Value // serial of the last client certificate the peer saw
	client     *http.Client // presents the Keeper's certificate
	floor      int          // tls.min_rsa_bits
}

func newKeeperWorld(t *testing.T) *keeperWorld { return newKeeperWorldAt(t, 0) }

// newKeeperWorldAt is a world whose tls.min_rsa_bits is floor.
func newKeeperWorldAt(t *testing.T, floor int) *keeperWorld {
	t.Helper()
	w := &keeperWorld{t: t, p: testkit.SharedPKI(t), dir: t.TempDir(), reg: prometheus.NewRegistry(), log: &testkit.SyncBuffer{}, floor: floor}
	id := w.p.Issue(t, "node.obmen.local", pki.WithLoopback())
	w.cert, w.key = testkit.Files(t, w.dir, id, "transport")
	w.k = rotation.NewKeeper(w.cert, w.key, w.floor, id, clock.System, slog.New(slog.NewTextHandler(w.log, nil)), rotation.NewMetrics(w.reg))
	ts := w.p.Trust(t)
	w.serverAddr = w.serve(ts.ServerTLS(w.k), nil)
	peer := w.p.Host(t, "peer.obmen.local")
	w.peerAddr = w.serve(ts.ServerTLS(peer), func(r *http.Request) { w.seenClient.Store(pki.SerialHex(r.TLS.PeerCertificates[0])) })
	w.client = &http.Client{Transport: &http.Transport{TLSClientConfig: ts.ClientTLS(w.k, "127.0.0.1")}}
	t.Cleanup(w.client.CloseIdleConnections)
	return w
}

func (w *keeperWorld) serve(cfg *tls.Config, seen func(*http.Request)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: cfg, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen(r)
		}
		io.WriteString(rw, "ok")
	})}
	go srv.Serve(tls.NewListener(ln, cfg))
	w.t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// served is the serial our server presents in a new handshake.
func (w *keeperWorld) served() string {
	w.t.Helper()
	conn, err := tls.Dial("tcp", w.serverAddr, &tls.Config{RootCAs: w.p.CA.Pool(), ServerName: "127.0.0.1",
		Certificates: []tls.Certificate{w.p.Host(w.t, "peer.obmen.local").TLSCertificate()}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close()
	return pki.SerialHex(conn.ConnectionState().PeerCertificates[0])
}

// presented is the serial our client shows a peer in a new connection.
func (w *keeperWorld) presented() string {
	w.t.Helper()
	w.client.CloseIdleConnections()
	resp, err := w.client.Get("https://" + w.peerAddr + "/")
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return w.seenClient.Load().(string)
}

// replace puts new files in place the way an administrator does: written
// beside, renamed over.
func (w *keeperWorld) replace(certPEM, keyPEM []byte) {
	w.t.Helper()
	for path, b := range map[string][]byte{w.cert: certPEM, w.key: keyPEM} {
		if b == nil {
			continue
		}
		if err := os.WriteFile(path+".new", b, 0o600); err != nil {
			w.t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *keeperWorld) failures(reason string) float64 {
	return testkit.Metric(w.t, w.reg, "seosgw_transport_certificate_reload_failures_total", "reason", reason)
}

func keyPEM(t *testing.T, id *pki.Identity) []byte {
	t.Helper()
	b, err := id.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A renewed pair is served and presented from the next handshake on,
// without a restart; the old one is never mixed with the new.
func TestKeeperSwapsOnReload(t *testing.T) {
	w := newKeeperWorld(t)
	old := pki.SerialHex(w.k.Current().Cert)
	if w.served() != old || w.presented() != old {
		t.Fatalf("before: served %s, presented %s, want %s", w.served(), w.presented(), old)
	}
	var swaps [][2]string
	w.k.OnSwap(func(o, n *pki.Identity) {
		swaps = append(swaps, [2]string{pki.SerialHex(o.Cert), pki.SerialHex(n.Cert)})
	})
	renewed := w.p.Issue(t, "node.obmen.local", pki.WithLoopback())
	w.replace(renewed.CertPEM(), keyPEM(t, renewed))
	if r, err := w.k.Reload(rotation.TriggerSignal); r != rotation.Swapped || err != nil {
		t.Fatalf("reload: %s %v", r, err)
	}
	now := pki.SerialHex(renewed.Cert)
	if w.served() != now || w.presented() != now || pki.SerialHex(w.k.Current().Cert) != now {
		t.Errorf("after: served %s, presented %s, want %s", w.served(), w.presented(), now)
	}
	if len(swaps) != 1 || swaps[0] != [2]string{old, now} {
		t.Errorf("OnSwap calls: %v", swaps)
	}
	if r, err := w.k.Reload(rotation.TriggerSignal); r != rotation.Unchanged || err != nil {
		t.Errorf("reload of the same files: %s %v", r, err)
	}
	if !strings.Contains(w.log.String(), "transport certificate swapped without a restart") || !strings.Contains(w.log.String(), "new_serial="+now) {
		t.Errorf("log:\n%s", w.log.String())
	}
	if v := testkit.Metric(t, w.reg, "seosgw_transport_certificate_info", "serial", now); v != 1 {
		t.Errorf("info{serial=%s} = %v", now, v)
	}
	if v := testkit.Metric(t, w.reg, "seosgw_transport_certificate_reloads_total", "trigger", "sighup", "result", "swapped"); v != 1 {
		t.Errorf("reloads{sighup,swapped} = %v", v)
	}
}

// A pair that does not hold is refused, logged and counted; the pair in
// force stays, in the server and the client alike.
func TestKeeperRefusesABadPair(t *testing.T) {
	w := newKeeperWorld(t)
	inForce := pki.SerialHex(w.k.Current().Cert)
	other := w.p.Issue(t, "node.obmen.local", pki.WithLoopback())
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := w.p.Issue(t, "node.obmen.local", pki.WithKey(weakKey), pki.WithLoopback())
	for _, c := range []struct {
		name      string
		cert, key []byte
		reason    string
	}{
		{"a key of another certificate", other.CertPEM(), keyPEM(t, w.p.Host(t, "peer.obmen.local")), "key_mismatch"},
		{"a key under the floor", weak.CertPEM(), keyPEM(t, weak), "key_too_small"},
		{"not PEM", []byte("garbage"), nil, "unreadable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.replace(c.cert, c.key)
			r, err := w.k.Reload(rotation.TriggerSignal)
			if r != rotation.Refused || err == nil {
				t.Fatalf("reload: %s %v", r, err)
			}
			if got := pki.SerialHex(w.k.Current().Cert); got != inForce || w.served() != inForce || w.presented() != inForce {
				t.Errorf("the pair in force changed: %s", got)
			}
			if w.failures(c.reason) != 1 {
				t.Errorf("failures{reason=%s} = %v", c.reason, w.failures(c.reason))
			}
			if !strings.Contains(w.log.String(), "reason="+c.reason) {
				t.Errorf("no log line for %s:\n%s", c.reason, w.log.String())
			}
		})
	}
}

// The floor a reload is held to is tls.min_rsa_bits, the one start
// applies, not a fixed one: with the floor at 3072 a renewed 2048-bit pair
// is refused and the pair in force keeps serving.
func TestKeeperHoldsTheConfiguredFloor(t *testing.T) {
	w := newKeeperWorldAt(t, 3072)
	inForce := pki.SerialHex(w.k.Current().Cert)
	renewed := w.p.Issue(t, "node.obmen.local", pki.WithLoopback())
	w.replace(renewed.CertPEM(), keyPEM(t, renewed))
	r, err := w.k.Reload(rotation.TriggerFile)
	var weak *pki.WeakKeyError
	if r != rotation.Refused || !errors.As(err, &weak) || weak.Min != 3072 || !strings.Contains(err.Error(), "tls.min_rsa_bits") {
		t.Fatalf("reload of a 2048-bit pair under a 3072-bit floor: %s %v", r, err)
	}
	if w.served() != inForce || w.presented() != inForce {
		t.Errorf("the pair in force changed: served %s, presented %s, want %s", w.served(), w.presented(), inForce)
	}
	if w.failures("key_too_small") != 1 {
		t.Errorf("failures{reason=key_too_small} = %v", w.failures("key_too_small"))
	}
}

// A change of the files is taken once it has settled: a poll that sees
// them changing waits for the next, which sees them unchanged.
func TestKeeperFollowsFileChanges(t *testing.T) {
	w := newKeeperWorld(t)
	renewed := w.p.Issue(t, "node.obmen.local", pki.WithLoopback())
	w.replace(renewed.CertPEM(), nil) // the certificate first: no pair yet
	w.k.Poll()
	w.replace(nil, keyPEM(t, renewed))
	w.k.Poll() // changed again since the last poll: still settling
	if pki.SerialHex(w.k.Current().Cert) == pki.SerialHex(renewed.Cert) || w.failures("key_mismatch") != 0 {
		t.Fatal("a half-written pair was judged")
	}
	w.k.Poll()
	if got := pki.SerialHex(w.k.Current().Cert); got != pki.SerialHex(renewed.Cert) || w.served() != got {
		t.Errorf("after the files settled: %s, want %s", got, pki.SerialHex(renewed.Cert))
	}
	if v := testkit.Metric(t, w.reg, "seosgw_transport_certificate_reloads_total", "trigger", "file", "result", "swapped"); v != 1 {
		t.Errorf("reloads{file,swapped} = %v", v)
	}
	w.k.Poll()
	if v := testkit.Metric(t, w.reg, "seosgw_transport_certificate_reloads_total", "trigger", "file", "result", "unchanged"); v != 0 {
		t.Errorf("files read again without a change: %v", v)
	}
}
