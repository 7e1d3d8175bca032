package node

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/seosgw/seosgw/gateway/console"
	"github.com/seosgw/seosgw/gateway/trust"
)

// openConsole builds the operator console from the node's parts: it reads
// what /readyz and the network prober compute and acts on the outbox
// through the AIS service, as the AIS API does.
func (n *Node) openConsole(tm *trust.Metrics) error {
	cfg := n.Config
	k := cfg.Console
	users := cfg.Path(k.UsersFile)
	if _, err := os.Stat(users); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("console.users_file: %s does not exist; add a user first: seosgw console user add NAME --role operator --config THIS-FILE", k.UsersFile)
	}
	opt := console.Options{
		DB: n.DB, Files: n.Files, Service: n.AIS, Cache: n.Cache, Self: cfg.Participant.GUID,
		Ready:         n.Ops.Ready,
		Network:       n.Network.Last,
		RegisterState: n.Syncer.State,
		StaleAfter:    cfg.Register.StaleAfter.D(),
		Certificate:   func() *x509.Certificate { return n.Identity.Current().Cert },
		PeerExpiries:  tm.PeerExpiries,
		UsersFile:     users, PageSize: k.PageSize, SessionIdle: k.SessionIdle.D(), SessionMax: k.SessionMax.D(),
		TLS: k.TLS.Cert != "", ClientCerts: k.TLS.ClientCA != "",
		Clock: n.Clock, Log: component(n.Log, "console"), Registry: n.Registry,
	}
	if k.ReportsDir != "" {
		opt.ReportsDir = cfg.Path(k.ReportsDir)
	}
	if n.Trust.CRLs != nil {
		opt.CRLNextUpdate = n.Trust.CRLs.NextUpdate
	}
	if k.TLS.ClientCRL != "" {
		cas, err := readCAs(n.Config.Path(k.TLS.ClientCA))
		if err != nil {
			return fmt.Errorf("console.tls.client_ca: %w", err)
		}
		// Fail closed: while the list is unusable no certificate logs in
		// (passwords still do). Its own metrics would collide with tls.crl's.
		crls := trust.NewCRLSet([]string{n.Config.Path(k.TLS.ClientCRL)}, cas, false, n.Clock, component(n.Log, "console"), nil)
		if err := crls.Load(); err != nil {
			n.Log.Warn("console.tls.client_crl: certificate login is refused until the list is usable", "error", err)
		}
		opt.ClientRevocation = crls.Check
	}
	var err error
	if n.Console, err = console.New(opt); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// consoleServer serves the console on ln: over TLS when console.tls is
// set, asking for (not requiring) a client certificate from client_ca.
func (n *Node) consoleServer(ln net.Listener) (*http.Server, net.Listener, error) {
	k := n.Config.Console
	srv := &http.Server{Handler: n.Console.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	if k.TLS.Cert == "" {
		return srv, ln, nil
	}
	pair, err := tls.LoadX509KeyPair(n.Config.Path(k.TLS.Cert), n.Config.Path(k.TLS.Key))
	if err != nil {
		return nil, nil, fmt.Errorf("console.tls: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if k.TLS.ClientCA != "" {
		cas, err := readCAs(n.Config.Path(k.TLS.ClientCA))
		if err != nil {
			return nil, nil, fmt.Errorf("console.tls.client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		for _, ca := range cas {
			pool.AddCert(ca)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	srv.TLSConfig = tc
	return srv, tls.NewListener(ln, tc), nil
}

// readCAs reads a PEM bundle of CA certificates.
func readCAs(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cas []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		ca, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		cas = append(cas, ca)
	}
	if len(cas) == 0 {
		return nil, fmt.Errorf("no PEM certificate in %s", path)
	}
	return cas, nil
}
