package pki_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
)

// TestMutualTLS runs real handshakes on loopback the way two SEOS nodes meet: the
// server demands a client certificate chaining to the DAEU CA, the client checks
// the server's certificate against the same CA and its SEOS host name.
func TestMutualTLS(t *testing.T) {
	ca := newAuthority(t, "Test DAEU CA", pki.WithKey(key(0)))
	other := newAuthority(t, "Other CA", pki.WithKey(key(1)))
	a := issue(t, ca, hostA, pki.WithKey(key(2)))
	b := issue(t, ca, hostB, pki.WithKey(key(3)), pki.WithLoopback())
	// Same key and name as a, from another authority: an impostor.
	impostorA := issue(t, other, hostA, pki.WithKey(key(2)))
	impostorB := issue(t, other, hostB, pki.WithKey(key(3)))
	expiredA := issue(t, ca, hostA, pki.WithKey(key(2)), pki.WithValidity(time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)))

	cases := []struct {
		name           string
		client, server *pki.Identity
		serverName     string
		wantServerErr  string // "" means the handshake must succeed
		wantClientErr  string
	}{
		{name: "same authority", client: a, server: b, serverName: hostB},
		{name: "same authority, by loopback IP", client: a, server: b, serverName: "127.0.0.1"},
		{name: "client from another authority", client: impostorA, server: b, serverName: hostB, wantServerErr: "unknown authority"},
		{name: "server from another authority", client: a, server: impostorB, serverName: hostB, wantClientErr: "unknown authority"},
		{name: "expired client", client: expiredA, server: b, serverName: hostB, wantServerErr: "expired"},
		{name: "no client certificate", server: b, serverName: hostB, wantServerErr: "didn't provide a certificate"},
		{name: "wrong server name", client: a, server: b, serverName: "ministry-c.obmen.local", wantClientErr: "ministry-c.obmen.local"},
	}
	versions := map[string]uint16{"TLS1.2": tls.VersionTLS12, "TLS1.3": tls.VersionTLS13}
	for _, tc := range cases {
		for vname, version := range versions {
			t.Run(tc.name+"/"+vname, func(t *testing.T) {
				serverErr, clientErr, peer := handshake(t, tc.server, tc.client, ca.Pool(), tc.serverName, version)
				ok := tc.wantServerErr == "" && tc.wantClientErr == ""
				switch {
				case ok && (serverErr != nil || clientErr != nil):
					t.Fatalf("handshake failed: server: %v; client: %v", serverErr, clientErr)
				case ok && pki.SerialHex(peer) != pki.SerialHex(tc.client.Cert):
					t.Errorf("server saw client serial %s, want %s", pki.SerialHex(peer), pki.SerialHex(tc.client.Cert))
				case tc.wantServerErr != "" && (serverErr == nil || !strings.Contains(serverErr.Error(), tc.wantServerErr)):
					t.Errorf("server error %v, want one mentioning %q", serverErr, tc.wantServerErr)
				case tc.wantClientErr != "" && (clientErr == nil || !strings.Contains(clientErr.Error(), tc.wantClientErr)):
					t.Errorf("client error %v, want one mentioning %q", clientErr, tc.wantClientErr)
				case !ok && clientErr == nil:
					t.Error("client saw no error from a refused handshake")
				}
			})
		}
	}
}

// handshake connects a client to a server on 127.0.0.1 and returns what each side
// saw, and the client certificate the server verified.
func handshake(t *testing.T, server, client *pki.Identity, roots *x509.CertPool, serverName string, version uint16) (serverErr, clientErr error, peer *x509.Certificate) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	type result struct {
		err  error
		peer *x509.Certificate
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		srv := tls.Server(conn, &tls.Config{
			Certificates: []tls.Certificate{server.TLSCertificate()},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    roots,
			MinVersion:   version, MaxVersion: version,
		})
		if err := srv.HandshakeContext(ctx); err != nil {
			done <- result{err: err}
			return
		}
		_, err = srv.Write([]byte("ok"))
		done <- result{err: err, peer: srv.ConnectionState().PeerCertificates[0]}
	}()

	cfg := &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: version, MaxVersion: version}
	// Send the client certificate whatever CAs the server names: crypto/tls would
	// otherwise hold back a foreign one, and the server's own check would go untested.
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if client == nil {
			return &tls.Certificate{}, nil
		}
		c := client.TLSCertificate()
		return &c, nil
	}
	d := tls.Dialer{Config: cfg}
	conn, clientErr := d.DialContext(ctx, "tcp", ln.Addr().String())
	if clientErr == nil {
		// In TLS 1.3 the server judges the client certificate after the client's
		// handshake is done; its verdict arrives with the first read.
		_, clientErr = io.ReadFull(conn, make([]byte, 2))
		conn.Close()
	}
	r := <-done
	return r.err, clientErr, r.peer
}
