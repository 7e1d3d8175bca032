package testkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// Sign builds m, signs it as id (the SEOS profile, SHA-256) and writes it
// compactly, as a peer sends it.
func Sign(t testing.TB, id *pki.Identity, m *seos.Message) []byte {
	t.Helper()
	doc, err := m.Document()
	if err != nil {
		t.Fatal(err)
	}
	if err := (&xmldsig.Signer{Key: id.Key, Cert: id.Cert}).Sign(doc); err != nil {
		t.Fatal(err)
	}
	b, err := seos.WriteCompact(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Post sends a SOAP request body to url with the Submit headers, then the
// header pairs given, and returns the HTTP status and body.
func Post(ctx context.Context, c *http.Client, url string, body []byte, header ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", soap.ContentType)
	req.Header.Set("SOAPAction", `"`+soap.Action+`"`)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Submit posts a signed message in a Submit envelope and returns the reply
// message (nil for an empty SubmitResult) with its text. An error is a
// transport failure or an answer that is no SubmitResponse.
func Submit(ctx context.Context, c *http.Client, url string, signed []byte) (*seos.Message, []byte, error) {
	env, err := soap.Submit(signed)
	if err != nil {
		return nil, nil, err
	}
	status, body, err := Post(ctx, c, url, env)
	if err != nil {
		return nil, nil, err
	}
	result, err := soap.ParseSubmitResponse(body)
	if err != nil {
		return nil, nil, fmt.Errorf("HTTP %d: %w", status, err)
	}
	if len(result) == 0 {
		return nil, result, nil
	}
	m, _, err := seos.Parse(result)
	if err != nil {
		return nil, result, fmt.Errorf("the reply does not parse: %w", err)
	}
	return m, result, nil
}
