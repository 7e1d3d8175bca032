package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/spool"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

// This file maps the configuration to each part's options: config is plain
// data, and the parts do not know it.

// Self is this participant as its messages' headers name it.
func Self(cfg *config.Config) seos.Entity {
	return seos.Entity{Identifier: cfg.Participant.EIK, AdministrativeBodyName: cfg.Participant.Name, GUID: cfg.Participant.GUID}
}

// Digests is the one per-peer signature hash lookup, for replies and
// deliveries alike: outbound.peers.<guid>.digest, else tls.digest.
func Digests(cfg *config.Config) (func(peerGUID string) xmldsig.Hash, error) {
	def, ok := xmldsig.ParseHash(cfg.TLS.Digest)
	if !ok {
		return nil, fmt.Errorf("tls.digest: %q is no signature hash; use sha256 or sha1", cfg.TLS.Digest)
	}
	peers := map[string]xmldsig.Hash{}
	for guid, p := range cfg.Outbound.Peers {
		if p.Digest == "" {
			continue
		}
		h, ok := xmldsig.ParseHash(p.Digest)
		if !ok {
			return nil, fmt.Errorf("outbound.peers.%s.digest: %q is no signature hash; use sha256 or sha1", guid, p.Digest)
		}
		peers[seos.CanonicalGUID(guid)] = h
	}
	return func(peerGUID string) xmldsig.Hash {
		if h, ok := peers[seos.CanonicalGUID(peerGUID)]; ok {
			return h
		}
		return def
	}, nil
}

// LoadTransport loads the transport identity and the trust store (CA and
// CRLs) the way serve does; preflight and the CLI use it too, so all check
// the same.
func LoadTransport(cfg *config.Config, clk clock.Clock, log *slog.Logger, m *trust.Metrics) (*pki.Identity, *trust.Store, error) {
	id, err := pki.LoadIdentity(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key))
	if err != nil {
		return nil, nil, fmt.Errorf("tls.cert / tls.key: %w", err)
	}
	if err := pki.CheckKey(id.Cert.PublicKey, cfg.TLS.MinRSABits); err != nil {
		return nil, nil, fmt.Errorf("tls.cert / tls.key: our transport certificate's %w: peers refuse it; ask DAEU for a transport certificate with a 2048-bit (or larger) key", err)
	}
	crls := make([]string, len(cfg.TLS.CRLs))
	for i, c := range cfg.TLS.CRLs {
		crls[i] = cfg.Path(c)
	}
	ts, err := trust.New(cfg.Path(cfg.TLS.CA), crls, cfg.TLS.CRLPolicy == "fail-open", clk, log, m)
	if err != nil {
		return id, nil, fmt.Errorf("tls.ca / tls.crl: %w", err)
	}
	ts.MinRSABits = cfg.TLS.MinRSABits
	return id, ts, nil
}

// SyncOptions are the register sync's periods (register.refresh,
// full_sync, stale_after).
func SyncOptions(cfg *config.Config) register.SyncOptions {
	r := cfg.Register
	return register.SyncOptions{Refresh: r.Refresh.D(), FullSync: r.FullSync.D(), StaleAfter: r.StaleAfter.D()}
}

// RegisterClient is the DAEU register client (register.url, timeout,
// max_response_bytes), presenting id, the node's transport certificate,
// and verifying the register with ts, the node's trust store (tls.ca,
// tls.crl), loaded once for everything the node connects to.
func RegisterClient(cfg *config.Config, id pki.Source, ts *trust.Store, log *slog.Logger) (*daeu.Client, error) {
	if ts == nil {
		return nil, errors.New("register client: no trust store (tls.ca) to verify the register's certificate with")
	}
	return daeu.NewClient(daeu.Options{URL: cfg.Register.URL, Identity: id, Trust: ts,
		Timeout: cfg.Register.Timeout.D(), MaxResponseBytes: int64(cfg.Register.MaxResponseBytes), Log: log})
}

// NetworkOptions are the SEOS network checks' settings (network.*).
func NetworkOptions(cfg *config.Config) (netcheck.Options, error) {
	n := cfg.Network
	o := netcheck.Options{Mode: netcheck.Mode(n.Mode), Interface: n.Interface, Timeout: n.Timeout.D(), CertMinDays: n.CertMinDays,
		RefuseOnFailure: n.OnFailure == config.OnFailureRefuse, Probe: n.Probe.D()}
	if n.NextHop != "" {
		a, err := netip.ParseAddr(n.NextHop)
		if err != nil {
			return o, fmt.Errorf("network.next_hop: %w", err)
		}
		o.NextHop = a
	}
	for i, s := range n.Prefixes {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return o, fmt.Errorf("network.prefixes[%d]: %w", i, err)
		}
		o.Prefixes = append(o.Prefixes, p)
	}
	return o, nil
}

// SpoolOptions are the spool folder's settings (ais.spool.*), paths
// resolved against the configuration file's folder.
func SpoolOptions(cfg *config.Config) spool.Options {
	s := cfg.AIS.Spool
	return spool.Options{Dir: cfg.Path(s.Dir), Mapping: cfg.Path(s.Mapping), ScanEvery: s.ScanEvery.D()}
}

// AcceptancePolicy loads the rules file acceptance.rules names, with the
// node's clock, logger and metrics; serve and `acceptance check --config`
// load it alike. An invalid file stops the start, naming its fields.
func AcceptancePolicy(cfg *config.Config, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) (*acceptance.Policy, error) {
	if cfg.Acceptance.Rules == "" {
		return nil, errors.New("acceptance.rules: empty; the configuration names no rules file")
	}
	opts := []acceptance.Option{acceptance.WithClock(clk), acceptance.WithLogger(log)}
	if reg != nil {
		opts = append(opts, acceptance.WithRegistry(reg))
	}
	p, err := acceptance.Load(cfg.Path(cfg.Acceptance.Rules), opts...)
	if err != nil {
		return nil, fmt.Errorf("acceptance.rules: %w", err)
	}
	return p, nil
}
