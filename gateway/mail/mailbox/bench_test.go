package mailbox_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/mail/mailbox"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/testkit/peakheap"
)

// BenchmarkDocumentMail20MiB: a document with a 20 MiB file in the file
// store, signed into a mail and sent to a submission server on loopback.
// peak-heap-MiB is the most live heap the whole of it held (compose, sign,
// queue, send); heap/attachment its ratio to the file: the file and the
// mail stream, so it stays a small fraction, whatever the file's size.
func BenchmarkDocumentMail20MiB(b *testing.B) {
	const size = 20 << 20
	ctx := context.Background()
	db := testkit.DB(b)
	files, err := blob.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	k, err := files.Copy(io.LimitReader(rand.Reader, size), 0)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := smime.NewSigner(testkit.NewPKI(b, "bench signing CA", nil).Host(b, "marad.example"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	box, err := mailbox.New(mailbox.Options{DB: db, Files: files, Input: mailinput.New(mailinput.Options{SpoolDir: b.TempDir()}),
		Composer: &notice.Composer{Signer: signer, From: &mail.Address{Address: official}, Now: time.Now, Files: files}, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	sub := testkit.StartSubmission(b, false)
	sub.Discard = true
	sender, err := mailq.NewSender(db, mailq.Options{Server: sub.Addr, TLS: mailq.TLSNone, HeloName: "gw.test", Files: files, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	doc := &seos.Document{Kind: "Писмо", Attachments: []seos.Attachment{{FileName: "голям.pdf", MIMEType: "application/pdf",
		Stored: &seos.StoredBody{Size: k.Size, Blob: k.Ref}}}}
	var peak uint64
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		doc.ID = seos.DocumentID{GUID: seos.NewGUID()}
		p := peakheap.Measure(func() {
			if err := store.InTx(ctx, db, func(tx *sql.Tx) error {
				_, _, err := box.Send(ctx, tx, "ivan@example.bg", doc, "")
				return err
			}); err != nil {
				b.Fatal(err)
			}
			if n, err := sender.SendDue(ctx); err != nil || n != 1 {
				b.Fatalf("sent %d: %v", n, err)
			}
		})
		peak = max(peak, p)
	}
	b.StopTimer()
	if got := sub.Got(); got[len(got)-1].Size < size*4/3 {
		b.Fatalf("the server took %d bytes; the file alone is %d as base64", got[len(got)-1].Size, size*4/3)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak)/size, "heap/attachment")
}
