package xmldsig

import (
	"fmt"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit/peakheap"
	"github.com/seosgw/seosgw/gateway/xmldoc"
)

// Message sizes the issue names: a plain letter, a scanned page, a large PDF.
var benchSizes = []struct {
	name string
	att  int // attachment bytes before base64
}{{"2KiB", 600}, {"1MiB", 750 << 10}, {"10MiB", 7680 << 10}}

func BenchmarkSign(b *testing.B) {
	p := getPKI(b)
	for _, s := range benchSizes {
		msg := message(b, s.att)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				doc, err := xmldoc.Parse(msg)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.signer(p.a, SHA256).Sign(doc); err != nil {
					b.Fatal(err)
				}
				if _, err := seos.WriteCompact(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify is what the endpoint does with a received message: read
// it strictly, validate it against the schema, check the signature. It
// reports the heap peak over the message size (the aim is under 4).
func BenchmarkVerify(b *testing.B) {
	p := getPKI(b)
	for _, s := range benchSizes {
		signed := signBytes(b, p.signer(p.a, SHA256), message(b, s.att))
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(signed)))
			b.ReportAllocs()
			var peak uint64
			for i := 0; i < b.N; i++ {
				pk := peakheap.Measure(func() {
					doc, err := xmldoc.Parse(signed)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := seos.FromDocument(doc); err != nil {
						b.Fatal(err)
					}
					if _, err := Verify(doc, Options{}); err != nil {
						b.Fatal(err)
					}
				})
				peak = max(peak, pk)
			}
			b.ReportMetric(float64(peak)/float64(len(signed)), "peak-heap/msg-size")
		})
	}
}

func TestMeasurePeakSeesAllocations(t *testing.T) {
	var keep []byte
	pk := peakheap.Measure(func() {
		keep = make([]byte, 32<<20)
		for i := range keep {
			keep[i] = 1
		}
		time.Sleep(5 * time.Millisecond)
	})
	if pk < 30<<20 {
		t.Errorf("peak %d, expected at least 30 MiB", pk)
	}
	_ = fmt.Sprint(len(keep))
}
