package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register/testregister"
)

// A certificate renewal as the runbook has it, with two seosgw processes
// and the test register, and the swap made too early: A makes a key and a
// request (seosgw pki csr); DAEU issues the certificate and enters it in
// the register; A's copy sees it; A swaps by SIGHUP while B's copy still
// lists the old certificate. B refuses A in the TLS handshake (its
// certificate is no participant's in B's copy) and A retries; B cannot deliver
// its own notification to A (A's server certificate is not the one B's copy
// lists) and retries too. Once B's copy follows, both arrive: no document
// is lost or failed.
func TestCertificateRenewalBetweenTwoGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	tp, ps := participants(t, dir, "a.obmen.local", "b.obmen.local", confRegisterHost)
	ctx := context.Background()

	// The test register, as its own process, administered with seosgw
	// register admin like DAEU's staff would.
	regDB, regListen := filepath.Join(dir, "register.db"), testkit.FreeAddr(t)
	regURL := "https://" + regListen + "/service/"
	// Both copies are refreshed by hand (seosgw register sync), so that B's
	// stays stale exactly as long as the test needs.
	fields := map[string]string{"REGISTER": regURL, "REFRESH": "1h"}
	a := newGateway(t, dir, tp, ps["a.obmen.local"], fields)
	b := newGateway(t, dir, tp, ps["b.obmen.local"], fields)
	reg, err := testregister.Open(ctx, regDB, testregister.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*gateway{a, b} {
		if _, err := reg.Add(ctx, g.p.registerEntity(g.url()), nil); err != nil {
			t.Fatal(err)
		}
	}
	reg.Close()
	files := tp.Hosts[confRegisterHost]
	register := testkit.Start(t, filepath.Join(dir, "register.log"), "register", "serve", "--db", regDB, "--listen", regListen,
		"--tls-cert", files.Cert, "--tls-key", files.Key, "--client-ca", tp.CACert)
	register.WaitTCP(t, regListen)
	a.start()
	b.start()
	for _, g := range []*gateway{a, b} {
		g.node.WaitOutput(t, `"msg":"register synced"`) // the full listing at start
	}
	bdb := testkit.OpenDB(t, b.db)

	first, firstDoc := a.send(1, b)
	a.waitFor(first, 20*time.Second, state("waiting_registration"))
	oldSerial := pki.SerialHex(a.p.id.Cert)

	// A asks for its new certificate; DAEU issues it and enters it.
	out, code := testkit.Run(t, "pki", "csr", "--config", a.cfg, "--out", dir, "--name", "a-renewal")
	if code != 0 {
		t.Fatalf("pki csr: %s", out)
	}
	csrPEM, err := os.ReadFile(filepath.Join(dir, "a-renewal.csr"))
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseRequest(csrPEM)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := tp.Authority.IssueFor(csr)
	if err != nil {
		t.Fatal(err)
	}
	newSerial := pki.SerialHex(renewed)
	renewedPath := filepath.Join(dir, "a-renewal.pem")
	if err := os.WriteFile(renewedPath, (&pki.Identity{Cert: renewed}).CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := testkit.Run(t, "register", "admin", "set-cert", "--db", regDB, a.p.entity.GUID, "--cert", renewedPath); code != 0 {
		t.Fatalf("register admin set-cert: %s", out)
	}
	// A's copy follows (its grace window opens); B's does not yet.
	if out, code := testkit.Run(t, "register", "sync", "--config", a.cfg); code != 0 || !strings.Contains(out, "transport certificate "+oldSerial+" -> "+newSerial) {
		t.Fatalf("A's register sync: %d\n%s", code, out)
	}

	// A swaps: the new files over the old ones, then SIGHUP.
	for _, f := range []struct{ from, to string }{{filepath.Join(dir, "a-renewal-key.pem"), a.p.files.Key}, {renewedPath, a.p.files.Cert}} {
		if err := os.Rename(f.from, f.to); err != nil {
			t.Fatal(err)
		}
	}
	a.node.Signal(t, syscall.SIGHUP)
	a.node.WaitOutput(t, "transport certificate swapped without a restart")
	if !strings.Contains(a.node.Output(), `"new_serial":"`+newSerial+`"`) {
		t.Fatalf("A swapped to another certificate:\n%s", grepLines(a.node.Output(), "swapped"))
	}

	// B registers the first document: its notification to A cannot go
	// while B's copy lists A's old certificate.
	var inboxID int64
	if err := bdb.QueryRow(`SELECT id FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(firstDoc)).Scan(&inboxID); err != nil {
		t.Fatal(err)
	}
	if code, body := b.post(fmt.Sprintf("/api/v1/inbox/%d/register", inboxID), `{"number":{"number":"Б-7","date":"2026-11-23"}}`); code != 202 {
		t.Fatalf("register at B: %d %s", code, body)
	}
	// A sends the second: B's handshake refuses A's new certificate (B
	// checks the register there, before any request), A retries.
	second, secondDoc := a.send(2, b)
	st := a.waitFor(second, 20*time.Second, func(st *ais.Status) bool {
		return hasEvent(st, "retry", "the recipient refused our transport certificate") || st.State == "failed"
	})
	if st.State != "sending" {
		t.Fatalf("within the grace window: %+v", st)
	}
	if c := testkit.CountDocument(t, bdb, secondDoc); c != 0 {
		t.Fatalf("B took the second document from a certificate its copy does not list")
	}
	b.node.WaitOutput(t, `"reason":"tls_not_registered"`) // B's notification to A waits too

	// B's copy follows: both documents arrive.
	if out, code := testkit.Run(t, "register", "sync", "--config", b.cfg); code != 0 || !strings.Contains(out, newSerial) {
		t.Fatalf("B's register sync: %d\n%s", code, out)
	}
	st = a.waitFor(second, 30*time.Second, state("waiting_registration"))
	if hasEvent(st, "failed", "") || st.DocumentGUID != secondDoc {
		t.Errorf("the second document: %+v", st)
	}
	if c := testkit.CountDocument(t, bdb, secondDoc); c != 1 {
		t.Errorf("B holds the second document %d times", c)
	}
	st = a.waitFor(first, 30*time.Second, state("registered"))
	if st.PeerNumber == nil || st.PeerNumber.Number != "Б-7" || hasEvent(st, "failed", "") {
		t.Errorf("the first document: %+v", st)
	}

	metrics := getText(t, "http://"+a.ops+"/metrics")
	for _, want := range []string{
		`seosgw_transport_certificate_reloads_total{result="swapped",trigger="sighup"} 1`,
		`seosgw_transport_certificate_info{serial="` + newSerial + `"} 1`,
		"seosgw_transport_certificate_registered 1",
		"seosgw_transport_certificate_rotation_grace 1",
		`seosgw_outbox_items{state="failed"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("A's metrics lack %s:\n%s", want, grepLines(metrics, "transport_certificate"))
		}
	}
	if !strings.Contains(metrics, `seosgw_outbound_failures_total{reason="tls_peer_bad_certificate"}`) ||
		strings.Contains(metrics, `seosgw_outbound_failures_total{reason="tls_peer_bad_certificate"} 0`) {
		t.Errorf("no refused handshake counted:\n%s", grepLines(metrics, "outbound_failures"))
	}
	if m := getText(t, "http://"+b.ops+"/metrics"); !strings.Contains(m, `seosgw_inbound_tls_refusals_total{reason="not_in_register"}`) ||
		strings.Contains(m, `seosgw_inbound_tls_refusals_total{reason="not_in_register"} 0`) {
		t.Errorf("B did not count its refusal:\n%s", grepLines(m, "refusals"))
	}
}

// hasEvent reports whether a document's history has event, with detail
// containing what ("" for any).
func hasEvent(st *ais.Status, event, what string) bool {
	for _, e := range st.History {
		if e.Event == event && strings.Contains(e.Detail, what) {
			return true
		}
	}
	return false
}
