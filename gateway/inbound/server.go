package inbound

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/wsdl"
)

// Handler is the HTTP face of the endpoint: POST Submit at Path, the WSDL
// at Path?wsdl.
type Handler struct {
	Pipeline  *Pipeline
	Path      string
	PublicURL string // soap:address in the served WSDL
	// busy holds a token per request in flight (max_concurrent).
	busy chan struct{}
	Log  *slog.Logger
}

// NewHandler caps concurrent requests at maxConcurrent.
// The size limit is the pipeline's MaxMessageBytes.
func NewHandler(p *Pipeline, path, publicURL string, maxConcurrent int, log *slog.Logger) *Handler {
	return &Handler{Pipeline: p, Path: path, PublicURL: publicURL, busy: make(chan struct{}, maxConcurrent), Log: log}
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
		h.write(w, 500, soap.FaultEnvelope(&soap.Fault{Code: "VersionMismatch", String: "SOAP 1.2 is not supported; send SOAP 1.1 (text/xml)"}))
		return
	}
	if a := strings.Trim(r.Header.Get("SOAPAction"), `"`); a != "" && a != soap.Action {
		h.write(w, 500, soap.FaultEnvelope(&soap.Fault{Code: "Client", String: "unknown SOAPAction " + a + "; use " + soap.Action}))
		return
	}
	select {
	case h.busy <- struct{}{}:
		defer func() { <-h.busy }()
	case <-time.After(queueWait):
		h.Pipeline.Metrics.rejectedBusy.Inc()
		w.Header().Set("Retry-After", "5")
		http.Error(w, "busy, retry later", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		return
	}
	req := Request{}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.ClientCert = r.TLS.PeerCertificates[0]
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// Grow up to 1 MiB at once from the declared length; beyond that the
		// buffer grows as bytes arrive, so a peer cannot pin memory by
		// announcing a length and then sending slowly.
		buf.Grow(int(min(r.ContentLength, h.Pipeline.MaxMessageBytes, 1<<20) + 1))
	}
	n, err := io.Copy(&buf, io.LimitReader(r.Body, h.Pipeline.MaxMessageBytes+1))
	if err != nil {
		h.Log.Warn("reading the request failed", "error", err, "read", n)
		http.Error(w, "request body could not be read", http.StatusBadRequest)
		return
	}
	req.Body, req.Size = buf.Bytes(), n
	if n > h.Pipeline.MaxMessageBytes {
		// Count the rest without keeping it, so the peer can read our answer.
		rest, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<30))
		req.TooLarge, req.Size = true, n+rest
		req.Body = req.Body[:min(len(req.Body), maxLoggedRefusal)]
	}
	resp := h.Pipeline.Handle(r.Context(), req)
	h.write(w, resp.Status, resp.Body)
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

func (h *Handler) write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", soap.ContentType)
	w.WriteHeader(status)
	w.Write(body)
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
