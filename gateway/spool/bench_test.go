package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/testkit/peakheap"
)

// BenchmarkDrop64MiB drops a 64 MiB file into the spool with its envelope
// and reports the peak Go heap of the scans that queue it, per byte of the
// file: the file is streamed into the request hash, the drop's key and the
// file store, never held whole.
func BenchmarkDrop64MiB(b *testing.B) {
	const size = 64 << 20
	e := newEnv(b, "")
	files, err := blob.Open(filepath.Join(b.TempDir(), "files"))
	if err != nil {
		b.Fatal(err)
	}
	e.svc.Files = files
	pdf := make([]byte, size)
	for i := range pdf {
		pdf[i] = byte(i*7 + i>>13)
	}
	var peak uint64
	b.SetBytes(size)
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		name := fmt.Sprintf("report%d", n)
		pdf[0] = byte(n) // a new document each round, not a repeat
		e.put("outbox/"+name+"/scan.pdf", pdf)
		e.put("outbox/"+name+".json", []byte(`{"recipient":"000000002","kind":"Отчет","attachments":[{"mimeType":"application/pdf","file":"`+name+`/scan.pdf"}]}`))
		b.StartTimer()
		p := peakheap.Measure(func() { e.scan(3) })
		peak = max(peak, p)
		b.StopTimer()
		if it := e.items(outbox.KindRegistration); len(it) != n+1 || it[n].Request.Document.Attachments[0].Stored.Size != size {
			b.Fatalf("queued %d documents; the last one's file %+v", len(it), it[len(it)-1].Request.Document.Attachments[0].Stored)
		}
		if f := e.files("failed"); len(f) != 0 {
			b.Fatalf("failed: %v", f)
		}
		os.RemoveAll(e.path("done"))
		os.MkdirAll(e.path("done"), dirMode)
		os.MkdirAll(e.path("done/receipts"), dirMode)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak)/size, "heap/file")
}
