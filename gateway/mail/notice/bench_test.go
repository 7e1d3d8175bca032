package notice_test

import (
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/testkit/peakheap"
)

// BenchmarkRefusal20MiB: a refusal attaching a 20 MiB received mail kept
// in the file store, signed into the file store. peak-heap-MiB is the most
// live heap composing it held; heap/mail its ratio to the received mail:
// the mail streams from file to file, so it stays a small fraction.
func BenchmarkRefusal20MiB(b *testing.B) {
	const size = 20 << 20
	files, err := blob.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	k, err := files.Copy(io.LimitReader(rand.Reader, size), 0) // 8-bit: attached as base64
	if err != nil {
		b.Fatal(err)
	}
	signer, err := smime.NewSigner(testkit.NewPKI(b, "bench signing CA", nil).Host(b, "marad.example"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	c := &notice.Composer{Signer: signer, From: &mail.Address{Address: "ebma@marad.example"}, Now: time.Now, Files: files}
	var peak uint64
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		raw, err := files.Open(k.Ref)
		if err != nil {
			b.Fatal(err)
		}
		o := notice.Original{To: "ivan@example.bg", Subject: "Заявление", Raw: raw, RawSize: k.Size}
		p := peakheap.Measure(func() {
			m, err := c.Refusal(o, "Отказ: файлът съдържа вирус.")
			if err != nil {
				b.Fatal(err)
			}
			if m.BodyFile == "" || len(m.Body) != 0 || m.Size < size*4/3 {
				b.Fatalf("the refusal: file %q, %d bytes in memory, size %d", m.BodyFile, len(m.Body), m.Size)
			}
		})
		raw.Close()
		peak = max(peak, p)
	}
	b.StopTimer()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak)/size, "heap/mail")
}
