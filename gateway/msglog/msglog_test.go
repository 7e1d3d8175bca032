package msglog_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/testkit"
)

func TestInsertListGetPrune(t *testing.T) {
	ctx := context.Background()
	db := testkit.DB(t)
	l := &msglog.Log{DB: db}
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	in := &msglog.Entry{Direction: msglog.In, At: base, PeerGUID: "{AA}", MessageType: "MSG_DocumentRegistrationRequest", MessageGUID: "{M1}",
		DocumentGUID: "{D1}", Outcome: "accepted", Size: 5, Raw: []byte("<x/>\x00")}
	if _, err := msglog.Insert(ctx, db, in); err != nil {
		t.Fatal(err)
	}
	out := &msglog.Entry{Direction: msglog.Out, At: base.Add(time.Second), PeerGUID: "{AA}", MessageType: "MSG_DocumentStatusResponse", ReplyTo: in.ID, Outcome: "replied", Size: 3, Raw: []byte("abc")}
	msglog.Insert(ctx, db, out)
	msglog.Insert(ctx, db, &msglog.Entry{Direction: msglog.In, At: base.Add(40 * 24 * time.Hour), PeerGUID: "{BB}", Outcome: "refused", Reason: "schema_invalid", Size: 1, Raw: []byte("z")})

	cases := map[string]struct {
		f    msglog.Filter
		want int
	}{
		"all":           {msglog.Filter{}, 3},
		"peer any case": {msglog.Filter{Peer: "{aa}"}, 2},
		"direction":     {msglog.Filter{Direction: msglog.Out}, 1},
		"outcome":       {msglog.Filter{Outcome: "refused"}, 1},
		"document":      {msglog.Filter{DocumentGUID: "{d1}"}, 1},
		"since":         {msglog.Filter{Since: base.Add(time.Hour)}, 1},
		"limit":         {msglog.Filter{Limit: 1}, 1},
	}
	for name, c := range cases {
		got, err := l.List(ctx, c.f)
		if err != nil || len(got) != c.want {
			t.Errorf("%s: %d entries, want %d (%v)", name, len(got), c.want, err)
		}
	}
	got, err := l.Get(ctx, in.ID)
	if err != nil || string(got.Raw) != "<x/>\x00" || !got.At.Equal(base) || got.MessageGUID != "{m1}" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if r, _ := l.Get(ctx, out.ID); r.ReplyTo != in.ID {
		t.Error("reply link lost")
	}
	if r, err := l.ReplyTo(ctx, in.ID); err != nil || r.ID != out.ID || string(r.Raw) != "abc" {
		t.Errorf("our answer to the entry: %+v %v", r, err)
	}
	if _, err := l.ReplyTo(ctx, out.ID); !errors.Is(err, msglog.ErrNotFound) {
		t.Errorf("an entry we did not answer: %v", err)
	}
	if _, err := l.Get(ctx, 999); !errors.Is(err, msglog.ErrNotFound) {
		t.Errorf("missing id: %v", err)
	}
	d, err := l.DropRaw(ctx, base.Add(24*time.Hour))
	if err != nil || d.Entries != 2 || d.Bytes != 8 {
		t.Fatalf("drop raw: %+v %v", d, err)
	}
	got, _ = l.Get(ctx, in.ID)
	// The bytes go, the row and the bytes' SHA-256 stay.
	if len(got.Raw) != 0 || !got.Truncated || got.Size != 5 || got.RawSHA256 != "3a42fc7da98b0acbc05cabc1d616e217411c7b406b6f5687da2fcc3bea99e3b5" {
		t.Errorf("pruned entry: %+v", got)
	}
	if _, err := msglog.Insert(ctx, db, &msglog.Entry{Direction: "sideways", At: base}); err == nil {
		t.Error("bad direction accepted")
	}
}

// TestSeenOnce: a MessageGUID, however it is spelt, is accepted once.
func TestSeenOnce(t *testing.T) {
	ctx, db := context.Background(), testkit.DB(t)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	guid := "{ABCDEF01-0000-4000-8000-000000000001}"
	if seen, err := msglog.Seen(ctx, db, guid); err != nil || seen {
		t.Fatalf("seen before: %v %v", seen, err)
	}
	// Refused messages with that GUID do not count.
	msglog.Insert(ctx, db, &msglog.Entry{Direction: msglog.In, At: at, MessageGUID: guid, Outcome: "refused"})
	if seen, _ := msglog.Seen(ctx, db, guid); seen {
		t.Fatal("a refused message counted as seen")
	}
	accepted := &msglog.Entry{Direction: msglog.In, At: at, MessageGUID: guid, Outcome: "accepted", Seen: true}
	if _, err := msglog.Insert(ctx, db, accepted); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{guid, "{abcdef01-0000-4000-8000-000000000001}", "abcdef01-0000-4000-8000-000000000001"} {
		if seen, err := msglog.Seen(ctx, db, g); err != nil || !seen {
			t.Errorf("%s: %v %v", g, seen, err)
		}
	}
	if _, err := msglog.Insert(ctx, db, &msglog.Entry{Direction: msglog.In, At: at, MessageGUID: strings.ToLower(guid), Outcome: "accepted", Seen: true}); err == nil {
		t.Error("a MessageGUID accepted twice")
	}
}
