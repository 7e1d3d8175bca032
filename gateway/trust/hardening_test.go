package trust

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/integration/extools"
)

// weakIdentity is a certificate of the DAEU CA with a 1024-bit RSA key.
func (f *fixture) weakIdentity(t *testing.T, host string) *pki.Identity {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.ca.IssueTransport(host, pki.WithKey(k), pki.WithLoopback())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A peer whose certificate has an RSA key under tls.min_rsa_bits is
// refused both ways: as our client and as the server we connect to (a
// peer or the register); the floor is configurable.
func TestWeakPeerKeysAreRefused(t *testing.T) {
	f := newFixture(t)
	weak := f.weakIdentity(t, "b.obmen.local")
	s, err := New(f.caPath, nil, false, clock.System, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ce *CertError
	err = handshake(t, s.ServerTLS(f.server), weak, s)
	if !errors.As(err, &ce) || ce.Reason != "weak_key" || !strings.Contains(err.Error(), "RSA key of 1024 bits is under the 2048-bit floor") {
		t.Errorf("a client with a 1024-bit key: %v", err)
	}
	if err := handshake(t, s.ServerTLS(f.server), f.good, s); err != nil {
		t.Errorf("a client with a 2048-bit key: %v", err)
	}
	if err := dialServer(t, weak, s.ClientTLS(f.good, "b.obmen.local")); !errors.As(err, &ce) || ce.Reason != "weak_key" {
		t.Errorf("a server with a 1024-bit key: %v", err)
	}
	s.MinRSABits = 1024
	if err := handshake(t, s.ServerTLS(f.server), weak, s); err != nil {
		t.Errorf("tls.min_rsa_bits 1024, a 1024-bit client: %v", err)
	}
	if err := s.Verify(weak.Cert, 0); err != nil && strings.Contains(err.Error(), "weak") {
		t.Errorf("Verify with the floor lowered: %v", err)
	}
	s.MinRSABits = 0
	if err := s.Verify(weak.Cert, 0); !errors.As(err, &ce) || ce.Reason != "weak_key" {
		t.Errorf("Verify of a 1024-bit certificate: %v", err)
	}
}

// handshakeServer accepts connections on loopback until the test ends and
// shakes hands on each with cfg; it returns the address.
func handshakeServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// dialServer runs a server presenting id, as opts change it, and dials it
// with client.
func dialServer(t *testing.T, id *pki.Identity, client *tls.Config, opts ...func(*tls.Config)) error {
	t.Helper()
	srv := &tls.Config{Certificates: []tls.Certificate{id.TLSCertificate()}}
	for _, o := range opts {
		o(srv)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", handshakeServer(t, srv), client)
	if err == nil {
		c.Close()
	}
	return err
}

// TLS 1.2 offers and takes only ECDHE with an AEAD cipher, as server and as
// client; TLS 1.3 stays on.
func TestTLS12SuitesAreAEADWithECDHE(t *testing.T) {
	f := newFixture(t)
	s, err := New(f.caPath, nil, false, clock.System, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cert := f.good.TLSCertificate()
	for _, c := range []struct {
		name  string
		suite uint16
		ok    bool
	}{
		{"ECDHE-RSA-AES128-SHA (CBC, SHA-1)", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{"ECDHE-RSA-AES256-SHA (CBC, SHA-1)", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, false},
		{"ECDHE-RSA-AES128-SHA256 (CBC)", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, false},
		{"AES128-GCM-SHA256 (RSA key exchange)", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true},
		{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true},
		{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Our endpoint, to a TLS 1.2 client offering only this suite.
			conn, err := tls.Dial("tcp", handshakeServer(t, s.ServerTLS(f.server)), &tls.Config{RootCAs: s.Roots, ServerName: "b.obmen.local",
				MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{c.suite}, Certificates: []tls.Certificate{cert}})
			if err == nil {
				conn.Close()
			}
			if (err == nil) != c.ok {
				t.Errorf("server: handshake error %v, want ok=%v", err, c.ok)
			}
			// Our client, to a TLS 1.2 server offering only this suite.
			err = dialServer(t, f.server, s.ClientTLS(f.good, "b.obmen.local"), func(cfg *tls.Config) {
				cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, []uint16{c.suite}
			})
			if (err == nil) != c.ok {
				t.Errorf("client: handshake error %v, want ok=%v", err, c.ok)
			}
		})
	}
	if err := handshake(t, s.ServerTLS(f.server), f.good, s); err != nil {
		t.Errorf("TLS 1.3: %v", err)
	}
}

// The same, asked by openssl as an outside client would: the endpoint's
// TLS refuses ECDHE-RSA-AES128-SHA and negotiates an AEAD suite.
func TestTLS12SuitesSeenByOpenSSL(t *testing.T) {
	openssl := extools.Require(t, "openssl")
	f := newFixture(t)
	s, err := New(f.caPath, nil, false, clock.System, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := f.good.WriteFiles(f.dir, "client")
	if err != nil {
		t.Fatal(err)
	}
	addr := handshakeServer(t, s.ServerTLS(f.server))
	try := func(cipher string) string {
		cmd := exec.Command(openssl, "s_client", "-connect", addr, "-tls1_2", "-cipher", cipher,
			"-cert", certFile, "-key", keyFile, "-CAfile", f.caPath, "-servername", "b.obmen.local")
		out, _ := cmd.CombinedOutput() // stdin is empty: s_client ends after the handshake
		return string(out)
	}
	if out := try("ECDHE-RSA-AES128-SHA"); strings.Contains(out, "Cipher is ECDHE-RSA-AES128-SHA") || !strings.Contains(strings.ToLower(out), "handshake failure") {
		t.Errorf("ECDHE-RSA-AES128-SHA was negotiated or refused otherwise:\n%s", out)
	}
	if out := try("ECDHE-RSA-AES128-GCM-SHA256"); !strings.Contains(out, "ECDHE-RSA-AES128-GCM-SHA256") {
		t.Errorf("ECDHE-RSA-AES128-GCM-SHA256 not negotiated:\n%s", out)
	}
}
