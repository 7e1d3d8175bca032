package ais

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// send posts a letter to peer and returns its id and DocumentGUID.
func (f *fixture) send() (int64, string) {
	f.t.Helper()
	status, _, raw := f.do("POST", "/api/v1/documents", letter())
	if status != 202 {
		f.t.Fatalf("send: %d %s", status, raw)
	}
	var q Queued
	decodeInto(f.t, raw, &q)
	return q.ID, q.DocumentGUID
}

// status is GET /documents/{id}.
func (f *fixture) status(id int64) Status {
	f.t.Helper()
	status, _, raw := f.do("GET", fmt.Sprintf("/api/v1/documents/%d", id), nil)
	if status != 200 {
		f.t.Fatalf("status of %d: %d %s", id, status, raw)
	}
	var st Status
	decodeInto(f.t, raw, &st)
	return st
}

func events(st Status) string {
	var names []string
	for _, e := range st.History {
		names = append(names, e.Event)
	}
	return strings.Join(names, ",")
}

func TestAPIRetryAndCancel(t *testing.T) {
	f := newFixture(t)
	failed, failedDoc := f.send()
	testkit.Attempt(t, f.db, failed, outbox.Outcome{Final: true, Detail: "the recipient answered ERR_EXTERNAL: Неуспешен – Грешка при подателя."}, f.clk.Now())
	acked, _ := f.send()
	testkit.Attempt(t, f.db, acked, outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, f.clk.Now())
	fresh, _ := f.send()
	inFlight, _ := f.send()
	if _, err := f.db.Exec(`UPDATE outbox SET state = 'sending', attempts = 1 WHERE id = ?`, inFlight); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Hour)
	woken := f.queued.Load()

	t.Run("a failed document is sent again, same DocumentGUID, history kept", func(t *testing.T) {
		status, _, raw := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/retry", failed), `{"note": "B поправи регистъра си"}`)
		if status != 202 {
			t.Fatalf("retry: %d %s", status, raw)
		}
		var st Status
		decodeInto(t, raw, &st)
		if st.State != "queued" || st.Attempts != 0 || st.DocumentGUID != failedDoc || st.Error != "" {
			t.Errorf("after retry: %+v", st)
		}
		if events(st) != "queued,failed,manual_retry" || !strings.Contains(st.History[2].Detail, "B поправи регистъра си") ||
			!strings.Contains(st.History[2].Detail, "ERR_EXTERNAL") {
			t.Errorf("history: %+v", st.History)
		}
		if f.queued.Load() != woken+1 {
			t.Error("the deliverer was not woken")
		}
	})
	t.Run("a delivered document cannot be cancelled or retried", func(t *testing.T) {
		for _, act := range []string{"cancel", "retry"} {
			status, _, raw := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/%s", acked, act), nil)
			var e ErrorBody
			decodeInto(t, raw, &e)
			if status != 409 || e.Code != "conflict" || !strings.Contains(e.Message, "delivered already") {
				t.Errorf("%s: %d %+v", act, status, e)
			}
		}
		if st := f.status(acked); st.State != "waiting_registration" || events(st) != "queued,delivered" {
			t.Errorf("changed: %+v", st)
		}
	})
	t.Run("cancel a queued document, then again", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			status, _, raw := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/cancel", fresh), `{}`)
			var st Status
			decodeInto(t, raw, &st)
			if status != 200 || st.State != "cancelled" || events(st) != "queued,manual_cancel" {
				t.Errorf("cancel #%d: %d %s", i+1, status, raw)
			}
		}
		status, _, raw := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/retry", fresh), nil)
		if status != 409 || !strings.Contains(string(raw), "cancelled") {
			t.Errorf("retry of a cancelled document: %d %s", status, raw)
		}
	})
	t.Run("not while an attempt is on its way", func(t *testing.T) {
		status, _, raw := f.do("POST", fmt.Sprintf("/api/v1/documents/%d/cancel", inFlight), nil)
		if status != 409 || !strings.Contains(string(raw), "under way") {
			t.Errorf("%d %s", status, raw)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		notification := testkit.OutboxItems(t, f.db, outbox.KindRegistration)[0].ID + 1000
		for _, c := range []struct {
			path, body, code string
			status           int
		}{
			{"/api/v1/documents/999999/retry", "", "not_found", 404},
			{fmt.Sprintf("/api/v1/documents/%d/cancel", notification), "", "not_found", 404},
			{"/api/v1/documents/0/retry", "", "invalid_request", 400},
			{fmt.Sprintf("/api/v1/documents/%d/retry", failed), `{"reason": "x"}`, "invalid_request", 400},
			{fmt.Sprintf("/api/v1/documents/%d/cancel", failed), `{"note": "` + strings.Repeat("я", 501) + `"}`, "invalid_request", 400},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			status, _, raw := f.do("POST", c.path, body)
			var e ErrorBody
			decodeInto(t, raw, &e)
			if status != c.status || e.Code != c.code {
				t.Errorf("POST %s %s: %d %+v", c.path, c.body, status, e)
			}
		}
	})
	for _, c := range []struct {
		action, result string
		want           float64
	}{{"retry", "applied", 1}, {"retry", "refused", 2}, {"cancel", "applied", 1}, {"cancel", "repeated", 1}, {"cancel", "refused", 2}} {
		if v := testkit.Metric(t, f.reg, "seosgw_outbox_manual_actions_total", "action", c.action, "result", c.result); v != c.want {
			t.Errorf("seosgw_outbox_manual_actions_total{action=%q,result=%q} = %v, want %v", c.action, c.result, v, c.want)
		}
	}
}

func TestAPIListDocuments(t *testing.T) {
	f := newFixture(t)
	a, _ := f.send()
	b, _ := f.send()
	testkit.Attempt(t, f.db, b, outbox.Outcome{Final: true, Detail: "ERR_EXTERNAL"}, f.clk.Now())
	c, _ := f.send()
	testkit.Attempt(t, f.db, c, outbox.Outcome{Detail: "network"}, f.clk.Now())
	list := func(query string) (int, DocumentList, []byte) {
		t.Helper()
		status, _, raw := f.do("GET", "/api/v1/documents"+query, nil)
		var l DocumentList
		if status == 200 {
			decodeInto(t, raw, &l)
		}
		return status, l, raw
	}
	ids := func(l DocumentList) []int64 {
		var out []int64
		for _, it := range l.Items {
			out = append(out, it.ID)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{c, b, a}},
		{"?state=failed", []int64{b}},
		{"?state=queued", []int64{a}},
		{"?state=sending", []int64{c}},
		{"?state=registered", nil},
		{"?state=failed&peer=" + url.QueryEscape(strings.ToUpper(peer.GUID)), []int64{b}},
		{"?state=failed&peer=" + url.QueryEscape(other.GUID), nil},
		{"?limit=2", []int64{c, b}},
	} {
		status, l, raw := list(tc.query)
		if status != 200 || fmt.Sprint(ids(l)) != fmt.Sprint(tc.want) {
			t.Errorf("GET /documents%s: %d %v, want %v (%s)", tc.query, status, ids(l), tc.want, raw)
		}
	}
	_, l, _ := list("?state=sending")
	if it := l.Items[0]; it.RecipientName != peer.AdministrativeBodyName || it.Attempts != 1 || it.NextAttempt == "" || it.Error != "network" {
		t.Errorf("summary: %+v", it)
	}
	for _, q := range []string{"?state=lost", "?peer=B", "?limit=0"} {
		if status, _, raw := list(q); status != 400 {
			t.Errorf("GET /documents%s: %d %s", q, status, raw)
		}
	}
}

// Every public state is one list filter: a document is listed under the
// state its status shows, and under no other.
func TestListFilterIsPublicState(t *testing.T) {
	f := newFixture(t)
	now := f.clk.Now()
	report := func(id int64, s seos.DocStatus) {
		it := f.status(id)
		if _, err := outbox.ApplyStatus(t.Context(), f.db, peer.GUID, &seos.StatusResponse{DocID: seos.DocumentID{GUID: it.DocumentGUID}, Status: s}, now); err != nil {
			t.Fatal(err)
		}
	}
	made := map[int64]bool{}
	add := func(setup func(id int64)) {
		id, _ := f.send()
		setup(id)
		made[id] = true
	}
	add(func(int64) {})
	add(func(id int64) { testkit.Attempt(t, f.db, id, outbox.Outcome{Detail: "network"}, now) })
	add(func(id int64) { testkit.Attempt(t, f.db, id, outbox.Outcome{Final: true, Detail: "x"}, now) })
	for _, s := range []seos.DocStatus{seos.StatusWaitRegistration, seos.StatusAlreadyReceived, seos.StatusRegistered, seos.StatusRejected,
		seos.StatusClosed, seos.StatusStopped, seos.StatusNotFound} {
		add(func(id int64) {
			testkit.Attempt(t, f.db, id, outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, now)
			report(id, s)
		})
	}
	add(func(id int64) { f.do("POST", fmt.Sprintf("/api/v1/documents/%d/cancel", id), nil) })

	// Documents sent by e-mail, in each state their mail can be in.
	f.withMail()
	sub := testkit.StartSubmission(t, false)
	sub.OnRcpt = func(seq int) error {
		switch seq {
		case 2:
			return &smtp.SMTPError{Code: 550, Message: "no such mailbox"}
		case 3:
			return &smtp.SMTPError{Code: 451, Message: "try later"}
		}
		return nil
	}
	mailed := func(to string) int64 {
		code, _, body := f.do("POST", "/api/v1/documents", `{"email":"`+to+`","kind":"Писмо"}`)
		var q Queued
		decodeInto(t, body, &q)
		if code != 202 {
			t.Fatalf("by e-mail: %d %s", code, body)
		}
		made[q.ID] = true
		return q.ID
	}
	mailed("sent@example.bg")
	mailed("failed@example.bg")
	mailed("sending@example.bg")
	sender, err := mailq.NewSender(f.db, mailq.Options{Server: sub.Addr, TLS: mailq.TLSNone, HeloName: "gw.test", Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	mailed("queued@example.bg")
	f.do("POST", fmt.Sprintf("/api/v1/documents/%d/cancel", mailed("cancelled@example.bg")), nil)

	seen := map[string]bool{}
	for _, state := range PublicStates {
		_, _, raw := f.do("GET", "/api/v1/documents?state="+state, nil)
		var l DocumentList
		decodeInto(t, raw, &l)
		for _, it := range l.Items {
			if st := f.status(it.ID); st.State != state || it.State != state {
				t.Errorf("document %d listed under %s shows %s / %s", it.ID, state, st.State, it.State)
			}
			delete(made, it.ID)
		}
		seen[state] = len(l.Items) > 0
	}
	if len(made) > 0 {
		t.Errorf("documents under no state: %v", made)
	}
	for _, state := range PublicStates {
		if !seen[state] {
			t.Errorf("no document made in state %s: extend the test", state)
		}
	}
}

func TestAPIRetryParticipant(t *testing.T) {
	f := newFixture(t)
	waiting, _ := f.send()
	testkit.Attempt(t, f.db, waiting, outbox.Outcome{Detail: "network", RetryAt: f.clk.Now().Add(64 * time.Hour)}, f.clk.Now())
	failed, _ := f.send()
	testkit.Attempt(t, f.db, failed, outbox.Outcome{Final: true, Detail: "x"}, f.clk.Now())
	f.clk.Advance(time.Minute)
	woken := f.queued.Load()
	for i, path := range []string{"/api/v1/participants/" + url.PathEscape(peer.GUID) + "/retry", "/api/v1/participants/" + strings.Trim(peer.GUID, "{}") + "/retry"} {
		status, _, raw := f.do("POST", path, `{"note": "B is back"}`)
		var r PeerRetry
		decodeInto(t, raw, &r)
		want := fmt.Sprint([]int64{waiting})
		if i == 1 {
			want = "[]" // made due already
		}
		if status != 202 || !seos.EqualGUID(r.Peer, peer.GUID) || fmt.Sprint(r.IDs) != want || r.Rescheduled != len(r.IDs) {
			t.Errorf("POST %s: %d %s", path, status, raw)
		}
	}
	if st := f.status(waiting); st.NextAttempt != f.clk.Now().UTC().Format("2006-01-02T15:04:05Z") || !strings.HasSuffix(events(st), "manual_retry") {
		t.Errorf("after retry: %+v", st)
	}
	if st := f.status(failed); st.State != "failed" {
		t.Errorf("a failed document moved: %+v", st)
	}
	if f.queued.Load() != woken+1 {
		t.Errorf("deliverer woken %d times", f.queued.Load()-woken)
	}
	if status, _, raw := f.do("POST", "/api/v1/participants/B/retry", nil); status != 400 {
		t.Errorf("a bad GUID: %d %s", status, raw)
	}
}
