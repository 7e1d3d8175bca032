package testregister

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
	"github.com/seosgw/seosgw/wsdl"
)

// maxRequestBytes bounds a call; the largest is a few hundred bytes.
const maxRequestBytes = 1 << 20

// Handler serves the register's SOAP on POST and its WSDL on GET ?wsdl.
// publicURL goes into the WSDL's soap:address ("" = the URL the request came to).
func (r *Register) Handler(publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.Method == http.MethodGet && isWSDLQuery(req):
			r.serveWSDL(w, req, publicURL)
		case req.Method == http.MethodPost:
			r.serveSOAP(w, req)
		default:
			w.Header().Set("Allow", "POST, GET")
			http.Error(w, "the participant register speaks SOAP 1.1 over POST; its WSDL is at ?wsdl", http.StatusMethodNotAllowed)
		}
	})
}

func isWSDLQuery(req *http.Request) bool {
	for k := range req.URL.Query() {
		if strings.EqualFold(k, "wsdl") {
			return true
		}
	}
	return false
}

func (r *Register) serveWSDL(w http.ResponseWriter, req *http.Request, publicURL string) {
	if publicURL == "" {
		publicURL = "https://" + req.Host + req.URL.Path
	}
	b, err := wsdl.RegistryWSDL(publicURL)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b)
}

func (r *Register) serveSOAP(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	log := r.log.With("remote", req.RemoteAddr, "client_serial", clientSerial(req))
	body, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBytes+1))
	if err != nil {
		log.WarnContext(ctx, "read request", "error", err)
		return
	}
	if len(body) > maxRequestBytes {
		fault(w, daeu.FaultClient, "request larger than 1 MiB")
		return
	}
	call, err := daeu.DecodeRequest(body, req.Header.Get("Content-Type"))
	if err != nil {
		var unknown *daeu.UnknownOperationError
		if errors.As(err, &unknown) {
			fault(w, daeu.FaultClient, err.Error())
		} else {
			fault(w, daeu.FaultClient, "error in msg parsing: "+err.Error())
		}
		log.InfoContext(ctx, "bad request", "error", err)
		return
	}
	l, err := r.answer(ctx, call)
	if err != nil {
		var bad *badParam
		if errors.As(err, &bad) {
			fault(w, daeu.FaultClient, err.Error())
			return
		}
		log.ErrorContext(ctx, "query failed", "op", string(call.Op), "error", err)
		fault(w, daeu.FaultServer, "the register database is unavailable")
		return
	}
	log.InfoContext(ctx, "register call", "op", string(call.Op), "param", call.Param, "entities", len(l.Entities))
	w.Header().Set("Server", "seosgw test register (NuSOAP-compatible)")
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.Write(daeu.EncodeResponse(call.Op, l, nil))
}

type badParam struct{ msg string }

func (e *badParam) Error() string { return e.msg }

// answer runs the query behind an operation.
func (r *Register) answer(ctx context.Context, call *daeu.Request) (*register.Listing, error) {
	switch call.Op {
	case daeu.GetAllRecords:
		return r.All(ctx)
	case daeu.GetNewRecords:
		if call.Param == "" {
			return r.All(ctx) // what PHP's "last_change > ''" gives
		}
		t, err := daeu.ParseDateTime(call.Param, nil)
		if err != nil {
			return nil, &badParam{"GetNewRecords: date: " + err.Error()}
		}
		return r.Since(ctx, t)
	case daeu.GetByEntityIdentifier:
		return r.ByEIK(ctx, call.Param)
	case daeu.GetByGuid:
		return r.ByGUID(ctx, call.Param)
	case daeu.GetByCertificateSN:
		return r.BySerial(ctx, call.Param)
	}
	return nil, &badParam{fmt.Sprintf("Operation '%s' is not defined in the WSDL for this service", call.Op)}
}

func fault(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Server", "seosgw test register (NuSOAP-compatible)")
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(daeu.EncodeFault(code, msg, ""))
}

func clientSerial(req *http.Request) string {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return ""
	}
	return pki.SerialHex(req.TLS.PeerCertificates[0])
}

// ServeConfig is `seosgw register serve`.
type ServeConfig struct {
	Listen       string // host:port
	CertFile     string // the register's server certificate (PEM)
	KeyFile      string
	ClientCAFile string // CA bundle client certificates must chain to
	PublicURL    string // for ?wsdl; default https://<Host header><path>
	Log          *slog.Logger
}

// Serve runs the register on cfg.Listen until ctx ends. ready, if not nil,
// gets the address once the listener is open.
func (r *Register) Serve(ctx context.Context, cfg ServeConfig, ready func(addr net.Addr)) error {
	if cfg.Log == nil {
		cfg.Log = r.log
	}
	id, err := pki.LoadIdentity(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("test register: --tls-cert/--tls-key: %w", err)
	}
	cas, err := pki.LoadCertificates(cfg.ClientCAFile)
	if err != nil {
		return fmt.Errorf("test register: --client-ca: %w", err)
	}
	tlsCfg := trust.Harden(&tls.Config{Certificates: []tls.Certificate{id.TLSCertificate()},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.CertPool(cas)})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("test register: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           r.Handler(cfg.PublicURL),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Handshake refusals (untrusted or missing client certificates) land here.
		ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		return fmt.Errorf("test register: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("test register: shutdown: %w", err)
	}
	return nil
}
