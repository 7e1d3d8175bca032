package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/loadtest"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// BenchmarkInboundSubmit is the first row, on whole processes: a
// `seosgw serve` receiver (mutual TLS, signature checks, an fsync'd store,
// signed replies) loaded by this process with b.N registrations of 2 KiB,
// 64 at a time over kept-alive connections. gateway-cpu-ms/submit is the
// receiver's CPU per Submit from its own /metrics; ns/op is wall time per
// Submit with the load generator on the same cores.
func BenchmarkInboundSubmit(b *testing.B) {
	dir := b.TempDir()
	r := newReceiver(b, dir, filepath.Join(dir, "b.db"))
	r.fields["ENDPOINT"] = ", max_concurrent: 64, max_concurrent_per_peer: 64" // one load generator, one certificate
	writeConfig(b, r.cfg, r.fields)
	node := r.start(b, filepath.Join(dir, "b.log"))
	defer node.Stop(syscall.SIGTERM)
	o := loadtest.Options{From: r.a.entity, To: r.b.entity, Identity: r.a.id, URL: r.url, N: b.N, C: 64, Size: 1200,
		TLS:     testkit.ClientTLS(r.a.id, r.tp.Authority.Pool(), "b.obmen.local"),
		Metrics: "http://" + r.ops + "/metrics"}
	envs, err := loadtest.Prepare(o)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(envs[0])))
	b.ResetTimer()
	rep, err := loadtest.Send(context.Background(), o, envs)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Accepted != b.N {
		b.Fatalf("%d of %d accepted: %s", rep.Accepted, b.N, rep.FirstProblem)
	}
	b.ReportMetric(float64(rep.CPUPerSubmit.Nanoseconds())/1e6, "gateway-cpu-ms/submit")
	b.ReportMetric(rep.Throughput(), "submits/s")
	b.ReportMetric(float64(rep.P99.Nanoseconds())/1e6, "p99-ms")
	// The floor, measured now on the same cores: the CPU time of one
	// RSA-2048 signature, which every reply needs.
	b.ReportMetric(float64(rsaSignCPU(b, r.b.id.Key).Nanoseconds())/1e6, "rsa-sign-cpu-ms")
}

// rsaSignCPU is the CPU time one RSA PKCS#1 v1.5 SHA-256 signature takes
// here (this process's, over a run of them).
func rsaSignCPU(b *testing.B, key crypto.Signer) time.Duration {
	digest := sha256.Sum256([]byte("floor"))
	const n = 300
	start := processCPU(b)
	for i := 0; i < n; i++ {
		if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	return (processCPU(b) - start) / n
}

// processCPU is this process's user and system time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLargeDocument is the 64 MiB row: a 64 MiB PDF sent
// through A's AIS API to B and back from B to A, every limit at its
// default, read out of the receiver's AIS API byte for byte. It reports
// each gateway process's peak RSS (VmHWM) over the message's size on the
// wire (85 MiB of base64 and envelope).
func BenchmarkLargeDocument(b *testing.B) {
	const size = 64 << 20
	pdf := make([]byte, size)
	rand.Read(pdf)
	copy(pdf, "%PDF-1.7\n")
	sum := sha256.Sum256(pdf)
	content := base64.StdEncoding.EncodeToString(pdf)
	wire := float64(len(content) + 8<<10) // the message: base64 plus envelope
	for i := 0; i < b.N; i++ {
		x := newExchange(b, nil)
		x.a.start()
		x.b.start()
		for _, dir := range []struct{ from, to *gateway }{{x.a, x.b}, {x.b, x.a}} {
			doc := &ais.Outgoing{Recipient: dir.to.p.entity.GUID, Kind: "Писмо", About: "голям документ", Comment: "за регистрация",
				Attachments: []ais.Attachment{{FileName: "голям.pdf", MIMEType: "application/pdf", Content: content}}}
			q, _, err := dir.from.api.Send(context.Background(), doc, "")
			if err != nil {
				b.Fatal(err)
			}
			dir.from.waitFor(q.ID, 5*time.Minute, state("waiting_registration"))
			got := dir.to.receivedAttachment(q.DocumentGUID)
			if got != sum {
				b.Fatal("the document arrived changed")
			}
		}
		for _, g := range []*gateway{x.a, x.b} {
			rss, err := g.node.PeakRSS()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(rss)/wire, "peak-rss-"+map[bool]string{true: "a", false: "b"}[g == x.a]+"/msg")
			b.ReportMetric(float64(rss)/(1<<20), "peak-rss-"+map[bool]string{true: "a", false: "b"}[g == x.a]+"-MiB")
		}
		x.a.node.Stop(syscall.SIGTERM)
		x.b.node.Stop(syscall.SIGTERM)
	}
}

// receivedAttachment reads the first attachment of a received document
// from the node's AIS API and returns its SHA-256.
func (g *gateway) receivedAttachment(docGUID string) [32]byte {
	g.t.Helper()
	var id int64
	db := testkit.OpenDB(g.t, g.db)
	if err := db.QueryRow(`SELECT id FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(docGUID)).Scan(&id); err != nil {
		g.t.Fatalf("not received: %v", err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s%s/inbox/%d/attachments/1", g.api.BaseURL, ais.Prefix, id), nil)
	req.Header.Set("Authorization", "Bearer "+g.api.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil || resp.StatusCode != 200 {
		g.t.Fatalf("attachment: HTTP %d %v", resp.StatusCode, err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
