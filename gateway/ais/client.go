package ais

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Client speaks to the AIS API of a local node; seosgw send and status use
// it, so the command line takes the same path as an AIS.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string
	HTTP    *http.Client
}

// NewClient is a client for the API listening on listen (ais.listen); a
// wildcard host is reached over loopback.
func NewClient(listen, token string) (*Client, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("ais.listen %q: %w", listen, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return &Client{BaseURL: "http://" + net.JoinHostPort(host, port), Token: token, HTTP: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// APIError is an error answer of the API.
type APIError struct {
	HTTPStatus int
	ErrorBody
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.HTTPStatus, e.Message)
	if e.Field != "" {
		s = fmt.Sprintf("%s (HTTP %d): %s: %s", e.Code, e.HTTPStatus, e.Field, e.Message)
	}
	return s
}

// Send posts a document; created is false when the API had it already
// (same idempotency key or DocumentGUID).
func (c *Client) Send(ctx context.Context, doc *Outgoing, idemKey string) (q *Queued, created bool, err error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, false, err
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	if idemKey != "" {
		hdr.Set("Idempotency-Key", idemKey)
	}
	q = &Queued{}
	status, _, err := c.do(ctx, "POST", "/documents", hdr, body, q)
	if err != nil {
		return nil, false, err
	}
	return q, status == http.StatusAccepted, nil
}

// Status fetches an outgoing document's status; raw is the JSON as sent.
func (c *Client) Status(ctx context.Context, id int64) (*Status, []byte, error) {
	st := &Status{}
	_, raw, err := c.do(ctx, "GET", fmt.Sprintf("/documents/%d", id), nil, nil, st)
	if err != nil {
		return nil, nil, err
	}
	return st, raw, nil
}

func (c *Client) do(ctx context.Context, method, path string, hdr http.Header, body []byte, into any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+Prefix+path, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("AIS API at %s: %w (is seosgw serve running?)", c.BaseURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("AIS API: read the answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		e := &APIError{HTTPStatus: resp.StatusCode}
		if json.Unmarshal(raw, &e.ErrorBody) != nil || e.Code == "" {
			e.Code, e.Message = "http_error", strings.TrimSpace(string(raw))
		}
		return resp.StatusCode, raw, e
	}
	if into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("AIS API: unexpected answer: %w", err)
		}
	}
	return resp.StatusCode, raw, nil
}

// WriteStatus prints a document's status for people.
func WriteStatus(w io.Writer, st *Status) error {
	var b strings.Builder
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-17s %s\n", label+":", v)
		}
	}
	line("Document", fmt.Sprintf("%d", st.ID))
	line("DocumentGUID", st.DocumentGUID)
	line("Recipient", st.Recipient)
	line("E-mail", st.Email)
	line("Message-ID", st.MessageID)
	line("State", st.State)
	line("Attempts", fmt.Sprintf("%d", st.Attempts))
	line("Next attempt", st.NextAttempt)
	line("Error", st.Error)
	if st.PeerNumber != nil {
		line("Their number", st.PeerNumber.Number+" of "+st.PeerNumber.Date)
	}
	if u := st.PeerURI; u != nil {
		line("Their URI", strings.TrimSpace(fmt.Sprintf("index %s, number %s, date %s", u.RegisterIndex, u.SequenceNumber, u.ReceiptOrSigningDate)))
	}
	// Multi-line texts (Cyrillic, then Latin) keep their lines, indented.
	line("Rejected because", strings.ReplaceAll(st.Rejection, "\n", "\n"+strings.Repeat(" ", 18)))
	line("Expect close by", st.ExpectClose)
	line("Receipt", strings.ReplaceAll(st.Receipt, "\n", "\n"+strings.Repeat(" ", 18)))
	if len(st.History) > 0 {
		b.WriteString("History:\n")
		for _, e := range st.History {
			fmt.Fprintf(&b, "  %s  %-10s %s\n", e.At.Local().Format("2006-01-02 15:04:05 -07:00"), e.Event, e.Detail)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
