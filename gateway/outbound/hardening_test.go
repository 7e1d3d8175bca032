package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
)

// enqueueTo queues a registration of a new document to recipient, with an
// attachment of size bytes.
func (n *testNet) enqueueTo(recipient string, size int) int64 {
	n.t.Helper()
	doc := seos.NewGUID()
	d := &seos.Document{ID: seos.DocumentID{GUID: doc}, Kind: "Писмо",
		Attachments: []seos.Attachment{{FileName: "a.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF" + strings.Repeat(" ", size)))}}}
	id, _, err := outbox.Enqueue(context.Background(), n.dbA, outbox.Entry{Kind: outbox.KindRegistration, Recipient: recipient, Document: doc,
		Request: &outbox.Request{Document: d, Comment: "тест"}}, time.Now())
	if err != nil {
		n.t.Fatal(err)
	}
	return id
}

// A recipient's ERR_INTERNAL (its own failure: a full disk) is retried on
// the schedule and the document gets through; ERR_EXTERNAL stays final
// (TestErrorReplyIsFinal).
func TestErrInternalIsRetried(t *testing.T) {
	n := newNet(t)
	var mu sync.Mutex
	calls := 0
	stop := n.serveBroken(n.b, func(req *seos.Message) []byte {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			return n.answer(req, n.b, n.bEnt, seos.Body{Error: &seos.ErrorBody{MessageGUID: seos.Str(req.Header.MessageGUID), Type: seos.ErrInternal,
				Description: "Неуспешен – Грешка при получателя. Дискът е пълен."}})
		}
		return n.answer(req, n.b, n.bEnt, wait(req))
	})
	defer stop()
	id := n.enqueue(seos.NewGUID())
	it := n.runUntil(id, 20*time.Second, delivered)
	if it.Attempts != 2 || it.DocStatus != outbox.StateWaiting {
		t.Errorf("after ERR_INTERNAL then an acknowledgement: %+v", it)
	}
	ev, _ := outbox.Events(context.Background(), n.dbA, id)
	if len(ev) < 2 || ev[1].Event != "retry" || !strings.Contains(ev[1].Detail, "ERR_INTERNAL (its own failure; retried): Неуспешен – Грешка при получателя. Дискът е пълен.") {
		t.Errorf("history %+v", ev)
	}
	if v := testutil.ToFloat64(n.d.Metrics.failures.WithLabelValues("peer_error_internal")); v != 1 {
		t.Errorf("failures{peer_error_internal} = %v", v)
	}
}

// opensslServer runs `openssl s_server` as the recipient's endpoint on B's
// address, demanding a client certificate it checks with args.
func (n *testNet) opensslServer(args ...string) {
	n.t.Helper()
	bin := extools.Require(n.t, "openssl")
	dir := n.t.TempDir()
	cert, key := testkit.Files(n.t, dir, n.b, "b")
	addr := n.bLn.Addr().String()
	n.bLn.Close()
	n.bLn = nil
	cmd := exec.Command(bin, append([]string{"s_server", "-accept", addr, "-cert", cert, "-key", key, "-Verify", "1", "-verify_return_error", "-naccept", "10"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	// s_server takes commands on stdin and stops at its end: keep it open.
	if _, err := cmd.StdinPipe(); err != nil {
		n.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ACCEPT") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		n.t.Fatal("openssl s_server did not start")
	}
}

// A recipient that refuses our certificate in the TLS handshake says why
// in an alert; each alert an operator can act on is a failure reason of its
// own with the text that says what to do — also under TLS 1.3, where the
// alert comes after our side of the handshake and a large body used to end
// as "broken pipe".
func TestRecipientsTLSAlertsAreNamed(t *testing.T) {
	p := testkit.SharedPKI(t)
	other := testkit.NewPKI(t, "not DAEU's CA", nil)
	cases := []struct {
		name   string
		serve  func(n *testNet)
		reason string
		says   string
	}{
		{"our certificate refused (Go, TLS 1.3, a 2 MiB body)", func(n *testNet) {
			srv := &http.Server{Handler: http.NotFoundHandler(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{n.b.TLSCertificate()},
				ClientAuth: tls.RequireAnyClientCert, VerifyConnection: func(tls.ConnectionState) error { return errors.New("not registered here") }},
				ErrorLog: log.New(io.Discard, "", 0)}
			go srv.Serve(tls.NewListener(n.listener(), srv.TLSConfig))
			t.Cleanup(func() { srv.Close() })
		}, "tls_peer_bad_certificate", "the recipient refused our transport certificate (alert \"bad certificate\")"},
		{"our certificate revoked (openssl, its CRL)", func(n *testNet) {
			crl, err := p.CA.CRL([]*x509.Certificate{n.a.Cert}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			crlFile := filepath.Join(t.TempDir(), "daeu.crl")
			os.WriteFile(crlFile, crl, 0o644)
			n.opensslServer("-CAfile", p.CAFile(t, ""), "-CRL", crlFile, "-crl_check")
		}, "tls_peer_certificate_revoked", "our transport certificate is revoked (alert \"revoked certificate\")"},
		{"no common cipher suite (a TLS 1.2 server with CBC suites only)", func(n *testNet) {
			srv := &http.Server{Handler: http.NotFoundHandler(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{n.b.TLSCertificate()},
				MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA}},
				ErrorLog: log.New(io.Discard, "", 0)}
			go srv.Serve(tls.NewListener(n.listener(), srv.TLSConfig))
			t.Cleanup(func() { srv.Close() })
		}, "tls_peer_no_common_suite", "we share no TLS version or cipher suite (alert \"handshake failure\")"},
		{"our CA unknown (openssl)", func(n *testNet) {
			n.opensslServer("-CAfile", other.CAFile(t, ""))
		}, "tls_peer_unknown_ca", "does not know the CA of our transport certificate (alert \"unknown certificate authority\")"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newNet(t)
			n.d.Schedule = Schedule{First: time.Hour, Retries: 3}
			c.serve(n)
			it := n.runUntil(n.enqueueTo(n.bEnt.GUID, 2<<20), 30*time.Second, func(it *outbox.Item) bool { return it.Attempts == 1 && it.State == outbox.Queued })
			if !strings.Contains(it.LastError, c.says) {
				t.Errorf("last error %q, want %q", it.LastError, c.says)
			}
			if v := testutil.ToFloat64(n.d.Metrics.failures.WithLabelValues(c.reason)); v != 1 {
				t.Errorf("failures{%s} = %v; network = %v", c.reason, v, testutil.ToFloat64(n.d.Metrics.failures.WithLabelValues("network")))
			}
		})
	}
}

// A recipient that takes the connection and never answers, and one that
// answers a byte a second, hold one worker each (per_peer 1): the third
// worker delivers to a healthy recipient while both are still in flight.
func TestHangingRecipientsCannotTakeEveryWorker(t *testing.T) {
	n := newNet(t)
	p := testkit.SharedPKI(t)
	hEnt := seos.Entity{Identifier: "000000003", AdministrativeBodyName: "Виси", GUID: "{cccccccc-0000-4000-8000-000000000003}"}
	dEnt := seos.Entity{Identifier: "000000004", AdministrativeBodyName: "Капе", GUID: "{dddddddd-0000-4000-8000-000000000004}"}

	// H accepts TCP and never says a word.
	hLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hLn.Close()
	type peerConn struct{ closed chan struct{} }
	hConns, dConns := make(chan peerConn, 8), make(chan peerConn, 8)
	go func() {
		for {
			c, err := hLn.Accept()
			if err != nil {
				return
			}
			pc := peerConn{closed: make(chan struct{})}
			hConns <- pc
			go func() { c.Read(make([]byte, 64<<10)); c.Read(make([]byte, 64<<10)); close(pc.closed); c.Close() }()
		}
	}()
	// D shakes hands, takes the request and drips its answer a byte a second.
	dID := p.Host(t, "d.obmen.local")
	dLn, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{dID.TLSCertificate()}, ClientAuth: tls.RequireAnyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer dLn.Close()
	go func() {
		for {
			c, err := dLn.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := bufio.NewReader(c).ReadString('\n'); err != nil { // the request has begun
					return
				}
				pc := peerConn{closed: make(chan struct{})}
				dConns <- pc
				defer close(pc.closed)
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n" + strings.Repeat("X-Drip: y\r\n", 1000)) {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					<-tick.C
				}
			}()
		}
	}()
	_, stop := n.serveRealB() // G: a healthy recipient
	defer stop()
	n.entities = append(n.entities, entity(hEnt, p.Host(t, "h.obmen.local"), "https://"+hLn.Addr().String()+"/seos"),
		entity(dEnt, dID, "https://"+dLn.Addr().String()+"/seos"))
	if err := register.NewCache(n.dbA, clock.System).Apply(context.Background(), true, n.entities, "c2"); err != nil {
		t.Fatal(err)
	}
	n.d.Workers, n.d.PerPeer, n.d.Timeout = 3, 1, 10*time.Minute

	// Queued first, so a deliverer without the limit gives them every worker.
	for range 2 {
		n.enqueueTo(hEnt.GUID, 10)
		n.enqueueTo(dEnt.GUID, 10)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	h, d := <-hConns, <-dConns
	g := n.enqueueTo(n.bEnt.GUID, 10)
	n.d.Notify()
	testkit.Eventually(t, 30*time.Second, "the healthy recipient's document delivered", func() bool {
		it, err := outbox.Get(context.Background(), n.dbA, g)
		return err == nil && it.State == outbox.Delivered
	})
	for name, pc := range map[string]peerConn{"the silent recipient": h, "the dripping one": d} {
		select {
		case <-pc.closed:
			t.Errorf("%s's attempt ended before the healthy delivery: it was not the limit that let it through", name)
		default:
		}
	}
	if len(hConns) != 0 || len(dConns) != 0 {
		t.Errorf("a second attempt to a hanging recipient began (%d, %d): per_peer is 1", len(hConns), len(dConns))
	}
}
