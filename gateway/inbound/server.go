package inbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/wsdl"
)

// Handler is the HTTP face of the endpoint: POST Submit at Path, the WSDL
// at Path?wsdl.
type Handler struct {
	Pipeline  *Pipeline
	Path      string
	PublicURL string // soap:address in the served WSDL
	Log       *slog.Logger
	// busy holds a token per request in flight (max_concurrent); perPeer
	// counts them by client certificate, so that one peer cannot take
	// every slot.
	busy    chan struct{}
	limit   Limits
	mu      sync.Mutex
	perPeer map[string]int
}

// Limits protect the endpoint's slots from slow or greedy peers.
type Limits struct {
	MaxConcurrent int // requests in flight
	PerPeer       int // requests in flight from one client certificate
	// MinBodyRate is the least average speed (bytes/s) a body must
	// arrive at once Grace has passed since its request began; 0: none.
	MinBodyRate int64
	Grace       time.Duration
}

// DefaultGrace is how long a body may arrive at any speed.
const DefaultGrace = 10 * time.Second

// NewHandler serves the pipeline within the limits. The size limit is the
// pipeline's MaxMessageBytes.
func NewHandler(p *Pipeline, path, publicURL string, lim Limits, log *slog.Logger) *Handler {
	lim.MaxConcurrent = max(lim.MaxConcurrent, 1)
	if lim.PerPeer <= 0 || lim.PerPeer > lim.MaxConcurrent {
		lim.PerPeer = lim.MaxConcurrent
	}
	if lim.Grace <= 0 {
		lim.Grace = DefaultGrace
	}
	return &Handler{Pipeline: p, Path: path, PublicURL: publicURL, Log: log, busy: make(chan struct{}, lim.MaxConcurrent),
		limit: lim, perPeer: map[string]int{}}
}

// queueWait is how long a request may wait for a free slot before 503;
// peers retry network-level failures, so a short wait is enough.
const queueWait = 2 * time.Second

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.Path {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodGet {
		if _, ok := r.URL.Query()["wsdl"]; ok {
			h.serveWSDL(w)
			return
		}
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, GET (?wsdl)")
		http.Error(w, "this is a SEOS SOAP endpoint: POST a Submit, or GET ?wsdl", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/soap+xml") {
		h.write(w, Response{Status: 500, Body: soap.FaultEnvelope(&soap.Fault{Code: "VersionMismatch", String: "SOAP 1.2 is not supported; send SOAP 1.1 (text/xml)"})})
		return
	}
	if a := strings.Trim(r.Header.Get("SOAPAction"), `"`); a != "" && a != soap.Action {
		h.write(w, Response{Status: 500, Body: soap.FaultEnvelope(&soap.Fault{Code: "Client", String: "unknown SOAPAction " + a + "; use " + soap.Action})})
		return
	}
	req := Request{Declared: r.ContentLength}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.ClientCert = r.TLS.PeerCertificates[0]
	}
	if req.Declared > h.Pipeline.MaxMessageBytes {
		// Announced too large: refused at once, before a slot is taken
		// or a byte of the body read.
		h.write(w, h.Pipeline.Handle(r.Context(), req))
		return
	}
	serial := pki.SerialHex(req.ClientCert)
	if !h.takePeer(serial) {
		h.Pipeline.Metrics.rejectedBusy.WithLabelValues("peer").Inc()
		h.busyAnswer(w)
		return
	}
	defer h.releasePeer(serial)
	select {
	case h.busy <- struct{}{}:
		defer func() { <-h.busy }()
	case <-time.After(queueWait):
		h.Pipeline.Metrics.rejectedBusy.WithLabelValues("endpoint").Inc()
		h.busyAnswer(w)
		return
	case <-r.Context().Done():
		return
	}
	req.Body = h.paced(w, r)
	h.write(w, h.Pipeline.Handle(r.Context(), req))
}

func (h *Handler) busyAnswer(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	http.Error(w, "busy, retry later", http.StatusServiceUnavailable)
}

// takePeer counts a request of the peer with this certificate serial in,
// unless it has its share of the slots already.
func (h *Handler) takePeer(serial string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perPeer[serial] >= h.limit.PerPeer {
		return false
	}
	h.perPeer[serial]++
	return true
}

func (h *Handler) releasePeer(serial string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perPeer[serial]--; h.perPeer[serial] <= 0 {
		delete(h.perPeer, serial)
	}
}

// InFlight says how many requests hold a slot now.
func (h *Handler) InFlight() int { return len(h.busy) }

// paced is the body, held to the minimum rate: after the grace period
// the bytes so far must have come at MinBodyRate on average, or the read
// fails (the connection's read deadline is moved as bytes arrive, so a
// peer that sends nothing at all is cut off too).
func (h *Handler) paced(w http.ResponseWriter, r *http.Request) io.Reader {
	if h.limit.MinBodyRate <= 0 {
		return r.Body
	}
	rc := http.NewResponseController(w)
	p := &pacedBody{r: r.Body, rc: rc, start: time.Now(), rate: h.limit.MinBodyRate, grace: h.limit.Grace, metric: h.Pipeline.Metrics.slowBodies}
	p.setDeadline()
	return p
}

type pacedBody struct {
	r      io.Reader
	rc     *http.ResponseController
	start  time.Time
	rate   int64
	grace  time.Duration
	n      int64
	metric interface{ Inc() }
	failed bool
}

// ErrTooSlow is a body that arrived slower than the minimum rate.
var ErrTooSlow = errors.New("the request body arrives slower than endpoint.min_body_rate")

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if !p.failed {
			p.failed = true
			p.metric.Inc()
		}
		return n, fmt.Errorf("%w (%d bytes in %s)", ErrTooSlow, p.n, time.Since(p.start).Round(time.Millisecond))
	}
	if err == nil {
		p.setDeadline()
	}
	return n, err
}

// setDeadline allows the next bytes until the average would fall below
// the rate: n bytes are enough until start + n/rate (and the grace).
func (p *pacedBody) setDeadline() {
	due := p.start.Add(max(p.grace, time.Duration(float64(p.n+1)/float64(p.rate)*float64(time.Second))))
	p.rc.SetReadDeadline(due)
}

func (h *Handler) serveWSDL(w http.ResponseWriter) {
	b, err := wsdl.EndpointWSDL(h.PublicURL)
	if err != nil {
		h.Log.Error("WSDL", "error", err)
		http.Error(w, "WSDL unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b)
}

func (h *Handler) write(w http.ResponseWriter, resp Response) {
	if resp.Close {
		w.Header().Set("Connection", "close")
	}
	if resp.Status == 400 {
		http.Error(w, strings.TrimSpace(string(resp.Body)), 400)
		return
	}
	w.Header().Set("Content-Type", soap.ContentType)
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// Timeouts of the endpoint's HTTP server.
type Timeouts struct {
	Read, Write, Idle time.Duration
}

// NewServer is the endpoint's HTTPS server: TLS from tlsConf (client
// certificates required), timeouts against slow or stuck peers.
func NewServer(addr string, tlsConf *tls.Config, h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// RegisterOnly makes a server TLS configuration refuse, during the
// handshake, a client certificate that is no participant's in the
// register copy: the DAEU CA certifies more than SEOS participants, and a
// stranger must not even reach the endpoint's slots. The configuration's
// own checks (chain, CRL) run first.
func RegisterOnly(cfg *tls.Config, dir Directory, m *Metrics, log *slog.Logger) *tls.Config {
	cfg = cfg.Clone()
	check := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if check != nil {
			if err := check(cs); err != nil {
				return err
			}
		}
		if len(cs.PeerCertificates) == 0 {
			return nil // the configuration requires one; crypto/tls refuses
		}
		serial := pki.SerialHex(cs.PeerCertificates[0])
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		es, err := dir.BySerial(ctx, serial)
		if err != nil {
			m.tlsRefusals.WithLabelValues("register_unavailable").Inc()
			log.Error("TLS client refused: the register copy cannot be read", "peer_serial", serial, "error", err)
			return fmt.Errorf("the register copy cannot be read: %w", err)
		}
		for _, e := range es {
			if !e.Removed {
				return nil
			}
		}
		m.tlsRefusals.WithLabelValues("not_in_register").Inc()
		log.Warn("TLS client refused: its certificate is no participant's in the register", "peer_serial", serial,
			"subject", cs.PeerCertificates[0].Subject.String())
		return fmt.Errorf("client certificate serial %s is no participant's in the register", serial)
	}
	return cfg
}
