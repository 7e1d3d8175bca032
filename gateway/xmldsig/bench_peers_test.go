package xmldsig

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/integration/extools"
)

// The same work done by the other stacks, for the README's ratios. The .NET
// peer times sign+verify in-process with its own `bench` verb; xmlsec1 is
// timed per run, process start included (it has no in-process loop).

func BenchmarkDotnetPeer(b *testing.B) {
	p := getPKI(b)
	pfx := peerPFX(b, p)
	for _, s := range benchSizes {
		in := writeTemp(b, "in.xml", message(b, s.att))
		b.Run(s.name, func(b *testing.B) {
			n := max(b.N, 3)
			r := extools.Peer(b, "bench", in, pfx, "test", strconv.Itoa(n))
			if !r.OK() {
				b.Fatalf(".NET bench: %s %s", r.Stdout, r.Stderr)
			}
			var signMs, verifyMs float64
			if _, err := fmt.Sscanf(strings.TrimSpace(r.Stdout), "sign_ms %f verify_ms %f", &signMs, &verifyMs); err != nil {
				b.Fatalf("unexpected output %q", r.Stdout)
			}
			b.ReportMetric(signMs*1e6, "sign-ns/op")
			b.ReportMetric(verifyMs*1e6, "verify-ns/op")
		})
	}
}

func BenchmarkXmlsec1Verify(b *testing.B) {
	p := getPKI(b)
	bin := extools.Require(b, "xmlsec1")
	for _, s := range benchSizes {
		file := writeTemp(b, "signed.xml", signBytes(b, p.signer(p.a, SHA256), message(b, s.att)))
		b.Run(s.name, func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if r := extools.Run(b, nil, bin, "--verify", "--enabled-reference-uris", "empty", "--trusted-pem", p.caPEM, file); !r.OK() {
					b.Fatal(r.Stderr)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "verify-ns/op")
		})
	}
}
