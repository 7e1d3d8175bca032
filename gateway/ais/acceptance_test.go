package ais

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// judged records a verdict on a checking document as the judge does.
func (f *fixture) judged(doc seos.Document, v *acceptance.Verdict) int64 {
	f.t.Helper()
	id := testkit.ReceiveIn(f.t, f.db, peer.Node(), doc, f.clk.Now(), inbox.Checking)
	upd := &inbox.Update{State: inbox.Received, Verdict: v}
	if v.Outcome == acceptance.Reject {
		upd.State, upd.Reason = inbox.Rejected, v.RejectionReason()
	}
	if err := inbox.Apply(context.Background(), f.db, id, upd, f.clk.Now()); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func heldVerdict(subject string) *acceptance.Verdict {
	return &acceptance.Verdict{Policy: "тест", Outcome: acceptance.Hold, Checks: []acceptance.Check{
		{Rule: "kind", Status: acceptance.Unknown, Mode: acceptance.Enforce, Effect: acceptance.Hold,
			Reason: acceptance.Text{BG: "видът не е в списъците", Latin: "vidat ne e v spisatsite", EN: "unknown kind"}},
		{Rule: "virus", Subject: subject, Status: acceptance.Fail, Mode: acceptance.Enforce, Effect: acceptance.Hold,
			Reason: acceptance.Text{BG: "файлът съдържа вирус", Latin: "faylat sadarzha virus", EN: "infected: Seosgw.Test.EICAR.UNOFFICIAL"}},
		{Rule: "requisite.receipt_confirmation", Status: acceptance.Fail, Mode: acceptance.Advise, Effect: acceptance.Hold,
			Reason: acceptance.Text{BG: "липсва", Latin: "lipsva", EN: "missing"}},
	}}
}

// TestAPIAcceptance: a document the policy is checking is nowhere in the
// API; a judged one shows its verdict (every check on its own page, the
// outcome and reasons in lists), a held one needs review, and an attachment
// found infected is not handed out.
func TestAPIAcceptance(t *testing.T) {
	f := newFixture(t)
	checking := testkit.ReceiveIn(t, f.db, peer.Node(), receivedLetter(), f.clk.Now(), inbox.Checking)
	for _, c := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/api/v1/inbox/%d", checking)},
		{"GET", fmt.Sprintf("/api/v1/inbox/%d/attachments/1", checking)},
		{"POST", fmt.Sprintf("/api/v1/inbox/%d/reject", checking)},
	} {
		if code, _, body := f.do(c.method, c.path, `{"reason":"не"}`); code != 404 {
			t.Errorf("%s %s while checking: %d %s", c.method, c.path, code, body)
		}
	}
	if code, _, body := f.do("GET", "/api/v1/inbox?state=checking", nil); code != 400 || !strings.Contains(string(body), "still checking") {
		t.Errorf("state=checking: %d %s", code, body)
	}

	doc := receivedLetter()
	held := f.judged(doc, heldVerdict(doc.Attachments[1].FileName))
	code, _, body := f.do("GET", fmt.Sprintf("/api/v1/inbox/%d", held), nil)
	var one ReceivedDocument
	decodeInto(t, body, &one)
	if code != 200 || !one.NeedsReview || one.Acceptance == nil || one.Acceptance.Outcome != acceptance.Hold ||
		len(one.Acceptance.Checks) != 3 || len(one.Acceptance.Reasons) != 2 || one.Acceptance.Reasons[0].Reason.Latin != "vidat ne e v spisatsite" {
		t.Errorf("held document: %d %s", code, body)
	}
	code, _, body = f.do("GET", "/api/v1/inbox", nil)
	var list InboxList
	decodeInto(t, body, &list)
	if code != 200 || len(list.Items) != 1 || list.Items[0].ID != held || list.Items[0].Acceptance.Checks != nil || len(list.Items[0].Acceptance.Reasons) != 2 {
		t.Errorf("list: %d %s", code, body)
	}
	if code, _, _ := f.do("GET", fmt.Sprintf("/api/v1/inbox/%d/attachments/1", held), nil); code != 200 {
		t.Errorf("a clean attachment: %d", code)
	}
	if code, _, body := f.do("GET", fmt.Sprintf("/api/v1/inbox/%d/attachments/2", held), nil); code != 409 || !strings.Contains(string(body), "EICAR") {
		t.Errorf("an infected attachment: %d %s", code, body)
	}
	// The clerk decides a held document as any other: registering it sends
	// the bilingual receipt with DS_REGISTERED.
	if code, _, body := f.do("POST", fmt.Sprintf("/api/v1/inbox/%d/register", held), `{"number":{"number":"Б-7","date":"2026-11-24"}}`); code != 202 {
		t.Fatalf("register: %d %s", code, body)
	}
	items := f.outboxItems(outbox.KindStatus)
	if len(items) != 1 || items[0].Request.Status.Status != seos.StatusRegistered ||
		!strings.Contains(items[0].Request.Status.AddData.Receipt(), "рег. № Б-7 от 24.11.2026.\nPotvarzhdavame") {
		t.Errorf("queued: %+v", items[0].Request.Status)
	}
	code, _, body = f.do("GET", fmt.Sprintf("/api/v1/inbox/%d", held), nil)
	decodeInto(t, body, &one)
	if one.NeedsReview || !strings.HasPrefix(one.Receipt, "Потвърждаваме получаването") || !strings.Contains(one.Receipt, "reg. № Б-7 ot 24.11.2026") {
		t.Errorf("after registration: %d %s", code, body)
	}
}
