package node

import (
	"crypto/tls"
	"crypto/x509"
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
		pem, err := os.ReadFile(n.Config.Path(k.TLS.ClientCA))
		if err != nil {
			return nil, nil, fmt.Errorf("console.tls.client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("console.tls.client_ca: no PEM certificate in %s", k.TLS.ClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	srv.TLSConfig = tc
	return srv, tls.NewListener(ln, tc), nil
}
