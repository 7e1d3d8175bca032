package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/loadtest"
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
