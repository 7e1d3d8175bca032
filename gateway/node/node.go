// Package node assembles a running participant node from its configuration:
// database, register sync, trust, the SEOS endpoint and the ops listener,
// with their background loops and an orderly shutdown.
package node

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/buildinfo"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/inbound"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/ops"
	"github.com/seosgw/seosgw/gateway/outbound"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/spool"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
	regsoap "github.com/seosgw/seosgw/register/soap"
)

// Node is a configured participant node.
type Node struct {
	Config   *config.Config
	Log      *slog.Logger
	Clock    clock.Clock
	Registry *prometheus.Registry
	DB       *sql.DB
	Identity *pki.Identity
	Trust    *trust.Store
	Cache    *register.Cache
	Syncer   *register.Syncer
	Pipeline *inbound.Pipeline
	Outbound *outbound.Deliverer
	AIS      *ais.Service
	Spool    *spool.Spool // nil without ais.spool.dir
	Network  *netcheck.Prober
	Ops      *ops.Ops

	endpoint *http.Server
	opsSrv   *http.Server
	aisSrv   *http.Server
	aisToken *ais.TokenFile
	aisAPI   *ais.APIMetrics
	// spoolWrites tracks prompt writes of received documents to the spool,
	// so shutdown waits for them before closing the database.
	spoolWrites sync.WaitGroup
}

// LoadTransport loads the transport identity and the trust store (CA and
// CRLs) the way serve does; preflight uses it too, so both check the same.
func LoadTransport(cfg *config.Config, clk clock.Clock, log *slog.Logger, m *trust.Metrics) (*pki.Identity, *trust.Store, error) {
	id, err := pki.LoadIdentity(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key))
	if err != nil {
		return nil, nil, fmt.Errorf("tls.cert / tls.key: %w", err)
	}
	crls := make([]string, len(cfg.TLS.CRLs))
	for i, c := range cfg.TLS.CRLs {
		crls[i] = cfg.Path(c)
	}
	ts, err := trust.New(cfg.Path(cfg.TLS.CA), crls, cfg.TLS.CRLPolicy == "fail-open", clk, log, m)
	if err != nil {
		return id, nil, fmt.Errorf("tls.ca / tls.crl: %w", err)
	}
	return id, ts, nil
}

// hashFor is the signature hash for messages to a participant (per-peer
// outbound.peers digest, else tls.digest), for replies and deliveries alike.
func (n *Node) hashFor(guid string) xmldsig.Hash {
	h, _ := xmldsig.ParseHash(n.Config.DigestFor(guid))
	return h
}

// New opens and checks everything the configuration names; it starts nothing.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, clk clock.Clock) (*Node, error) {
	n := &Node{Config: cfg, Log: log, Clock: clk, Registry: prometheus.NewRegistry()}
	n.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := buildinfo.Register(n.Registry, buildinfo.Get()); err != nil {
		return nil, err
	}
	trustMetrics := trust.NewMetrics(n.Registry)
	var err error
	if n.Identity, n.Trust, err = LoadTransport(cfg, clk, log, trustMetrics); err != nil {
		return nil, err
	}
	if n.DB, err = store.OpenGateway(ctx, cfg.Path(cfg.Database.Path)); err != nil {
		return nil, fmt.Errorf("database.path: %w", err)
	}
	n.Cache = register.NewCache(n.DB, clk)
	src, err := regsoap.NewClientFromConfig(cfg, n.Identity, n.Trust, log)
	if err != nil {
		n.DB.Close()
		return nil, err
	}
	regMetrics, err := register.NewMetrics(n.Registry, clk)
	if err != nil {
		n.DB.Close()
		return nil, err
	}
	opt := register.OptionsFromConfig(cfg.Register)
	opt.Clock, opt.Log, opt.Metrics = clk, log, regMetrics
	n.Syncer = register.NewSyncer(n.Cache, src, opt)

	hash, _ := xmldsig.ParseHash(cfg.TLS.Digest)
	n.Pipeline = &inbound.Pipeline{
		Self:            seos.Entity{Identifier: cfg.Participant.EIK, AdministrativeBodyName: cfg.Participant.Name, GUID: cfg.Participant.GUID},
		Dir:             n.Cache,
		Policy:          register.Policy{SelfGUID: cfg.Participant.GUID, TestParticipantGUID: cfg.Register.TestParticipant},
		Signer:          &xmldsig.Signer{Key: n.Identity.Key, Cert: n.Identity.Cert, Hash: hash},
		Hash:            n.hashFor,
		DB:              n.DB,
		Clock:           clk,
		Skew:            cfg.Endpoint.ClockSkew.D(),
		MaxMessageBytes: int64(cfg.Endpoint.MaxMessageBytes),
		Log:             log,
		Metrics:         inbound.NewMetrics(n.Registry),
		Transitions:     outbox.NewObserver(n.Registry, log),
		PeerSeen:        trustMetrics.PeerSeen,
	}
	self := n.Pipeline.Self
	n.Outbound = &outbound.Deliverer{
		DB: n.DB, Dir: n.Cache, Policy: n.Pipeline.Policy, Self: self, Identity: n.Identity, Trust: n.Trust,
		Hash:  func(guid string) xmldsig.Hash { h, _ := xmldsig.ParseHash(cfg.DigestFor(guid)); return h },
		Clock: clk, Log: log, Metrics: outbound.NewMetrics(n.Registry), Transitions: n.Pipeline.Transitions,
		Schedule: outbound.Schedule{First: cfg.Outbound.RetryFirst.D(), Retries: cfg.Outbound.Retries},
		Workers:  cfg.Outbound.Workers, Timeout: cfg.Outbound.Timeout.D(), MaxReply: int64(cfg.Outbound.MaxReplyBytes),
		StatusAfter: cfg.Outbound.StatusAfter.D(), StatusMaxInterval: cfg.Outbound.StatusMaxInterval.D(), Poll: cfg.Outbound.Poll.D(),
		PeerSeen: trustMetrics.PeerSeen,
	}
	n.AIS = &ais.Service{DB: n.DB, Dir: n.Cache, Policy: n.Pipeline.Policy, Self: self, Clock: clk, Log: log, Queued: n.Outbound.Notify}
	n.aisAPI = ais.NewAPIMetrics(n.Registry)
	if n.aisToken, err = ais.OpenTokenFile(cfg.Path(cfg.AIS.TokenFile), log); err != nil {
		n.DB.Close()
		return nil, fmt.Errorf("ais.token_file: %w", err)
	}
	if cfg.AIS.Spool.Dir != "" {
		if n.Spool, err = spool.New(cfg, n.AIS, log, clk); err != nil {
			n.DB.Close()
			return nil, fmt.Errorf("ais.spool: %w", err)
		}
		sp := n.Spool
		if err := sp.RegisterMetrics(n.Registry); err != nil {
			n.DB.Close()
			return nil, fmt.Errorf("ais.spool: %w", err)
		}
		sp.RegisterFresh = n.Syncer.Fresh // hold drops for unknown recipients until the register copy is fresh
		n.Pipeline.Received = func(id int64) {
			// The spool's scan catches up anyway; this only makes it prompt.
			n.spoolWrites.Add(1)
			go func() {
				defer n.spoolWrites.Done()
				if err := sp.WriteReceived(context.Background(), id); err != nil {
					log.Warn("spool: writing a received document", "inbox_id", id, "error", err)
				}
			}()
		}
	}
	if n.Network, err = netcheck.NewProber(cfg.Network, netcheck.Deps{RegisterURL: cfg.Register.URL, Identity: n.Identity,
		Trust: n.Trust, Clock: clk, Log: log}, n.Registry); err != nil {
		n.DB.Close()
		return nil, fmt.Errorf("network: %w", err)
	}
	n.Ops = ops.New(n.Registry, n.Registry)
	n.addChecks()
	return n, nil
}

func (n *Node) addChecks() {
	n.Ops.AddCheck("database", func(ctx context.Context) error { return store.Writable(ctx, n.DB) })
	n.Ops.AddCheck("register", n.Syncer.Fresh)
	n.Ops.AddCheck("network", n.Network.Ready)
	n.Ops.AddCheck("certificate", func(context.Context) error {
		if left := n.Identity.Cert.NotAfter.Sub(n.Clock.Now()); left <= 0 {
			return fmt.Errorf("transport certificate expired at %s", n.Identity.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
		if n.Clock.Now().Before(n.Identity.Cert.NotBefore) {
			return fmt.Errorf("transport certificate not valid before %s (clock skew?)", n.Identity.Cert.NotBefore.UTC().Format(time.RFC3339))
		}
		return nil
	})
	if n.Spool != nil {
		n.Ops.AddCheck("spool", n.Spool.Check)
	}
	if n.Trust.CRLs != nil {
		n.Ops.AddCheck("crl", func(context.Context) error { return n.Trust.CRLs.Problem() })
	}
}

// Run serves until ctx ends, then shuts down in order: stop taking
// requests, let those in flight finish, stop the loops, close the database.
func (n *Node) Run(ctx context.Context) error {
	cfg := n.Config
	// VPN/EESMDANS reachability first: with network.on_failure=refuse a
	// failed check stops the start here; otherwise we start not-ready.
	defer n.DB.Close() // last, after every loop and request has finished
	if err := n.Network.Startup(ctx); err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	epLn, err := net.Listen("tcp", cfg.Endpoint.Listen)
	if err != nil {
		return fmt.Errorf("endpoint.listen %s: %w", cfg.Endpoint.Listen, err)
	}
	opsLn, err := net.Listen("tcp", cfg.Ops.Listen)
	if err != nil {
		epLn.Close()
		return fmt.Errorf("ops.listen %s: %w", cfg.Ops.Listen, err)
	}
	aisLn, err := net.Listen("tcp", cfg.AIS.Listen)
	if err != nil {
		epLn.Close()
		opsLn.Close()
		return fmt.Errorf("ais.listen %s: %w", cfg.AIS.Listen, err)
	}
	n.aisSrv = ais.NewServer(cfg.AIS.Listen, ais.NewAPI(n.AIS, n.aisToken, n.Log, n.aisAPI))
	publicURL := cfg.Endpoint.PublicURL
	if publicURL == "" {
		publicURL = "https://" + epLn.Addr().String() + cfg.Endpoint.Path
	}
	h := inbound.NewHandler(n.Pipeline, cfg.Endpoint.Path, publicURL, cfg.Endpoint.MaxConcurrent, n.Log)
	n.endpoint = inbound.NewServer(cfg.Endpoint.Listen, n.Trust.ServerTLS(n.Identity), h,
		inbound.Timeouts{Read: cfg.Endpoint.ReadTimeout.D(), Write: cfg.Endpoint.WriteTimeout.D(), Idle: cfg.Endpoint.IdleTimeout.D()}, n.Log)
	n.opsSrv = &http.Server{Handler: n.Ops.Handler(), ReadHeaderTimeout: 10 * time.Second}

	loops, cancelLoops := context.WithCancel(context.Background())
	done := make(chan struct{}, 5)
	go func() { n.Syncer.Run(loops); done <- struct{}{} }()
	go func() { n.pruneLoop(loops); done <- struct{}{} }()
	go func() { n.Outbound.Run(loops); done <- struct{}{} }()
	go func() { n.Network.Run(loops); done <- struct{}{} }()
	loopCount := 4
	if n.Spool != nil {
		loopCount++
		go func() { n.Spool.Run(loops); done <- struct{}{} }()
	}

	errs := make(chan error, 3)
	go func() { errs <- serveTLS(n.endpoint, epLn) }()
	go func() { errs <- serve(n.opsSrv, opsLn) }()
	go func() { errs <- serve(n.aisSrv, aisLn) }()
	bi := buildinfo.Get()
	n.Log.Info("seosgw serving", "version", bi.Version, "revision", bi.Revision, "built", bi.Date, "go", bi.GoVersion, "participant", cfg.Participant.GUID, "endpoint", epLn.Addr().String(), "path", cfg.Endpoint.Path,
		"public_url", publicURL, "ops", opsLn.Addr().String(), "ais_api", aisLn.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
		n.Log.Error("listener failed", "error", runErr)
	}
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.endpoint.Shutdown(shut)
	n.aisSrv.Shutdown(shut)
	n.opsSrv.Shutdown(shut)
	cancelLoops()
	for i := 0; i < loopCount; i++ {
		<-done
	}
	n.spoolWrites.Wait()
	n.Log.Info("seosgw stopped")
	return runErr
}

func serveTLS(s *http.Server, ln net.Listener) error {
	return serve(s, tls.NewListener(ln, s.TLSConfig))
}

func serve(s *http.Server, ln net.Listener) error {
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// pruneLoop applies the retention period once an hour: the message log's
// raw bytes, delivered requests in the outbox, and the attachments of
// received documents whose work is over. Rows stay; their bulk goes.
func (n *Node) pruneLoop(ctx context.Context) {
	l := &msglog.Log{DB: n.DB}
	for {
		before := n.Clock.Now().Add(-n.Config.Database.LogRetention.D())
		for what, prune := range map[string]func() (int64, error){
			"message log raw bytes":      func() (int64, error) { return l.Prune(ctx, before) },
			"outbox requests":            func() (int64, error) { return outbox.PruneRequests(ctx, n.DB, before) },
			"finished inbox attachments": func() (int64, error) { return inbox.PruneAttachments(ctx, n.DB, before) },
		} {
			if k, err := prune(); err != nil && ctx.Err() == nil {
				n.Log.Warn("retention failed", "what", what, "error", err)
			} else if k > 0 {
				n.Log.Info("retention", "what", what, "pruned", k, "before", before.UTC().Format(time.RFC3339))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}

// NewLogger makes the process logger: JSON unless format says text (or
// auto on a terminal).
func NewLogger(level, format string, w io.Writer) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	text := format == "text"
	if format == "auto" {
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				text = true
			}
		}
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
