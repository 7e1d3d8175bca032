package acceptance_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
)

// BenchmarkEvaluateNoAttachments measures what the policy adds to a
// message without attachments (the budget: 5 ms for 2 KiB):
// kind matching over the maritime lists and the requisite phrases.
func BenchmarkEvaluateNoAttachments(b *testing.B) {
	p := acceptancetest.NewPKI(b)
	path := exampleRules(b, p.CADir(b), "unix:/nonexistent/clamd.sock", nil)
	pol, err := acceptance.Load(path, acceptance.WithRegistry(prometheus.NewRegistry()), acceptance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	about := strings.Repeat("Относно регистрация на кораб „Света Анна“ в пристанище Варна. ", 20) // ~2 KiB with the rest
	in := acceptance.Input{DocKind: "Заповед за командировка в чужбина", DocAbout: about, DocComment: requisitesText,
		Comment: "моля за регистрация", Sender: acceptance.Sender{EIK: senderEIK}}
	if n := len(in.DocAbout) + len(in.DocComment) + len(in.Comment); n < 2048 {
		b.Fatalf("input is %d bytes", n)
	}
	ctx := context.Background()
	// Held: nothing attached carries the author's signature.
	if v := pol.Evaluate(ctx, in); v.Outcome != acceptance.Hold || len(v.Problems()) != 1 {
		b.Fatalf("outcome %s: %s", v.Outcome, v.Summary())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pol.Evaluate(ctx, in)
	}
}
