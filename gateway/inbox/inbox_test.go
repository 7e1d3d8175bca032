package inbox_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

var states = []inbox.State{inbox.Checking, inbox.Received, inbox.Registered, inbox.Rejected, inbox.Closed, inbox.Stopped}

// TestTransitions: every pair of states against the table (PROTOCOL §5;
// the acceptance policy's verdict out of checking), what each state is
// called on the wire, and which the AIS sees.
func TestTransitions(t *testing.T) {
	allowed := map[[2]inbox.State]bool{
		{inbox.Checking, inbox.Received}:   true,
		{inbox.Checking, inbox.Rejected}:   true,
		{inbox.Received, inbox.Registered}: true,
		{inbox.Received, inbox.Rejected}:   true,
		{inbox.Registered, inbox.Closed}:   true,
		{inbox.Registered, inbox.Stopped}:  true,
	}
	for _, from := range states {
		for _, to := range states {
			if got := inbox.CanMove(from, to); got != allowed[[2]inbox.State{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
		}
		if !from.Valid() {
			t.Errorf("%s not valid", from)
		}
		if from.Visible() != (from != inbox.Checking) {
			t.Errorf("%s visible to the AIS: %v", from, from.Visible())
		}
	}
	for _, s := range []inbox.State{"", "archived", "REGISTERED"} {
		if s.Valid() || s.Visible() || inbox.CanMove(inbox.Received, s) || inbox.CanMove(s, inbox.Registered) {
			t.Errorf("%q taken for a state", s)
		}
	}
	wire := map[inbox.State]seos.DocStatus{inbox.Checking: seos.StatusWaitRegistration, inbox.Received: seos.StatusWaitRegistration, inbox.Registered: seos.StatusRegistered,
		inbox.Rejected: seos.StatusRejected, inbox.Closed: seos.StatusClosed, inbox.Stopped: seos.StatusStopped}
	for s, want := range wire {
		if got := s.DocStatus(); got != want {
			t.Errorf("%s is %s on the wire, want %s", s, got, want)
		}
	}
}

func letter() seos.Document {
	return seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо",
		Attachments: []seos.Attachment{{FileName: "писмо.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF писмо"))}}}
}

// TestApplyAndReport: what the AIS records is what the sender is told.
func TestApplyAndReport(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	sender := testkit.Participant(2, "000000002", "Министерство")
	from := sender.Node()
	uri := &seos.DocumentURI{RegisterIndex: (*seos.Integer)(seos.Str("3")), SequenceNumber: (*seos.Integer)(seos.Str("17"))}
	cases := []struct {
		name  string
		steps []inbox.Update
		want  seos.StatusResponse // DocID.GUID filled in
	}{
		{"received", nil, seos.StatusResponse{Status: seos.StatusWaitRegistration}},
		{"registered with a number", []inbox.Update{{State: inbox.Registered, ID: &seos.DocumentID{Number: &seos.DocumentNumber{Number: "94-1", Date: "2026-11-24"}},
			ExpectClose: "2026-12-24"}},
			seos.StatusResponse{DocID: seos.DocumentID{Number: &seos.DocumentNumber{Number: "94-1", Date: "2026-11-24"}}, Status: seos.StatusRegistered,
				ExpectCloseDate: (*seos.Date)(seos.Str("2026-12-24"))}},
		{"registered with a URI, then closed", []inbox.Update{{State: inbox.Registered, ID: &seos.DocumentID{URI: uri}}, {State: inbox.Closed}},
			seos.StatusResponse{DocID: seos.DocumentID{URI: uri}, Status: seos.StatusClosed}},
		{"rejected", []inbox.Update{{State: inbox.Rejected, Reason: "не е наш"}},
			seos.StatusResponse{Status: seos.StatusRejected, RejectionReason: seos.Str("не е наш")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := letter()
			id := testkit.Receive(t, db, from, doc, t0)
			for i, u := range c.steps {
				if err := inbox.Apply(ctx, db, id, &u, t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			it, err := inbox.Get(ctx, db, id)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.DocID.GUID = doc.ID.GUID
			if got := it.StatusResponse(); !reflect.DeepEqual(got, &want) {
				t.Errorf("reported %+v, want %+v", got, want)
			}
			if len(it.Attachments) != 1 || it.Attachments[0].FileName != "писмо.pdf" {
				t.Errorf("attachments %+v", it.Attachments)
			}
		})
	}
}

func TestReceivedIDsAndPruning(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	sender := testkit.Participant(2, "000000002", "Министерство")
	from := sender.Node()
	ids := map[inbox.State][]int64{}
	for _, st := range states {
		for range 2 {
			arrive := inbox.Received
			if st == inbox.Checking {
				arrive = inbox.Checking
			}
			id := testkit.ReceiveIn(t, db, from, letter(), t0, arrive)
			var steps []inbox.State
			switch st {
			case inbox.Registered, inbox.Rejected:
				steps = []inbox.State{st}
			case inbox.Closed, inbox.Stopped:
				steps = []inbox.State{inbox.Registered, st}
			}
			for _, s := range steps {
				if err := inbox.Apply(ctx, db, id, &inbox.Update{State: s}, t0); err != nil {
					t.Fatal(err)
				}
			}
			ids[st] = append(ids[st], id)
		}
	}
	got, err := inbox.ReceivedIDs(ctx, db, 0, 10)
	if err != nil || !slices.Equal(got, ids[inbox.Received]) {
		t.Errorf("received: %v %v, want %v", got, err, ids[inbox.Received])
	}
	if got, _ := inbox.ReceivedIDs(ctx, db, ids[inbox.Received][0], 10); !slices.Equal(got, ids[inbox.Received][1:]) {
		t.Errorf("after the first: %v", got)
	}
	if got, _ := inbox.ReceivedIDs(ctx, db, 0, 1); !slices.Equal(got, ids[inbox.Received][:1]) {
		t.Errorf("limit 1: %v", got)
	}
	if got, err := inbox.CheckingIDs(ctx, db, 0, 10); err != nil || !slices.Equal(got, ids[inbox.Checking]) {
		t.Errorf("checking: %v %v, want %v", got, err, ids[inbox.Checking])
	}
	listed, err := inbox.List(ctx, db, "", 100)
	if err != nil || len(listed) != 10 {
		t.Errorf("listed %d documents (%v); want the 10 the AIS sees", len(listed), err)
	}
	for _, it := range listed {
		if it.State == inbox.Checking {
			t.Errorf("document %d listed while checking", it.ID)
		}
	}
	if p, err := inbox.PruneAttachments(ctx, db, t0); err != nil || p.Attachments != 0 {
		t.Errorf("pruned documents updated at the cut-off: %+v %v", p, err)
	}
	size := int64(0)
	for _, a := range letter().Attachments {
		size += int64(a.Body.DecodedLen())
	}
	// Every document the AIS (or the policy) acted on: registered,
	// rejected, closed, stopped; none checking or received.
	if p, err := inbox.PruneAttachments(ctx, db, t0.Add(time.Hour)); err != nil || p.Attachments != 8*int64(len(letter().Attachments)) || p.Bytes != 8*size {
		t.Errorf("pruned %+v (%v), want the attachments of the 8 documents acted on, %d bytes", p, err, 8*size)
	}
	if p, err := inbox.PruneAttachments(ctx, db, t0.Add(time.Hour)); err != nil || p != (inbox.Pruned{}) {
		t.Errorf("a second pass pruned %+v %v", p, err)
	}
	for st, list := range ids {
		for _, id := range list {
			a, body, err := inbox.AttachmentContent(ctx, db, nil, id, 1)
			final := st != inbox.Received && st != inbox.Checking
			if err != nil || (len(body) == 0) != final || a.Size == 0 {
				t.Errorf("%s document %d: %d bytes kept (size %d), %v", st, id, len(body), a.Size, err)
			}
		}
	}
}

// TestVerdictBacklogAndReceipt: a verdict is kept with the document, a
// hold is counted until a clerk decides, the attachment reads in place,
// and a registration reports the confirmation of receipt unless the
// sender declined it or no policy judged the document.
func TestVerdictBacklogAndReceipt(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	t0 := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	sender := testkit.Participant(2, "000000002", "Министерство")
	from := sender.Node()
	backlog := func(wantChecking, wantHeld int) {
		t.Helper()
		b, err := inbox.CountBacklog(ctx, db)
		if err != nil || b.Checking != wantChecking || b.Held != wantHeld || (wantChecking > 0) != b.Oldest.Equal(t0) {
			t.Errorf("backlog: %+v (%v); want %d checking since %s, %d held", b, err, wantChecking, t0, wantHeld)
		}
	}
	verdict := func(o acceptance.Outcome, declined bool) *acceptance.Verdict {
		return &acceptance.Verdict{Policy: "тест", Outcome: o, DeclinedReceipt: declined, EvaluatedAt: t0,
			Checks: []acceptance.Check{{Rule: "kind", Status: acceptance.Pass, Mode: acceptance.Enforce, Effect: o,
				Reason: acceptance.Text{BG: "видът се приема", Latin: "vidat se priema", EN: "kind accepted"}}}}
	}
	registered := seos.DocumentID{Number: &seos.DocumentNumber{Number: "94-1", Date: "2026-11-24"}}
	cases := []struct {
		name    string
		verdict *acceptance.Verdict
		held    bool
		receipt bool
	}{
		{"accepted", verdict(acceptance.Accept, false), false, true},
		{"held", verdict(acceptance.Hold, false), true, true},
		{"declined confirmation", verdict(acceptance.Accept, true), false, false},
		{"no policy", nil, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := letter()
			arrive := inbox.Checking
			if c.verdict == nil {
				arrive = inbox.Received
			}
			id := testkit.ReceiveIn(t, db, from, doc, t0, arrive)
			backlog(map[bool]int{true: 1, false: 0}[c.verdict != nil], 0)
			if c.verdict != nil {
				if err := inbox.Apply(ctx, db, id, &inbox.Update{State: inbox.Received, Verdict: c.verdict}, t0.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			it, err := inbox.Get(ctx, db, id)
			if err != nil {
				t.Fatal(err)
			}
			if it.NeedsReview != c.held || !reflect.DeepEqual(it.Verdict, c.verdict) {
				t.Errorf("kept needsReview %v, verdict %+v", it.NeedsReview, it.Verdict)
			}
			backlog(0, map[bool]int{true: 1, false: 0}[c.held])
			if byLog, err := inbox.ByLog(ctx, db, it.LogID); err != nil || byLog.ID != id {
				t.Errorf("by its log entry: %+v %v", byLog, err)
			}
			content, err := inbox.OpenAttachment(ctx, db, nil, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, content.Size)
			if n, err := content.ReadAt(buf, 0); n != len(buf) || err != nil || string(buf) != "%PDF писмо" {
				t.Errorf("attachment read %q (%d, %v)", buf, n, err)
			}
			content.Close()
			if _, err := inbox.OpenAttachment(ctx, db, nil, id, 2); err != inbox.ErrNotFound {
				t.Errorf("a second attachment: %v", err)
			}
			if err := inbox.Apply(ctx, db, id, &inbox.Update{State: inbox.Registered, ID: &registered}, t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			backlog(0, 0)
			if it, err = inbox.Get(ctx, db, id); err != nil {
				t.Fatal(err)
			}
			got := it.StatusResponse().AddData.Receipt()
			if !c.receipt {
				if got != "" {
					t.Errorf("a receipt was sent: %q", got)
				}
				return
			}
			want := "Потвърждаваме получаването на Вашия електронен документ на 23.11.2026 12:05 ч. Документът е регистриран с рег. № 94-1 от 24.11.2026.\n" +
				"Potvarzhdavame poluchavaneto na Vashia elektronen dokument na 23.11.2026 12:05 ch. Dokumentat e registriran s reg. № 94-1 ot 24.11.2026."
			if got != want {
				t.Errorf("receipt\n%s\nwant\n%s", got, want)
			}
			if err := inbox.Apply(ctx, db, id, &inbox.Update{State: inbox.Closed}, t0.Add(3*time.Minute)); err != nil {
				t.Fatal(err)
			}
			it, _ = inbox.Get(ctx, db, id)
			if it.StatusResponse().AddData != nil {
				t.Error("DS_CLOSED repeats the receipt")
			}
			if _, ok := it.Receipt(); !ok {
				t.Error("the receipt sent is no longer shown once the work is closed")
			}
		})
	}
}

// TestMailTakenOnce: a mail becomes a checking document of the e-mail
// channel with its files; the same intake id or the same bytes again are
// the same mail.
func TestMailTakenOnce(t *testing.T) {
	db := testkit.DB(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	sum := "ab" + strings.Repeat("0", 62)
	logID, err := msglog.Insert(ctx, db, &msglog.Entry{Direction: msglog.In, At: at, MessageType: "email", Outcome: "accepted", Raw: []byte("Subject: x\r\n\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	m := &inbox.Mail{IntakeID: "smtp:1", SHA256: sum, From: "Ivan@Example.BG", Name: "Иван Петров", ReceivedAt: at, LogID: logID,
		Document: seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо", About: seos.Str("Заявление")}}
	id, err := inbox.AddMail(ctx, db, m, []inbox.File{{Name: "заявление.pdf", MIMEType: "application/pdf", Content: strings.NewReader("%PDF-1.4")}})
	if err != nil {
		t.Fatal(err)
	}
	it, err := inbox.Get(ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	if it.Channel != inbox.ChannelEmail || it.SenderEmail != "ivan@example.bg" || it.State != inbox.Checking || it.Sender.GUID != "" ||
		it.Sender.AdministrativeBodyName != "Иван Петров" || len(it.Attachments) != 1 || it.Attachments[0].Size != 8 {
		t.Fatalf("stored as %+v", it)
	}
	for _, tc := range []struct {
		name, intake, sum string
		seen              bool
	}{
		{"IMAP hands the same mail again", "smtp:1", "cd" + strings.Repeat("0", 62), true},
		{"an MTA sends the same bytes again", "smtp:2", strings.ToUpper(sum), true},
		{"another mail", "smtp:3", "ef" + strings.Repeat("0", 62), false},
	} {
		got, seen, err := inbox.MailSeen(ctx, db, tc.intake, tc.sum)
		if err != nil || seen != tc.seen || (seen && got != id) {
			t.Errorf("%s: %d %v %v", tc.name, got, seen, err)
		}
	}
	if _, err := inbox.AddMail(ctx, db, m, nil); err == nil {
		t.Error("the same intake id stored twice")
	}
	seosID := testkit.Receive(t, db, seos.Entity{GUID: testkit.GUID(2), Identifier: "000000002"}, letter(), at)
	if it, _ := inbox.Get(ctx, db, seosID); it.Channel != inbox.ChannelSEOS || it.SenderEmail != "" {
		t.Errorf("a SEOS document: %+v", it)
	}
}
