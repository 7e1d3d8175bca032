package daeu

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/register"
)

// Options say where the register is and how to reach it.
type Options struct {
	URL string
	// Identity is the participant's transport certificate, presented as the
	// TLS client certificate (the one in force at each handshake).
	Identity pki.Source
	// Trust verifies the register's server certificate as every other peer's
	// is verified (gateway/netcheck's preflight included): the DAEU roots at
	// the store's clock, and the CRLs. The node uses it.
	Trust *trust.Store
	// RootCAs verifies the register's server certificate when Trust is nil
	// (the DAEU CA, at the system clock, no CRLs): for tests and tools.
	RootCAs *x509.CertPool
	// Timeout bounds each call, from connecting to the last byte. Default 30s.
	Timeout time.Duration
	// MaxResponseBytes bounds an answer. Default 64 MiB.
	MaxResponseBytes int64
	// Zone places times the register writes without an offset; nil = Europe/Sofia.
	Zone *time.Location
	Log  *slog.Logger
}

// Client calls the DAEU register over mutual TLS. It is safe for
// concurrent use and implements register.Source.
type Client struct {
	url     string
	http    *http.Client
	timeout time.Duration
	max     int64
	zone    *time.Location
	log     *slog.Logger
}

var _ register.Source = (*Client)(nil)

// NewClient checks cfg and builds a client.
func NewClient(cfg Options) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("register client: URL %q must be https://host[:port]/path", cfg.URL)
	}
	if cfg.Identity == nil {
		return nil, errors.New("register client: no transport certificate (the register requires mutual TLS)")
	}
	if cfg.Trust == nil && cfg.RootCAs == nil {
		return nil, errors.New("register client: no CA to verify the register's certificate with")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 64 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var tlsConf *tls.Config
	if cfg.Trust != nil {
		tlsConf = cfg.Trust.ClientTLS(cfg.Identity, u.Hostname())
	} else {
		tlsConf = trust.Harden(&tls.Config{
			GetClientCertificate: trust.ClientCertificate(cfg.Identity),
			RootCAs:              cfg.RootCAs,
		})
	}
	tr := &http.Transport{
		// No proxy from the environment: the register is on the SEOS network
		// (EESMDANS or the VPN), which a corporate proxy would not reach.
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   2,
		TLSClientConfig:       tlsConf,
	}
	return &Client{
		url:  cfg.URL,
		http: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		// The transport's own timeouts cover single phases; the context
		// covers the whole call, including a body that trickles forever.
		timeout: cfg.Timeout,
		max:     cfg.MaxResponseBytes,
		zone:    cfg.Zone,
		log:     cfg.Log,
	}, nil
}

// CloseIdleConnections drops kept-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// GetAllRecords returns the whole register.
func (c *Client) GetAllRecords(ctx context.Context) (*register.Listing, error) {
	return c.Call(ctx, GetAllRecords, "")
}

// GetNewRecords returns the entities changed since since, which should be
// the Cursor of an earlier answer, verbatim.
func (c *Client) GetNewRecords(ctx context.Context, since string) (*register.Listing, error) {
	return c.Call(ctx, GetNewRecords, since)
}

// GetByEntityIdentifier returns the entities with an EIK/BULSTAT.
func (c *Client) GetByEntityIdentifier(ctx context.Context, eik string) (*register.Listing, error) {
	return c.Call(ctx, GetByEntityIdentifier, eik)
}

// GetByGuid returns the entity with a register GUID.
func (c *Client) GetByGuid(ctx context.Context, guid string) (*register.Listing, error) {
	return c.Call(ctx, GetByGuid, guid)
}

// GetByCertificateSN returns the entity whose transport certificate has the
// serial. The serial is sent exactly as given: pass the register's own text
// (Entity.CertificateSN from a listing), because a register compares the
// strings it stores, and .NET's serial keeps leading zeros and may be lower
// case; pki.NormalizeSerial's form could miss.
func (c *Client) GetByCertificateSN(ctx context.Context, serial string) (*register.Listing, error) {
	return c.Call(ctx, GetByCertificateSN, serial)
}

// Call performs one operation. Errors are *TransportError, *FaultError or
// *MalformedError.
func (c *Client) Call(ctx context.Context, op Op, param string) (*register.Listing, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(EncodeRequest(op, param)))
	if err != nil {
		return nil, &TransportError{Op: op, URL: c.url, Err: err}
	}
	req.Header.Set("Content-Type", "text/xml; charset=UTF-8")
	req.Header.Set("SOAPAction", `"`+op.Action()+`"`) // quoted, as SOAP 1.1 and NuSOAP write it
	req.Header.Set("User-Agent", "seosgw")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	answered := answeredCursor(resp.Header.Get("Date"), time.Since(start), c.zone)
	if resp.ContentLength > c.max {
		return nil, &MalformedError{Op: op, Msg: fmt.Sprintf("Content-Length %d", resp.ContentLength), Err: ErrTooLarge}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.max+1))
	if err != nil {
		return nil, c.transportError(ctx, op, err)
	}
	if int64(len(b)) > c.max {
		return nil, &MalformedError{Op: op, Msg: fmt.Sprintf("more than %d bytes", c.max), Err: ErrTooLarge}
	}
	l, err := DecodeResponse(op, b, resp.Header.Get("Content-Type"), c.zone)
	var fault *FaultError
	switch {
	case errors.As(err, &fault):
		fault.HTTPStatus = resp.StatusCode
		return nil, fault
	case resp.StatusCode != http.StatusOK:
		return nil, &TransportError{Op: op, URL: c.url, StatusCode: resp.StatusCode, Body: Snippet(b, 200)}
	case err != nil:
		return nil, err
	}
	l.AnsweredCursor = answered
	c.log.DebugContext(ctx, "register call", "op", string(op), "entities", len(l.Entities),
		"bytes", len(b), "duration_seconds", time.Since(start).Seconds())
	return l, nil
}

// answeredCursor is a time no later than when the register started on the
// answer, by the register's clock: its HTTP Date (whole seconds, so one
// more) less the call's duration. A cursor from it may fetch a change
// twice but never misses one.
func answeredCursor(date string, took time.Duration, zone *time.Location) string {
	t, err := http.ParseTime(date)
	if err != nil {
		return ""
	}
	return FormatDateTime(t.Add(-took-time.Second).Truncate(time.Second), zone)
}

func (c *Client) transportError(ctx context.Context, op Op, err error) error {
	var ne net.Error
	timeout := errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	return &TransportError{Op: op, URL: c.url, Timeout: timeout, Err: err}
}

// Snippet is the start of a body, at most n bytes, as one printable line
// for logs and reports: invalid UTF-8 replaced, control characters and runs
// of white space made one space, cut on a character boundary with "…".
func Snippet(b []byte, n int) string {
	cut := false
	if limit := 4*n + 4; len(b) > limit { // room for n characters after white space collapses
		for limit > 0 && !utf8.RuneStart(b[limit]) {
			limit--
		}
		b, cut = b[:limit], true
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "?"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s, cut = s[:i], true
	}
	if cut {
		s = strings.TrimRight(s, " ") + "…"
	}
	return s
}
