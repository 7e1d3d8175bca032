package ais

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := &Client{BaseURL: f.srv.URL, Token: testToken, HTTP: f.srv.Client()}
	doc := &Outgoing{Recipient: peer.Identifier, Kind: "Писмо", About: "Покана", Attachments: []Attachment{{FileName: "a.pdf", MIMEType: "application/pdf", Content: "JVBERi0xLjQK"}}}

	q, created, err := c.Send(ctx, doc, "aiskey-1")
	if err != nil || !created || q.ID == 0 {
		t.Fatalf("send: %+v %v %v", q, created, err)
	}
	again, created, err := c.Send(ctx, doc, "aiskey-1")
	if err != nil || created || again.ID != q.ID {
		t.Fatalf("repeat: %+v %v %v", again, created, err)
	}
	st, raw, err := c.Status(ctx, q.ID)
	if err != nil || st.State != "queued" || !strings.Contains(string(raw), `"history"`) {
		t.Fatalf("status: %+v %s %v", st, raw, err)
	}
	var b strings.Builder
	WriteStatus(&b, st)
	for _, want := range []string{"State:", "queued", st.DocumentGUID, "History:", "queued", "registration to " + peer.GUID} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("printed status lacks %q:\n%s", want, b.String())
		}
	}

	cases := []struct {
		name   string
		client *Client
		call   func(*Client) error
		code   string
		field  string
		status int
	}{
		{"invalid", c, func(c *Client) error { _, _, err := c.Send(ctx, &Outgoing{Recipient: peer.GUID}, ""); return err }, "invalid_request", "kind", 400},
		{"unknown", c, func(c *Client) error { _, _, err := c.Status(ctx, 4242); return err }, "not_found", "", 404},
		{"bad token", &Client{BaseURL: f.srv.URL, Token: "x"}, func(c *Client) error { _, _, err := c.Status(ctx, q.ID); return err }, "unauthorized", "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(tc.client)
			var e *APIError
			if !errors.As(err, &e) || e.Code != tc.code || e.Field != tc.field || e.HTTPStatus != tc.status {
				t.Fatalf("error %v, want %s %q %d", err, tc.code, tc.field, tc.status)
			}
		})
	}
	t.Run("no server", func(t *testing.T) {
		dead := &Client{BaseURL: "http://127.0.0.1:1", Token: testToken}
		if _, _, err := dead.Status(ctx, 1); err == nil || !strings.Contains(err.Error(), "seosgw serve") {
			t.Errorf("error %v", err)
		}
	})
}

func TestNewClient(t *testing.T) {
	for _, c := range []struct{ listen, base string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{":8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://[::1]:8080"},
		{"localhost:9", "http://localhost:9"},
	} {
		cl, err := NewClient(c.listen, "t")
		if err != nil || cl.BaseURL != c.base {
			t.Errorf("%s: %v %v", c.listen, cl, err)
		}
	}
	if _, err := NewClient("8080", "t"); err == nil {
		t.Error("a listen address without a port accepted")
	}
}
