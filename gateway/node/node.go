// Package node assembles a running participant node from its configuration:
// database, register sync, trust, the SEOS endpoint, the AIS bridge and the
// ops listener, with their background loops and an orderly shutdown. It
// holds composition only: options.go maps the configuration to each part's
// options, and each part does its own work.
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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/buildinfo"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/console"
	"github.com/seosgw/seosgw/gateway/inbound"
	"github.com/seosgw/seosgw/gateway/judge"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/ops"
	"github.com/seosgw/seosgw/gateway/outbound"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/retention"
	"github.com/seosgw/seosgw/gateway/rotation"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/spool"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

// Node is a configured participant node.
type Node struct {
	Config    *config.Config
	Log       *slog.Logger
	Clock     clock.Clock
	Registry  *prometheus.Registry
	DB        *sql.DB
	Identity  *rotation.Keeper // our transport certificate and key in force
	Grace     *rotation.Grace
	Trust     *trust.Store
	Cache     *register.Cache
	Syncer    *register.Syncer
	Pipeline  *inbound.Pipeline
	Outbound  *outbound.Deliverer
	AIS       *ais.Service
	Spool     *spool.Spool       // nil without ais.spool.dir
	Policy    *acceptance.Policy // nil without acceptance.rules
	Judge     *judge.Judge       // nil without acceptance.rules
	Mail      *Mail              // nil unless mail.enabled
	Network   *netcheck.Prober
	Retention *retention.Pruner
	Files     *blob.Store      // large attachments and messages, beside the database
	Commit    *store.Committer // the endpoint's group commit
	Ops       *ops.Ops
	Console   *console.Console // nil without console.listen

	aisToken *ais.TokenFile
	aisAPI   *ais.APIMetrics
	closers  cleanup // what New opened, closed in reverse by Close
}

// New opens and checks everything the configuration names; it starts
// nothing. On an error it closes what it had opened.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, clk clock.Clock) (n *Node, err error) {
	n = &Node{Config: cfg, Log: log, Clock: clk, Registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Close())
			n = nil
		}
	}()
	n.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := buildinfo.Register(n.Registry, buildinfo.Get()); err != nil {
		return n, err
	}
	digest, err := Digests(cfg)
	if err != nil {
		return n, err
	}
	netOpt, err := NetworkOptions(cfg)
	if err != nil {
		return n, err
	}
	trustMetrics := trust.NewMetrics(n.Registry)
	id, ts, err := LoadTransport(cfg, clk, component(log, "trust"), trustMetrics)
	if err != nil {
		return n, err
	}
	rotMetrics := rotation.NewMetrics(n.Registry)
	n.Identity = rotation.NewKeeper(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key), cfg.TLS.MinRSABits, id, clk, component(log, "rotation"), rotMetrics)
	n.Trust = ts
	if n.DB, err = store.OpenGateway(ctx, cfg.Path(cfg.Database.Path)); err != nil {
		return n, fmt.Errorf("database.path: %w", err)
	}
	n.closers.push(n.DB.Close)
	if err := n.incrementalVacuum(ctx); err != nil {
		return n, err
	}
	if n.Network, err = netcheck.NewProber(netOpt, netcheck.Deps{RegisterURL: cfg.Register.URL, Identity: n.Identity.Current(),
		Trust: n.Trust, Clock: clk, Log: component(log, "network")}, n.Registry); err != nil {
		return n, fmt.Errorf("network: %w", err)
	}
	if n.Files, err = blob.Open(store.FilesDir(cfg.Path(cfg.Database.Path))); err != nil {
		return n, fmt.Errorf("database.path: the folder beside the database: %w", err)
	}
	n.Commit = store.NewCommitter(n.DB, commitBatch)
	n.closers.push(func() error { n.Commit.Close(); return nil })

	n.Cache = register.NewCache(n.DB, clk)
	if err := n.checkSelf(ctx); err != nil {
		return n, err
	}
	n.Grace = &rotation.Grace{Dir: n.Cache, Self: cfg.Participant.GUID, Window: cfg.TLS.RotationGrace.D(), Clock: clk, Log: component(log, "rotation")}
	rotMetrics.Watch(n.Registry, n.Identity, n.Grace)
	regLog := component(log, "register")
	src, err := RegisterClient(cfg, n.Identity, n.Trust, regLog)
	if err != nil {
		return n, err
	}
	regMetrics, err := register.NewMetrics(n.Registry, clk)
	if err != nil {
		return n, err
	}
	syncOpt := SyncOptions(cfg)
	syncOpt.Clock, syncOpt.Log, syncOpt.Metrics = clk, regLog, regMetrics
	syncOpt.OnSuccess = n.Network.Reprobe // the register answers again: so may the network checks
	n.Syncer = register.NewSyncer(n.Cache, src, syncOpt)

	self := Self(cfg)
	policy := register.Policy{SelfGUID: cfg.Participant.GUID, TestParticipantGUID: cfg.Register.TestParticipant}
	transitions := outbox.NewObserver(n.Registry, component(log, "outbox"))
	n.Pipeline = &inbound.Pipeline{
		Self: self, Dir: n.Cache, Policy: policy,
		Identity: n.Identity, Hash: digest, DB: n.DB, Files: n.Files, Commit: n.Commit, Clock: clk,
		Skew:               cfg.Endpoint.ClockSkew.D(),
		MaxMessageBytes:    cfg.Endpoint.MessageLimit(),
		MaxAttachmentBytes: int64(cfg.Endpoint.MaxAttachmentBytes),
		MinRSABits:         cfg.TLS.MinRSABits,
		Log:                component(log, "inbound"),
		Metrics:            inbound.NewMetrics(n.Registry),
		Transitions:        transitions,
		PeerSeen:           trustMetrics.PeerSeen,
	}
	n.Outbound = &outbound.Deliverer{
		DB: n.DB, Files: n.Files, Dir: n.Cache, Policy: policy, Self: self, Identity: n.Identity, Trust: n.Trust, Hash: digest, Grace: n.Grace,
		Clock: clk, Log: component(log, "outbound"), Metrics: outbound.NewMetrics(n.Registry), Transitions: transitions,
		Schedule: outbound.Schedule{First: cfg.Outbound.RetryFirst.D(), Retries: cfg.Outbound.Retries},
		Workers:  cfg.Outbound.Workers, PerPeer: cfg.Outbound.PerPeerLimit(), Timeout: cfg.Outbound.Timeout.D(), MaxReply: int64(cfg.Outbound.MaxReplyBytes),
		StatusAfter: cfg.Outbound.StatusAfter.D(), StatusMaxInterval: cfg.Outbound.StatusMaxInterval.D(), Poll: cfg.Outbound.Poll.D(),
		PeerSeen: trustMetrics.PeerSeen,
	}
	n.AIS = &ais.Service{DB: n.DB, Files: n.Files, MaxAttachmentBytes: int64(cfg.Endpoint.MaxAttachmentBytes), Dir: n.Cache, Policy: policy, Self: self, Clock: clk, Log: component(log, "ais"), Queued: n.Outbound.Notify,
		Transitions: transitions}
	n.aisAPI = ais.NewAPIMetrics(n.Registry)
	if n.aisToken, err = ais.OpenTokenFile(cfg.Path(cfg.AIS.TokenFile), n.AIS.Log); err != nil {
		return n, fmt.Errorf("ais.token_file: %w", err)
	}
	if cfg.AIS.Spool.Dir != "" {
		if n.Spool, err = spool.New(SpoolOptions(cfg), n.AIS, component(log, "spool"), clk); err != nil {
			return n, fmt.Errorf("ais.spool: %w", err)
		}
		if err := n.Spool.RegisterMetrics(n.Registry); err != nil {
			return n, fmt.Errorf("ais.spool: %w", err)
		}
		n.Spool.RegisterFresh = n.Syncer.Fresh // hold drops for unknown recipients until the register copy is fresh
		n.Pipeline.Received = n.Spool.Received
	}
	if cfg.Acceptance.Rules != "" {
		if err := n.judgeReceived(self); err != nil {
			return n, err
		}
	}
	if cfg.Mail.Enabled {
		if n.Judge == nil { // config validation asks for acceptance.rules
			return n, errors.New("mail.enabled: the e-mail channel needs acceptance.rules")
		}
		if err := n.openMail(); err != nil {
			return n, err
		}
	}
	n.Identity.OnSwap(func(_, swapped *pki.Identity) { n.swapped(swapped, src) })
	retLog := component(log, "retention")
	n.Retention = &retention.Pruner{DB: n.DB, Path: cfg.Path(cfg.Database.Path), Keep: cfg.Database.LogRetention.D(),
		KeepAttachments: cfg.Database.AttachmentRetention.D(), Clock: clk, Log: retLog, Metrics: retention.NewMetrics(n.Registry),
		Files: &retention.Files{DB: n.DB, Store: n.Files, Log: retLog}}
	n.Ops = ops.New(n.Registry, n.Registry)
	n.addChecks()
	if cfg.Console.Enabled() {
		if err := n.openConsole(trustMetrics); err != nil {
			return n, err
		}
	}
	return n, nil
}

// commitBatch is how many requests' work one transaction takes at most.
const commitBatch = 64

// incrementalVacuum converts a database made before retention could
// shrink the file, once, before anything else uses it.
func (n *Node) incrementalVacuum(ctx context.Context) error {
	path := n.Config.Path(n.Config.Database.Path)
	start := time.Now()
	state, err := store.EnableIncrementalVacuum(ctx, n.DB, path)
	switch {
	case err != nil:
		return fmt.Errorf("database.path: %w", err)
	case state == store.VacuumConverted:
		n.Log.Info("database converted to incremental auto-vacuum: retention now shrinks the file", "path", path, "seconds", time.Since(start).Seconds())
	case state == store.VacuumNoSpace:
		n.Log.Warn("database not converted to incremental auto-vacuum: it needs twice its size free for one VACUUM; retention frees pages for reuse, and the next start tries again",
			"path", path, "bytes", store.FileSize(path))
	}
	return nil
}

// swapped follows a renewed transport certificate: connections kept alive
// with the old one are dropped (the next shakes hands with the new one),
// the network checks look at the new one, and the log says whether the
// register copy lists it yet (peers refuse it until theirs do).
func (n *Node) swapped(id *pki.Identity, reg *daeu.Client) {
	n.Outbound.CloseIdle()
	reg.CloseIdleConnections()
	n.Network.SetIdentity(id)
	serial := pki.SerialHex(id.Cert)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := n.Grace.Registered(ctx, serial)
	switch {
	case err != nil:
		n.Log.Error("cannot tell whether the register lists the new transport certificate", "serial", serial, "error", err)
	case !listed:
		n.Log.Warn("the register copy does not list the new transport certificate as ours: peers refuse it until DAEU has entered it and their copies follow",
			"serial", serial, "grace", n.Config.TLS.RotationGrace.D().String())
	}
}

// Reload reads the transport certificate and key again (SIGHUP): see
// rotation.Keeper.Reload.
// The mail intake's own certificate (mail.smtp.cert), if any, is read again
// too; its outcome is logged.
func (n *Node) Reload() (rotation.Result, error) {
	if n.Mail != nil && n.Mail.TLS != nil {
		n.Mail.TLS.Reload(rotation.TriggerSignal)
	}
	return n.Identity.Reload(rotation.TriggerSignal)
}

// judgeReceived puts the acceptance policy between the endpoint and the
// AIS: documents are stored checking, judged, and only then seen.
func (n *Node) judgeReceived(self seos.Entity) error {
	cfg, log := n.Config, component(n.Log, "acceptance")
	var err error
	if n.Policy, err = AcceptancePolicy(cfg, n.Clock, log, n.Registry); err != nil {
		return err
	}
	m, err := judge.NewMetrics(n.Registry, n.DB, log)
	if err != nil {
		return fmt.Errorf("acceptance: %w", err)
	}
	n.Judge = &judge.Judge{DB: n.DB, Files: n.Files, Policy: n.Policy, Self: self, Clock: n.Clock, Log: log, Metrics: m,
		Workers: cfg.Acceptance.Workers, Timeout: cfg.Acceptance.Timeout.D(), Queued: n.Outbound.Notify}
	if n.Spool != nil {
		n.Judge.Received = n.Spool.Received
	}
	n.Pipeline.Judge = n.Judge.Arrived
	return nil
}

// component is the logger of one part of the node.
func component(log *slog.Logger, name string) *slog.Logger { return log.With("component", name) }

func (n *Node) addChecks() {
	n.Ops.AddCheck("database", func(ctx context.Context) error { return store.Writable(ctx, n.DB) })
	n.Ops.AddCheck("register", func(ctx context.Context) error {
		if err := n.Syncer.Fresh(ctx); err != nil {
			return err
		}
		return n.Network.RegisterProblem()
	})
	n.Ops.AddCheck("participant", n.selfReady)
	n.Ops.AddCheck("network", n.Network.Ready)
	n.Ops.AddCheck("certificate", func(context.Context) error {
		cert := n.Identity.Current().Cert
		if left := cert.NotAfter.Sub(n.Clock.Now()); left <= 0 {
			return fmt.Errorf("transport certificate expired at %s", cert.NotAfter.UTC().Format(time.RFC3339))
		}
		if n.Clock.Now().Before(cert.NotBefore) {
			return fmt.Errorf("transport certificate not valid before %s (clock skew?)", cert.NotBefore.UTC().Format(time.RFC3339))
		}
		return nil
	})
	if n.Spool != nil {
		n.Ops.AddCheck("spool", n.Spool.Check)
	}
	if n.Policy != nil {
		n.Ops.AddCheck("scanner", n.Policy.ScannerReady)
	}
	if n.Trust.CRLs != nil {
		n.Ops.AddCheck("crl", func(context.Context) error { return n.Trust.CRLs.Problem() })
	}
	if n.Mail != nil {
		n.addMailChecks()
	}
}

// Close closes what New opened (the database), once. Run calls it.
func (n *Node) Close() error { return n.closers.run() }

// shutdownGrace is how long requests in flight may take to finish;
// loopGrace how long the background loops then have to stop. The unit's
// TimeoutStopSec (45s) covers both.
const (
	shutdownGrace = 30 * time.Second
	loopGrace     = 10 * time.Second
)

// Run serves until ctx ends, then shuts down in order: stop taking
// requests, let those in flight finish, stop the loops, close the
// database. It returns what failed on the way, joined.
func (n *Node) Run(ctx context.Context) (err error) {
	stuck := false
	defer func() {
		if stuck {
			// A loop may still hold a query: closing would wait on it.
			// The process ends; SQLite's WAL keeps every commit.
			n.Log.Error("leaving the database open: background work did not stop")
			return
		}
		err = errors.Join(err, n.Close()) // last, after every loop and request has finished
	}()
	cfg := n.Config
	// VPN/EESMDANS reachability first: with network.on_failure=refuse a
	// failed check stops the start here; otherwise we start not-ready.
	if err := n.Network.Startup(ctx); err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	var lns cleanup // the listeners, until their servers own them
	listen := func(field, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%s %s: %w", field, addr, err), lns.run())
		}
		lns.push(ln.Close)
		return ln, nil
	}
	epLn, err := listen("endpoint.listen", cfg.Endpoint.Listen)
	if err != nil {
		return err
	}
	opsLn, err := listen("ops.listen", cfg.Ops.Listen)
	if err != nil {
		return err
	}
	aisLn, err := listen("ais.listen", cfg.AIS.Listen)
	if err != nil {
		return err
	}
	var consoleLn net.Listener
	if n.Console != nil {
		if consoleLn, err = listen("console.listen", cfg.Console.Listen); err != nil {
			return err
		}
	}
	var smtpLn net.Listener
	if n.Mail != nil && n.Mail.SMTP != nil {
		if smtpLn, err = n.Mail.SMTP.Listen(); err != nil {
			return errors.Join(fmt.Errorf("mail.smtp.listen: %w", err), lns.run())
		}
		lns.push(smtpLn.Close)
	}
	publicURL := cfg.Endpoint.PublicURL
	if publicURL == "" {
		publicURL = "https://" + epLn.Addr().String() + cfg.Endpoint.Path
	}
	// Nothing is in flight yet: every file no row refers to is a crash's
	// leftover.
	if _, _, err := n.Retention.Files.Sweep(ctx, 0); err != nil {
		n.Log.Warn("file store sweep at start", "error", err)
	}
	h := inbound.NewHandler(n.Pipeline, cfg.Endpoint.Path, publicURL, inbound.Limits{MaxConcurrent: cfg.Endpoint.MaxConcurrent,
		PerPeer: cfg.Endpoint.MaxConcurrentPerPeer, MinBodyRate: int64(cfg.Endpoint.MinBodyRate), Grace: cfg.Endpoint.MinBodyRateGrace.D()}, n.Pipeline.Log)
	endpoint := inbound.NewServer(cfg.Endpoint.Listen, inbound.RegisterOnly(n.Trust.ServerTLS(n.Identity), n.Cache, n.Pipeline.Metrics, n.Pipeline.Log), h,
		inbound.Timeouts{Read: cfg.Endpoint.ReadTimeout.D(), Write: cfg.Endpoint.WriteTimeout.D(), Idle: cfg.Endpoint.IdleTimeout.D()}, n.Pipeline.Log)
	servers := []struct {
		name string
		srv  *http.Server
		ln   net.Listener
	}{
		{"endpoint", endpoint, tls.NewListener(epLn, endpoint.TLSConfig)},
		{"ops", &http.Server{Handler: n.Ops.Handler(), ReadHeaderTimeout: 10 * time.Second}, opsLn},
		{"ais", ais.NewServer(cfg.AIS.Listen, ais.NewAPI(n.AIS, n.aisToken, n.AIS.Log, n.aisAPI)), aisLn},
	}
	if consoleLn != nil {
		srv, ln, err := n.consoleServer(consoleLn)
		if err != nil {
			return errors.Join(err, lns.run())
		}
		servers = append(servers, struct {
			name string
			srv  *http.Server
			ln   net.Listener
		}{"console", srv, ln})
	}

	loopCtx, stopLoops := context.WithCancel(context.Background())
	defer stopLoops()
	loops := &group{log: n.Log}
	loops.Go(loopCtx, "register sync", n.Syncer.Run)
	loops.Go(loopCtx, "retention", n.Retention.Run)
	loops.Go(loopCtx, "outbound", n.Outbound.Run)
	loops.Go(loopCtx, "network probe", func(ctx context.Context) error { n.Network.Run(ctx); return nil })
	loops.Go(loopCtx, "certificate files", n.Identity.Run)
	if n.Spool != nil {
		loops.Go(loopCtx, "spool", func(ctx context.Context) error { n.Spool.Run(ctx); return nil })
	}
	if n.Judge != nil {
		loops.Go(loopCtx, "acceptance", n.Judge.Run)
	}
	if n.Mail != nil {
		n.runMail(loopCtx, loops, smtpLn)
	}

	serveErrs := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				serveErrs <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	bi := buildinfo.Get()
	n.Log.Info("seosgw serving", "version", bi.Version, "revision", bi.Revision, "built", bi.Date, "go", bi.GoVersion, "participant", cfg.Participant.GUID, "endpoint", epLn.Addr().String(), "path", cfg.Endpoint.Path,
		"public_url", publicURL, "ops", opsLn.Addr().String(), "ais_api", aisLn.Addr().String(), "mail_intake", addrOf(smtpLn), "console", addrOf(consoleLn))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErrs:
		n.Log.Error("listener failed", "error", runErr)
		runErr = fmt.Errorf("listener: %w", runErr)
	}
	shut, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var shutErrs []error
	for _, s := range servers {
		if err := s.srv.Shutdown(shut); err != nil {
			shutErrs = append(shutErrs, fmt.Errorf("shutdown %s: %w", s.name, err))
		}
	}
	stopLoops()
	loopErr := loops.WaitFor(loopGrace)
	if n.Spool != nil {
		// Prompt writes of documents received before the endpoint stopped,
		// bounded like the loops.
		written := make(chan struct{})
		go func() { n.Spool.Wait(); close(written) }()
		select {
		case <-written:
		case <-time.After(loopGrace):
			loopErr = errors.Join(loopErr, fmt.Errorf("%w after %s: spool inbox writes", ErrStuck, loopGrace))
		}
	}
	if errors.Is(loopErr, ErrStuck) {
		stuck = true
		n.Log.Error("stopping without waiting for background work any longer", "error", loopErr)
	}
	n.Log.Info("seosgw stopped")
	return errors.Join(runErr, errors.Join(shutErrs...), loopErr)
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// NewLogger makes the process logger: JSON unless format says text (or
// auto on a terminal).
func NewLogger(level, format string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // config validation allows only the four names
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
