package ais

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/textsafe"
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

// Documents lists sent documents in a state ("" = all), to a participant
// ("" = any), newest first; raw is the JSON as sent.
func (c *Client) Documents(ctx context.Context, state, peer string, limit int) (*DocumentList, []byte, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if peer != "" {
		q.Set("peer", peer)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/documents"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	l := &DocumentList{}
	_, raw, err := c.do(ctx, "GET", path, nil, nil, l)
	if err != nil {
		return nil, nil, err
	}
	return l, raw, nil
}

// Retry sends a failed or queued document again now.
func (c *Client) Retry(ctx context.Context, id int64, note string) (*Status, error) {
	return c.act(ctx, fmt.Sprintf("/documents/%d/retry", id), note)
}

// Cancel stops a queued or failed document from being sent.
func (c *Client) Cancel(ctx context.Context, id int64, note string) (*Status, error) {
	return c.act(ctx, fmt.Sprintf("/documents/%d/cancel", id), note)
}

func (c *Client) act(ctx context.Context, path, note string) (*Status, error) {
	body, err := json.Marshal(Action{Note: note})
	if err != nil {
		return nil, err
	}
	st := &Status{}
	if _, _, err := c.do(ctx, "POST", path, http.Header{"Content-Type": {"application/json"}}, body, st); err != nil {
		return nil, err
	}
	return st, nil
}

// RetryPeer makes every delivery waiting for a participant due now.
func (c *Client) RetryPeer(ctx context.Context, guid, note string) (*PeerRetry, error) {
	body, err := json.Marshal(Action{Note: note})
	if err != nil {
		return nil, err
	}
	r := &PeerRetry{}
	if _, _, err := c.do(ctx, "POST", "/participants/"+url.PathEscape(guid)+"/retry", http.Header{"Content-Type": {"application/json"}}, body, r); err != nil {
		return nil, err
	}
	return r, nil
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
			fmt.Fprintf(&b, "%-17s %s\n", label+":", textsafe.Field(v))
		}
	}
	// Multi-line texts (Cyrillic, then Latin) keep their lines, each
	// indented under the first, so no line of them passes for a label.
	lines := func(label, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-17s %s\n", label+":", textsafe.Block(v, strings.Repeat(" ", 18)))
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
	lines("Rejected because", st.Rejection)
	line("Expect close by", st.ExpectClose)
	lines("Receipt", st.Receipt)
	if len(st.History) > 0 {
		b.WriteString("History:\n")
		for _, e := range st.History {
			fmt.Fprintf(&b, "  %s  %-10s %s\n", e.At.Local().Format("2006-01-02 15:04:05 -07:00"), textsafe.Field(e.Event), textsafe.Field(e.Detail))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
