package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
)

// aisNode is the AIS API of a node over a real database, on loopback, and
// a configuration file that points at it.
func aisNode(t *testing.T) (cfgPath string, svc *ais.Service) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.OpenGateway(ctx, filepath.Join(dir, "gw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ent := func(n int, eik, name string) register.Entity {
		return register.Entity{Identifier: eik, GUID: fmt.Sprintf("{0000000%d-0000-4000-8000-00000000000%d}", n, n), AdministrativeBodyName: name,
			Status: register.Active, LastChange: time.Now().UTC().Truncate(time.Second),
			Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен", URI: "https://x.obmen.local/seos", Status: register.Active, Version: "1"}}}
	}
	self, peer := ent(1, "000000001", "Община А"), ent(2, "000000002", "Министерство Б")
	cache := register.NewCache(db, clock.System)
	if err := cache.Apply(ctx, true, []register.Entity{self, peer}, "c"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc = &ais.Service{DB: db, Dir: cache, Policy: register.Policy{SelfGUID: self.GUID},
		Self: seos.Entity{Identifier: self.Identifier, AdministrativeBodyName: self.AdministrativeBodyName, GUID: self.GUID}, Clock: clock.System, Log: log}
	const token = "cli-test-token-1234567890"
	srv := httptest.NewServer(ais.NewAPI(svc, ais.StaticToken(token), log, nil))
	t.Cleanup(srv.Close)

	for _, f := range []string{"cert.pem", "key.pem", "ca.pem"} {
		os.WriteFile(filepath.Join(dir, f), []byte("placeholder: the CLI only checks that it exists"), 0o600)
	}
	os.WriteFile(filepath.Join(dir, "ais-token"), []byte(token+"\n"), 0o600)
	cfgPath = filepath.Join(dir, "seosgw.yaml")
	cfg := fmt.Sprintf(`participant: {guid: "%s", eik: "%s", name: "%s"}
tls: {cert: cert.pem, key: key.pem, ca: ca.pem}
register: {url: "https://register.obmen.local/"}
database: {path: gw.db}
ais: {listen: "%s", token_file: ais-token}
`, self.GUID, self.Identifier, self.AdministrativeBodyName, strings.TrimPrefix(srv.URL, "http://"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, svc
}

func TestSendAndStatus(t *testing.T) {
	cfg, svc := aisNode(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "scans"), 0o755)
	os.WriteFile(filepath.Join(dir, "scans", "Покана.pdf"), []byte("%PDF-1.4 покана"), 0o644)
	doc := filepath.Join(dir, "letter.json")
	os.WriteFile(doc, []byte(`{"recipient": "000000002", "kind": "Писмо", "about": "Покана",
  "attachments": [{"mimeType": "application/pdf", "file": "scans/Покана.pdf"}]}`), 0o644)

	code, out, errOut := cli(t, nil, "send", "--config", cfg, "--idempotency-key", "rec-77", doc)
	if code != 0 {
		t.Fatalf("send: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if !strings.Contains(errOut, "document "+id+" queued") {
		t.Errorf("send said %q", errOut)
	}
	it, err := outbox.Get(context.Background(), svc.DB, mustInt(t, id))
	if err != nil {
		t.Fatal(err)
	}
	att := it.Request.Document.Attachments
	if len(att) != 1 || att[0].FileName != "Покана.pdf" {
		t.Fatalf("queued attachments %+v", att)
	}
	if body, _ := att[0].Data(); string(body) != "%PDF-1.4 покана" {
		t.Errorf("attachment body %q", body)
	}

	// Flags after the file work too; the same key sends nothing new.
	code, out2, errOut := cli(t, nil, "send", doc, "--config", cfg, "--idempotency-key", "rec-77")
	if code != 0 || strings.TrimSpace(out2) != id || !strings.Contains(errOut, "not sent again") {
		t.Errorf("repeat: %d %q %q", code, out2, errOut)
	}

	code, out, errOut = cli(t, nil, "status", "--config", cfg, id)
	if code != 0 {
		t.Fatalf("status: %d %s", code, errOut)
	}
	for _, want := range []string{"State:", "queued", "History:", it.DocumentGUID} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = cli(t, nil, "status", "--config", cfg, "--json", id)
	var st ais.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.State != "queued" || fmt.Sprint(st.ID) != id {
		t.Errorf("status --json: %d %s", code, out)
	}
}

func TestSendErrors(t *testing.T) {
	cfg, _ := aisNode(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	cases := []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"no file", []string{"send", "--config", cfg}, 2, "usage"},
		{"two files", []string{"send", "--config", cfg, "a", "b"}, 2, "usage"},
		{"missing file", []string{"send", "--config", cfg, filepath.Join(dir, "none.json")}, 1, "none.json"},
		{"unknown field", []string{"send", "--config", cfg, write("a.json", `{"recipient":"000000002","kind":"x","to":"y"}`)}, 1, "to: unknown field"},
		{"missing attachment", []string{"send", "--config", cfg, write("b.json", `{"recipient":"000000002","kind":"x","attachments":[{"mimeType":"a/b","file":"nope.pdf"}]}`)}, 1, "attachments[0].file"},
		{"API refuses", []string{"send", "--config", cfg, write("c.json", `{"recipient":"999999999","kind":"Писмо"}`)}, 1, "recipient: 999999999 is not in the register (recipient_unknown)"},
		{"bad config", []string{"send", "--config", filepath.Join(dir, "none.yaml"), write("d.json", `{}`)}, 1, "config"},
		{"status unknown", []string{"status", "--config", cfg, "999"}, 1, "not_found"},
		{"status not a number", []string{"status", "--config", cfg, "abc"}, 1, "not a document id"},
		{"status no id", []string{"status", "--config", cfg}, 2, "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := cli(t, nil, c.args...)
			if code != c.code || !strings.Contains(errOut, c.say) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d saying %q", code, out, errOut, c.code, c.say)
			}
		})
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q is not an id", s)
	}
	return n
}
