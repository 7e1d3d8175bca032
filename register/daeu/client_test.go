package daeu

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/register"
)

// testPKI is a DAEU-like CA with a register and a participant, and a
// second CA that nobody trusts. ECDSA keys keep it fast.
type testPKI struct {
	ca, other       *pki.Authority
	server, client  *pki.Identity
	strangerServer  *pki.Identity // the register's name, from the other CA
	strangerClient  *pki.Identity
	wrongNameServer *pki.Identity // from the right CA, for another host and no IPs
	futureServer    *pki.Identity // valid only from tomorrow: what a host whose clock runs behind sees
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key := testkit.ECKey(t)
	daeu, other := testkit.NewPKI(t, "Test DAEU CA", key), testkit.NewPKI(t, "Other CA", key)
	return &testPKI{
		ca: daeu.CA, other: other.CA,
		server:          daeu.Issue(t, "register.obmen.local", pki.WithLoopback()),
		client:          daeu.Issue(t, "node.obmen.local"),
		strangerServer:  other.Issue(t, "register.obmen.local", pki.WithLoopback()),
		strangerClient:  other.Issue(t, "node.obmen.local"),
		wrongNameServer: daeu.Issue(t, "elsewhere.obmen.local"),
		futureServer: daeu.Issue(t, "register.obmen.local", pki.WithLoopback(),
			pki.WithValidity(time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour))),
	}
}

// stub serves h over TLS with server identity id, demanding client
// certificates from the test CA, as the register does.
func stub(t *testing.T, p *testPKI, id *pki.Identity, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.TLSCertificate()},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ca.Pool()}
	srv.StartTLS()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv.URL + "/service/"
}

func newClient(t *testing.T, p *testPKI, url string, id *pki.Identity, timeout time.Duration, max int64) *Client {
	t.Helper()
	c, err := NewClient(Options{URL: url, Identity: id, RootCAs: p.ca.Pool(), Timeout: timeout, MaxResponseBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestClientCallsAllOperations(t *testing.T) {
	p := newPKI(t)
	type seen struct{ op, param, action, contentType string }
	var mu sync.Mutex
	var got []seen
	url := stub(t, p, p.server, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req, err := DecodeRequest(b, r.Header.Get("Content-Type"))
		if err != nil {
			t.Errorf("request: %v", err)
			return
		}
		mu.Lock()
		got = append(got, seen{string(req.Op), req.Param, r.Header.Get("SOAPAction"), r.Header.Get("Content-Type")})
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
		w.Write(EncodeResponse(req.Op, &register.Listing{Entities: sampleEntities(), Cursor: "2024-03-05T10:20:30+02:00"}, nil))
	})
	c := newClient(t, p, url, p.client, 5*time.Second, 0)
	ctx := context.Background()
	calls := []struct {
		op    Op
		param string
		call  func() (*register.Listing, error)
	}{
		{GetAllRecords, "", func() (*register.Listing, error) { return c.GetAllRecords(ctx) }},
		{GetNewRecords, "2024-03-05T10:20:30+02:00", func() (*register.Listing, error) { return c.GetNewRecords(ctx, "2024-03-05T10:20:30+02:00") }},
		{GetByEntityIdentifier, "000695089", func() (*register.Listing, error) { return c.GetByEntityIdentifier(ctx, "000695089") }},
		{GetByGuid, "{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}", func() (*register.Listing, error) { return c.GetByGuid(ctx, "{8f5e1c2a-0c1d-4e7b-9a55-2f4f7c1d0e11}") }},
		{GetByCertificateSN, "4A1F00C3D2", func() (*register.Listing, error) { return c.GetByCertificateSN(ctx, "4A1F00C3D2") }},
		// The register's own text goes as it is: no leading zeros dropped, no case changed.
		{GetByCertificateSN, "004a1f00c3d2", func() (*register.Listing, error) { return c.GetByCertificateSN(ctx, "004a1f00c3d2") }},
	}
	for i, cl := range calls {
		l, err := cl.call()
		if err != nil {
			t.Fatalf("%s: %v", cl.op, err)
		}
		sameEntities(t, l.Entities, sampleEntities())
		s := got[i]
		if s.op != string(cl.op) || s.param != cl.param || s.action != `"uri:egovmsg/`+string(cl.op)+`"` || s.contentType != "text/xml; charset=UTF-8" {
			t.Errorf("%s: register saw %+v", cl.op, s)
		}
	}
}

func TestClientErrors(t *testing.T) {
	p := newPKI(t)
	body := EncodeResponse(GetAllRecords, &register.Listing{Entities: sampleEntities()}, nil)
	big := strings.Repeat("x", 8192)
	cases := []struct {
		name    string
		h       http.HandlerFunc
		kind    string
		errType any
		says    string
	}{
		{"fault", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			w.Write(EncodeFault(FaultServer, "database down", ""))
		}, register.KindFault, &FaultError{}, "database down"},
		{"HTTP error page", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>Service Unavailable</html>", 503)
		}, register.KindHTTPStatus, &TransportError{}, "HTTP 503"},
		{"malformed", func(w http.ResponseWriter, r *http.Request) {
			w.Write(body[:len(body)/2])
		}, register.KindMalformed, &MalformedError{}, "not a SOAP envelope"},
		{"oversized, Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(big))
		}, register.KindTooLarge, &MalformedError{}, "larger than the configured limit"},
		{"oversized, chunked", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 4; i++ {
				w.Write([]byte(big[:2048]))
				w.(http.Flusher).Flush()
			}
		}, register.KindTooLarge, &MalformedError{}, "more than 4096 bytes"},
		{"stalled", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // so that the server notices the client leave
			<-r.Context().Done()        // never answers
		}, register.KindTimeout, &TransportError{}, "no answer in time"},
		{"stalled mid-body", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Length", "2000")
			w.Write(body[:100])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, register.KindTimeout, &TransportError{}, "no answer in time"},
		{"connection dropped", func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, register.KindTransport, &TransportError{}, "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := newClient(t, p, stub(t, p, p.server, c.h), p.client, 300*time.Millisecond, 4096)
			l, err := cl.GetAllRecords(context.Background())
			if err == nil {
				t.Fatalf("no error, listing %+v", l)
			}
			if !errors.As(err, &c.errType) {
				t.Errorf("error %T %v, want %T", err, err, c.errType)
			}
			if k := register.ErrorKind(err); k != c.kind {
				t.Errorf("kind %q, want %q (%v)", k, c.kind, err)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
		})
	}
}

func TestClientTLS(t *testing.T) {
	p := newPKI(t)
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Write(EncodeResponse(GetAllRecords, &register.Listing{}, nil))
	}
	cases := []struct {
		name   string
		server *pki.Identity
		client *pki.Identity
		says   string
	}{
		{"trusted both ways", p.server, p.client, ""},
		{"register certificate from another CA", p.strangerServer, p.client, "certificate signed by unknown authority"},
		{"register certificate for another host", p.wrongNameServer, p.client, "127.0.0.1"},
		{"register certificate not yet valid", p.futureServer, p.client, "clock skew"},
		{"client certificate the register does not trust", p.server, p.strangerClient, "tls:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := newClient(t, p, stub(t, p, c.server, ok), c.client, 5*time.Second, 0)
			_, err := cl.GetAllRecords(context.Background())
			wantTransportError(t, err, c.says)
		})
	}
}

func TestNewClientRefusesUnsafeConfig(t *testing.T) {
	p := newPKI(t)
	for name, cfg := range map[string]Options{
		"plain http":     {URL: "http://register/service/", Identity: p.client, RootCAs: p.ca.Pool()},
		"no identity":    {URL: "https://register/service/", RootCAs: p.ca.Pool()},
		"no CA to trust": {URL: "https://register/service/", Identity: p.client},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestClientTrustStore: with the node's trust store the register's
// certificate is judged as every peer's is: a certificate on the CRL is
// refused, and validity follows the store's clock, not the host's.
func TestClientTrustStore(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	caPath := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPath, p.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	store := func(t *testing.T, clk clock.Clock, revoked ...*pki.Identity) *trust.Store {
		t.Helper()
		var certs []*x509.Certificate
		for _, r := range revoked {
			certs = append(certs, r.Cert)
		}
		crl, err := p.ca.CRL(certs, now.Add(-time.Hour), now.Add(72*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		crlPath := filepath.Join(t.TempDir(), "daeu.crl")
		if err := os.WriteFile(crlPath, crl, 0o644); err != nil {
			t.Fatal(err)
		}
		ts, err := trust.New(caPath, []string{crlPath}, false, clk, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Write(EncodeResponse(GetAllRecords, &register.Listing{}, nil))
	}
	tomorrow := clock.NewManual(now.Add(25 * time.Hour)) // inside futureServer's validity
	cases := []struct {
		name   string
		server *pki.Identity
		ts     *trust.Store
		says   string
	}{
		{"not revoked", p.server, store(t, clock.System, p.client), ""},
		{"register certificate revoked", p.server, store(t, clock.System, p.server), "revoked"},
		{"not yet valid at the store's clock", p.futureServer, store(t, clock.System), "clock skew"},
		{"valid at the store's clock", p.futureServer, store(t, tomorrow), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, err := NewClient(Options{URL: stub(t, p, c.server, ok), Identity: p.client, Trust: c.ts, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.CloseIdleConnections)
			_, err = cl.GetAllRecords(context.Background())
			wantTransportError(t, err, c.says)
		})
	}
	// The node's client takes the loaded identity and trust store.
	cl, err := NewClient(Options{URL: stub(t, p, p.server, ok), Identity: p.client, Trust: store(t, clock.System, p.server), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.CloseIdleConnections)
	if _, err := cl.GetAllRecords(context.Background()); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("the trust store's CRL is not applied: %v", err)
	}
}

func TestSnippet(t *testing.T) {
	cyr := strings.Repeat("Ж", 300) // two bytes each
	cases := []struct {
		in   []byte
		n    int
		want string
	}{
		{[]byte("  a\r\n\tb\x00c  "), 20, "a b c"},
		{[]byte("abcdef"), 3, "abc…"},
		{[]byte("ЖЖЖ"), 3, "Ж…"}, // 3 bytes would split the second Ж
		{[]byte("ok \xff\xfe end"), 40, "ok ? end"},
		{[]byte(cyr), 201, strings.Repeat("Ж", 100) + "…"},
		{append([]byte(strings.Repeat(" ", 5000)), 'x'), 10, "…"},
	}
	for _, c := range cases {
		got := Snippet(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Snippet(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// wantTransportError: no error when says is empty, else a transport error
// saying it.
func wantTransportError(t *testing.T, err error, says string) {
	t.Helper()
	if says == "" {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	var te *TransportError
	if !errors.As(err, &te) || te.Kind() != register.KindTransport || !strings.Contains(err.Error(), says) {
		t.Errorf("got %v; want a transport error saying %q", err, says)
	}
}

// TestClientRefusesWeakTLS: the register client, with or without the
// node's trust store, takes TLS 1.2 only with ECDHE and an AEAD cipher; with
// the trust store it also refuses a register certificate with a short RSA
// key.
func TestClientRefusesWeakTLS(t *testing.T) {
	p := newPKI(t)
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Write(EncodeResponse(GetAllRecords, &register.Listing{}, nil))
	}
	cbcOnly := func(id *pki.Identity) string {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(ok))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.TLSCertificate()}, ClientAuth: tls.RequireAndVerifyClientCert,
			ClientCAs: p.ca.Pool(), MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
		srv.StartTLS()
		t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
		return srv.URL + "/service/"
	}
	dir := t.TempDir()
	caPath := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPath, p.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := trust.New(caPath, nil, false, clock.System, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]Options{"roots": {RootCAs: p.ca.Pool()}, "trust store": {Trust: ts}} {
		opt.URL, opt.Identity, opt.Timeout = cbcOnly(p.server), p.client, 5*time.Second
		cl, err := NewClient(opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.CloseIdleConnections)
		_, err = cl.GetAllRecords(context.Background())
		wantTransportError(t, err, "handshake failure")
		if t.Failed() {
			t.Fatalf("%s: a register offering only ECDHE-ECDSA-AES128-SHA was accepted", name)
		}
	}
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak, err := p.ca.IssueTransport("register.obmen.local", pki.WithKey(k), pki.WithLoopback())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewClient(Options{URL: stub(t, p, weak, ok), Identity: p.client, Trust: ts, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.CloseIdleConnections)
	_, err = cl.GetAllRecords(context.Background())
	wantTransportError(t, err, "weak_key")
}
