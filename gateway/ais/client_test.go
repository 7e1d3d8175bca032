package ais

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
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

// recordingTransport keeps the body of each request it carries.
type recordingTransport struct {
	next   http.RoundTripper
	bodies [][]byte
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		r.bodies = append(r.bodies, b)
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return r.next.RoundTrip(req)
}

// TestClientSendsDocumentedNames: what the Client sends uses the names
// openapi.yaml gives, every field of a correspondent and a service
// included, and the API reads each of them into the document.
func TestClientSendsDocumentedNames(t *testing.T) {
	f := newFixture(t)
	rec := &recordingTransport{next: f.srv.Client().Transport}
	c := &Client{BaseURL: f.srv.URL, Token: testToken, HTTP: &http.Client{Transport: rec}}
	doc := &Outgoing{Recipient: peer.GUID, Kind: "Заявление", About: "Издаване на удостоверение", Comment: "за регистрация",
		DocumentGUID: seos.NewGUID(), URI: &URI{RegisterIndex: "3", SequenceNumber: "17", ReceiptOrSigningDate: "2026-11-23"},
		Parent:     &Ref{GUID: seos.NewGUID(), Number: &Number{Number: "МТ-1", Date: "2026-11-01"}},
		DocComment: "бележка", ReqDateClose: "2026-12-23", AttentionTo: "г-н Петров", AddData: "<x>1</x>",
		Correspondents: []Correspondent{{Name: "Иван Петров", City: "София", Address: "ул. Шипка 1", EGN: "7501010010", IDCard: "640000000",
			BULSTAT: "000000005", EMail: "ivan@example.bg", Phone: "02 000 000", MobilePhone: "0888 000 000", MOL: "Петър Иванов",
			Comment: "заявител", Kind: "Corr_Applicant"}},
		Service:     &ServiceRef{Name: "Удостоверение за наследници", Type: "административна услуга", Code: "2079"},
		Attachments: []Attachment{{FileName: "a.pdf", MIMEType: "application/pdf", Comment: "скан", Content: "JVBERi0xLjQK"}},
	}
	q, created, err := c.Send(context.Background(), doc, "")
	if err != nil || !created {
		t.Fatalf("send: %+v %v %v", q, created, err)
	}
	if len(rec.bodies) != 1 {
		t.Fatalf("%d requests recorded", len(rec.bodies))
	}

	_, raw := loadOpenAPI(t)
	schemas := raw["components"].(map[string]any)["schemas"].(map[string]any)
	var sent map[string]any
	if err := json.Unmarshal(rec.bodies[0], &sent); err != nil {
		t.Fatal(err)
	}
	// check walks the JSON against a schema: every name it uses is one the
	// schema describes; for the objects filled in full, every described
	// name is used.
	full := map[string]bool{"Correspondent": true, "Service": true, "URI": true}
	var check func(v any, schema map[string]any, at string)
	check = func(v any, schema map[string]any, at string) {
		if ref, ok := schema["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			check(v, schemas[name].(map[string]any), name)
			return
		}
		if all, ok := schema["allOf"].([]any); ok {
			check(v, all[0].(map[string]any), at)
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				check(e, schema["items"].(map[string]any), at+"[]")
			}
		case map[string]any:
			props, _ := schema["properties"].(map[string]any)
			for k, e := range x {
				p, ok := props[k].(map[string]any)
				if !ok {
					t.Errorf("%s: the client sends %q, which openapi.yaml does not describe", at, k)
					continue
				}
				check(e, p, at+"."+k)
			}
			if full[at] {
				for k := range props {
					if _, ok := x[k]; !ok {
						t.Errorf("%s: %q is described but the client did not send it", at, k)
					}
				}
			}
		}
	}
	check(sent, schemas["Outgoing"].(map[string]any), "Outgoing")

	it, err := outbox.Get(context.Background(), f.db, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := it.Request.Document
	if len(d.Correspondents) != 1 || d.Service == nil {
		t.Fatalf("queued %+v", d)
	}
	cr := d.Correspondents[0]
	got := []string{cr.Name, cr.City, deref(cr.Address), deref(cr.EGN), deref(cr.IDCard), deref(cr.BULSTAT), deref(cr.EMail), deref(cr.Phone),
		deref(cr.MobilePhone), deref(cr.MOL), deref(cr.Comment), "", d.Service.Name, d.Service.Type, d.Service.Code}
	if cr.Kind != nil {
		got[11] = string(*cr.Kind)
	}
	w := doc.Correspondents[0]
	want := []string{w.Name, w.City, w.Address, w.EGN, w.IDCard, w.BULSTAT, w.EMail, w.Phone, w.MobilePhone, w.MOL, w.Comment, w.Kind,
		doc.Service.Name, doc.Service.Type, doc.Service.Code}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("queued correspondent and service\n%q\nwant\n%q", got, want)
	}
}
