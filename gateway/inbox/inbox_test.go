package inbox_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

var states = []inbox.State{inbox.Received, inbox.Registered, inbox.Rejected, inbox.Closed, inbox.Stopped}

// TestTransitions: every pair of states against the table the AIS is held
// to (PROTOCOL §5), and what each state is called on the wire.
func TestTransitions(t *testing.T) {
	allowed := map[[2]inbox.State]bool{
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
	}
	for _, s := range []inbox.State{"", "archived", "REGISTERED"} {
		if s.Valid() || inbox.CanMove(inbox.Received, s) || inbox.CanMove(s, inbox.Registered) {
			t.Errorf("%q taken for a state", s)
		}
	}
	wire := map[inbox.State]seos.DocStatus{inbox.Received: seos.StatusWaitRegistration, inbox.Registered: seos.StatusRegistered,
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

// TestSeenOnce: a MessageGUID, however it is spelt, is accepted once.
func TestSeenOnce(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	guid := "{ABCDEF01-0000-4000-8000-000000000001}"
	sender := testkit.Participant(2, "000000002", "Министерство")
	logID := testkit.Count(t, db, `SELECT log_id FROM inbox WHERE id = ?`, testkit.Receive(t, db, sender.Node(), letter(), at))
	if seen, err := inbox.Seen(ctx, db, guid); err != nil || seen {
		t.Fatalf("seen before: %v %v", seen, err)
	}
	if err := inbox.MarkSeen(ctx, db, guid, testkit.GUID(2), int64(logID), at); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{guid, "{abcdef01-0000-4000-8000-000000000001}", "abcdef01-0000-4000-8000-000000000001"} {
		if seen, err := inbox.Seen(ctx, db, g); err != nil || !seen {
			t.Errorf("%s: %v %v", g, seen, err)
		}
	}
	if err := inbox.MarkSeen(ctx, db, guid, testkit.GUID(2), int64(logID), at); err == nil {
		t.Error("a MessageGUID recorded twice")
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
			id := testkit.Receive(t, db, from, letter(), t0)
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
	if p, err := inbox.PruneAttachments(ctx, db, t0); err != nil || p.Attachments != 0 {
		t.Errorf("pruned documents updated at the cut-off: %+v %v", p, err)
	}
	size := int64(0)
	for _, a := range letter().Attachments {
		size += int64(a.Body.DecodedLen())
	}
	// Every document the AIS acted on: registered, rejected, closed, stopped.
	if p, err := inbox.PruneAttachments(ctx, db, t0.Add(time.Hour)); err != nil || p.Attachments != 8*int64(len(letter().Attachments)) || p.Bytes != 8*size {
		t.Errorf("pruned %+v (%v), want the attachments of the 8 documents acted on, %d bytes", p, err, 8*size)
	}
	if p, err := inbox.PruneAttachments(ctx, db, t0.Add(time.Hour)); err != nil || p != (inbox.Pruned{}) {
		t.Errorf("a second pass pruned %+v %v", p, err)
	}
	for st, list := range ids {
		for _, id := range list {
			a, body, err := inbox.AttachmentContent(ctx, db, id, 1)
			final := st != inbox.Received
			if err != nil || (len(body) == 0) != final || a.Size == 0 {
				t.Errorf("%s document %d: %d bytes kept (size %d), %v", st, id, len(body), a.Size, err)
			}
		}
	}
}
