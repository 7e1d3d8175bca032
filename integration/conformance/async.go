package conformance

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/inbound"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/register"
)

// listener is the test participant's own SEOS endpoint: seosgw's inbound
// pipeline with a database in the run's folder, so that what the
// participant sends is judged as any seosgw node would judge it, answered
// with signed replies, and kept.
type listener struct {
	db    *sql.DB
	files *blob.Store
	srv   *http.Server
	done  chan error
}

// maxListenBytes bounds a message the participant sends the harness.
const maxListenBytes = 64 << 20

func (s *suite) startListener(ctx context.Context) error {
	cfg := s.cfg
	db, err := store.OpenGateway(ctx, filepath.Join(s.dir, "harness.db"))
	if err != nil {
		return err
	}
	cache := register.NewCache(db, s.clk)
	if err := cache.Apply(ctx, true, []register.Entity{*s.target, *s.rep.Setup.TestParticipant}, ""); err != nil {
		db.Close()
		return err
	}
	reg := prometheus.NewRegistry()
	tr, err := trust.New(cfg.Path(cfg.CA), nil, false, s.clk, s.log, trust.NewMetrics(reg))
	if err != nil {
		db.Close()
		return err
	}
	files, err := blob.Open(filepath.Join(s.dir, "harness.files"))
	if err != nil {
		db.Close()
		return err
	}
	p := &inbound.Pipeline{
		Files:           files,
		Self:            s.self,
		Dir:             joiningDirectory{Cache: cache, guid: s.target.GUID},
		Policy:          register.Policy{SelfGUID: s.self.GUID},
		Identity:        s.harness,
		DB:              db,
		Clock:           s.clk,
		Skew:            cfg.ClockSkew.D(),
		MaxMessageBytes: maxListenBytes,
		Log:             s.log,
		Metrics:         inbound.NewMetrics(reg),
	}
	u, _ := url.Parse(cfg.Listen.PublicURL)
	h := inbound.NewHandler(p, u.Path, cfg.Listen.PublicURL, inbound.Limits{MaxConcurrent: 8}, s.log)
	ln, err := net.Listen("tcp", cfg.Listen.Address)
	if err != nil {
		db.Close()
		return err
	}
	srv := inbound.NewServer(cfg.Listen.Address, tr.ServerTLS(s.harness), h,
		inbound.Timeouts{Read: 2 * time.Minute, Write: 2 * time.Minute, Idle: 2 * time.Minute}, s.log)
	l := &listener{db: db, files: files, srv: srv, done: make(chan error, 1)}
	go func() { l.done <- srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	s.listener = l
	s.log.Info("listening", "address", ln.Addr().String(), "public_url", cfg.Listen.PublicURL)
	return nil
}

func (l *listener) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.srv.Shutdown(ctx)
	<-l.done
	l.db.Close()
}

// joiningDirectory is the register copy of the harness's endpoint. It shows
// the participant under test as Active: during joining DAEU's test
// participant exchanges with participants the register still lists as
// Inactive (PROTOCOL.md §7), the mirror of register.Policy's
// TestParticipantGUID on the participant's side. Certificates are still
// checked against the register's entry.
type joiningDirectory struct {
	*register.Cache
	guid string
}

func (d joiningDirectory) ByGUID(ctx context.Context, guid string) (*register.Entity, error) {
	e, err := d.Cache.ByGUID(ctx, guid)
	if e == nil || err != nil || !seos.EqualGUID(e.GUID, d.guid) {
		return e, err
	}
	e.Status = register.Active
	if svc := e.ExchangeService(); svc != nil {
		svc.Status = register.Active
	}
	return e, nil
}

// trackRegistration records the registration check's document as sent in
// the listener's outbox, so that the participant's later status
// notification about it is accepted and applied there.
func (s *suite) trackRegistration(ctx context.Context, doc *sentDocument) error {
	db := s.db()
	if db == nil {
		return nil
	}
	now := s.clk.Now()
	rr := doc.msg.Body.RegistrationRequest
	id, _, err := outbox.Enqueue(ctx, db, outbox.Entry{Kind: outbox.KindRegistration, Recipient: s.target.GUID, Document: doc.docGUID,
		Request: &outbox.Request{Document: &rr.Document, Comment: rr.Comment}}, now)
	if err != nil {
		return err
	}
	err = outbox.Record(ctx, db, &outbox.Item{ID: id}, outbox.Outcome{Delivered: true, MessageGUID: doc.msg.Header.MessageGUID,
		DocStatus: string(seos.StatusWaitRegistration), Detail: "sent by the conformance harness (registration check)"}, now)
	if err == nil {
		s.regOutboxID = id
	}
	return err
}

// notifiedStatus is the latest status the participant notified about the
// registration check's document, or "".
func (s *suite) notifiedStatus(ctx context.Context) seos.DocStatus {
	if s.regOutboxID == 0 {
		return ""
	}
	it, err := outbox.Get(ctx, s.db(), s.regOutboxID)
	if err != nil {
		return ""
	}
	switch st := seos.DocStatus(it.DocStatus); st {
	case seos.StatusRegistered, seos.StatusRejected, seos.StatusClosed, seos.StatusStopped:
		return st
	}
	return ""
}

// asyncPoll is how often the harness looks at what arrived.
const asyncPoll = 250 * time.Millisecond

// runAsync waits for the participant's asynchronous messages: the status
// notification about the registration check's document and a document for
// the test participant, both within the async timeout.
func (s *suite) runAsync(ctx context.Context, done int) {
	status, document := s.newCheck(CheckAsyncStatus), s.newCheck(CheckAsyncDocument)
	wantStatus, wantDoc := !s.skipped(CheckAsyncStatus) && ctx.Err() == nil, !s.skipped(CheckAsyncDocument) && ctx.Err() == nil
	if s.tlsProblem != "" {
		// Both build on talking to the participant: the registration
		// check's document, and the answer to its document.
		for _, c := range []*checkCtx{status, document} {
			if !s.skipped(c.Name) {
				c.skip(s.needsTLS())
			}
		}
		wantStatus, wantDoc = false, false
	}
	if wantStatus && s.reg == nil {
		status.skip(status.l("needs the registration check's document: %s", "нужен е документът от проверката за регистрация: %s", s.regMissing()))
		wantStatus = false
	}
	if wantStatus && s.regOutboxID == 0 {
		status.skip(status.l("the harness could not track the registration check's document", "изпитващата система не можа да проследи документа от проверката за регистрация"))
		wantStatus = false
	}
	if wantStatus || wantDoc {
		s.waitAsync(ctx, status, document, wantStatus, wantDoc)
	}
	s.finishCheck(status, done+1)
	s.finishCheck(document, done+2)
}

func (s *suite) waitAsync(ctx context.Context, status, document *checkCtx, wantStatus, wantDoc bool) {
	timeout := s.cfg.Timeouts.Async.D()
	deadline := s.clk.Now().Add(timeout)
	s.say("\nWaiting up to %s (until %s) for the participant's asynchronous messages at %s.", timeout, English.when(deadline), s.cfg.Listen.PublicURL)
	s.say("Meanwhile, in the records system (AIS) of %s:", s.target.AdministrativeBodyName)
	if wantStatus {
		rr := s.reg.msg.Body.RegistrationRequest
		s.say("  - register, or refuse with a reason, the document DocumentGUID %s (No %s of %s, %q) received from %s;",
			s.reg.docGUID, rr.Document.ID.Number.Number, rr.Document.ID.Number.Date, *rr.Document.About, s.self.AdministrativeBodyName)
		s.say("    the node must then send DS_REGISTERED (with its registration number) or DS_REJECTED to the test participant.")
	}
	if wantDoc {
		s.say("  - send a document for registration to %s (GUID %s, EIK %s).", s.self.AdministrativeBodyName, s.self.GUID, s.self.Identifier)
	}
	s.say("")
	var gotStatus seos.DocStatus
	var refused *msglog.Entry
	var gotDoc *inbox.Item
	statusAt, docAt := time.Time{}, time.Time{}
	for {
		if wantStatus && gotStatus == "" && refused == nil {
			if st := s.notifiedStatus(ctx); st != "" {
				gotStatus, statusAt = st, s.clk.Now()
				s.say("async: the participant sent %s about %s", st, s.reg.docGUID)
			} else if refused = s.refusedNotification(ctx); refused != nil {
				// An Error is final for its sender (PROTOCOL §5): the
				// participant will not send this notification again.
				s.say("async: the test participant refused the participant's notification about %s: %s", s.reg.docGUID, refused.Reason)
			}
		}
		if wantDoc && gotDoc == nil {
			if it := s.receivedDocument(ctx); it != nil {
				gotDoc, docAt = it, s.clk.Now()
				s.say("async: the participant sent document %s (%s)", it.DocumentGUID, it.Document.Kind)
			}
		}
		if (!wantStatus || gotStatus != "" || refused != nil) && (!wantDoc || gotDoc != nil) {
			break
		}
		if !s.clk.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(asyncPoll):
		}
	}
	if ctx.Err() != nil {
		for _, c := range []*checkCtx{status, document} {
			c.skip(c.l("interrupted while waiting", "прекъснато по време на изчакването"))
		}
		return
	}
	waited := func(at time.Time) time.Duration { return at.Sub(status.StartedAt).Round(100 * time.Millisecond) }
	in := s.incoming(ctx)
	if wantStatus {
		s.judgeAsyncStatus(ctx, status, in, gotStatus, refused, waited(statusAt), timeout)
	}
	if wantDoc {
		s.judgeAsyncDocument(ctx, document, in, gotDoc, waited(docAt), timeout)
	}
}

// refusedNotification is the participant's status notification about the
// registration check's document that the test participant refused, if any.
func (s *suite) refusedNotification(ctx context.Context) *msglog.Entry {
	l := &msglog.Log{DB: s.db()}
	entries, err := l.List(ctx, msglog.Filter{Direction: msglog.In, Since: s.rep.StartedAt, Limit: 1000})
	if err != nil {
		return nil
	}
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		e := entries[i]
		if e.Outcome == "refused" && e.MessageType == string(seos.TypeStatusResponse) && seos.EqualGUID(e.DocumentGUID, s.reg.docGUID) {
			return &e
		}
	}
	return nil
}

func (s *suite) judgeAsyncStatus(ctx context.Context, c *checkCtx, in []incomingMessage, got seos.DocStatus, refused *msglog.Entry, after, timeout time.Duration) {
	for _, m := range in {
		if m.entry.MessageType == string(seos.TypeStatusResponse) && seos.EqualGUID(m.entry.DocumentGUID, s.reg.docGUID) || m.unattributed() {
			c.Exchanges = append(c.Exchanges, m.exchange)
		}
	}
	want := c.l("%s or %s about document %s, which the test participant accepts (schema-valid, signed with the participant's registered certificate, from it to the test participant)",
		"%s или %s за документ %s, което тестовият участник приема (валидно по схемата, подписано с вписания сертификат на участника, от него до тестовия участник)",
		seos.StatusRegistered, seos.StatusRejected, s.reg.docGUID)
	if got == "" {
		if refused != nil {
			c.expect(false, want, c.l("the notification was refused at %s: %s (%s)", "уведомлението е отказано в %s: %s (%s)", s.lang.when(refused.At), refused.Reason, refused.Detail))
			return
		}
		c.expect(false, want, c.l("nothing accepted within %s", "нищо прието в рамките на %s", s.lang.duration(timeout)))
		s.refusalsFor(c, in, string(seos.TypeStatusResponse))
		return
	}
	it, err := outbox.Get(ctx, s.db(), s.regOutboxID)
	if err != nil {
		c.expect(false, c.l("the harness reads what arrived", "изпитващата система прочита полученото"), err.Error())
		return
	}
	// A quick participant may have closed the document already: what
	// counts is the first registration decision in the document's history.
	events, _ := outbox.Events(ctx, s.db(), s.regOutboxID)
	var first []string
	for _, ev := range events {
		if f := strings.Fields(ev.Detail); ev.Event == "status" && len(f) > 0 {
			first = append(first, f[0])
		}
	}
	for _, st := range first {
		if st == string(seos.StatusRegistered) || st == string(seos.StatusRejected) {
			got = seos.DocStatus(st)
			break
		}
	}
	if got != seos.StatusRegistered && got != seos.StatusRejected {
		c.expect(false, want, strings.Join(first, ", "))
		return
	}
	c.expect(true, want, c.l("%s, %s after the harness started waiting", "%s, %s след началото на изчакването", got, s.lang.duration(after)))
	switch got {
	case seos.StatusRegistered:
		reg := c.l("none", "липсва")
		switch {
		case it.PeerNumber != "":
			reg = c.l("No %s of %s", "№ %s от %s", it.PeerNumber, it.PeerDate)
		case it.PeerURI != nil:
			reg = "URI " + it.PeerURI.String()
		}
		c.expect(it.PeerNumber != "" || it.PeerURI != nil, c.l("DocID carries the participant's registration number or URI", "DocID съдържа регистрационния номер или URI на участника"), reg)
	case seos.StatusRejected:
		c.expect(it.RejectionReason != "", c.l("RejectionReason says why", "RejectionReason посочва причината"), strconv.Quote(it.RejectionReason))
	}
}

func (s *suite) judgeAsyncDocument(ctx context.Context, c *checkCtx, in []incomingMessage, got *inbox.Item, after, timeout time.Duration) {
	for _, m := range in {
		if m.entry.MessageType == string(seos.TypeRegistrationRequest) || m.unattributed() {
			c.Exchanges = append(c.Exchanges, m.exchange)
		}
	}
	want := c.l("a DocumentRegistrationRequest from the participant that the test participant accepts (DS_WAIT_REGISTRATION)",
		"DocumentRegistrationRequest от участника, която тестовият участник приема (DS_WAIT_REGISTRATION)")
	if got == nil {
		c.expect(false, want, c.l("nothing accepted within %s", "нищо прието в рамките на %s", s.lang.duration(timeout)))
		s.refusalsFor(c, in, string(seos.TypeRegistrationRequest))
		return
	}
	if full, err := inbox.Get(ctx, s.db(), got.ID); err == nil {
		got = full
	}
	c.expect(true, want, c.l("%s after the harness started waiting: DocumentGUID %s, %s %q, %d attachment(s)", "%s след началото на изчакването: DocumentGUID %s, %s „%s“, приложения: %d",
		s.lang.duration(after), got.DocumentGUID, got.Document.Kind, deref(got.Document.About), len(got.Attachments)))

	// The test participant registers it, and tells the participant so.
	now := s.clk.Now()
	id := seos.DocumentID{Number: &seos.DocumentNumber{Number: fmt.Sprintf("ДАЕУ-ВХ-%s", s.runID), Date: seos.DateOf(now)}, GUID: got.DocumentGUID}
	if err := inbox.Apply(ctx, s.db(), got.ID, &inbox.Update{State: inbox.Registered, ID: &id}, now); err != nil {
		c.warn(c.l("the harness could not mark the document registered: %v", "изпитващата система не можа да отбележи документа като регистриран: %v", err))
	}
	m := seos.NewMessage(s.self, got.Sender, s.clk.Now(), seos.Body{StatusResponse: &seos.StatusResponse{DocID: id, Status: seos.StatusRegistered}})
	signed, err := sign(m, s.harness)
	if err != nil {
		c.harnessError(err)
		return
	}
	r := c.submit(ctx, c.l("DS_REGISTERED notification to the participant", "уведомление DS_REGISTERED към участника"), s.harness, signed)
	wantEmpty := c.l("the participant answers the DS_REGISTERED notification (No %s) with an empty SubmitResult", "участникът отговаря на уведомлението DS_REGISTERED (№ %s) с празен SubmitResult", id.Number.Number)
	switch {
	case r.err != nil || r.fault != nil || r.soapErr != nil:
		c.expect(false, wantEmpty, c.unreadable(r))
	case len(strings.TrimSpace(string(r.payload))) == 0:
		c.expect(true, wantEmpty, fmt.Sprintf("HTTP %d", r.status))
	case r.msg != nil && r.msg.Body.Error != nil:
		c.expect(false, wantEmpty, fmt.Sprintf("Error %s: %s", r.msg.Body.Error.Type, r.msg.Body.Error.Description))
	default:
		c.expect(false, wantEmpty, c.l("%d bytes%s", "%d байта%s", len(r.payload), errSuffix(r.parseErr)))
	}
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// refusalsFor turns what the test participant refused into failed
// assertions, so the report says why nothing usable arrived.
func (s *suite) refusalsFor(c *checkCtx, in []incomingMessage, msgType string) {
	for _, m := range in {
		if m.entry.Outcome == "refused" && (m.entry.MessageType == msgType || m.unattributed()) {
			c.expect(false, c.l("every message the participant sends is accepted", "всяко съобщение от участника се приема"),
				c.l("refused at %s: %s (%s)", "отказано в %s: %s (%s)", s.lang.when(m.entry.At), m.entry.Reason, m.entry.Detail))
		}
	}
}

// receivedDocument is the first document the participant sent the test
// participant during this run, or nil.
func (s *suite) receivedDocument(ctx context.Context) *inbox.Item {
	items, err := inbox.List(ctx, s.db(), "", 1000)
	if err != nil {
		return nil
	}
	for i := range items {
		if seos.EqualGUID(items[i].Sender.GUID, s.target.GUID) {
			return &items[i]
		}
	}
	return nil
}

// incomingMessage is a message the participant sent the listener.
type incomingMessage struct {
	entry    msglog.Entry
	exchange *Exchange
}

// unattributed: refused before its type was known.
func (m incomingMessage) unattributed() bool { return m.entry.MessageType == "" }

// incoming lists what the participant sent the listener during this run,
// with the listener's answers, from the message log.
func (s *suite) incoming(ctx context.Context) []incomingMessage {
	l := &msglog.Log{DB: s.db(), Files: s.listener.files}
	entries, err := l.List(ctx, msglog.Filter{Direction: msglog.In, Since: s.rep.StartedAt, Limit: 1000})
	if err != nil {
		return nil
	}
	var out []incomingMessage
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		e := entries[i]
		if !seos.EqualGUID(e.PeerGUID, s.target.GUID) && !s.target.HasCertificate(e.PeerSerial) {
			continue
		}
		full, err := l.Get(ctx, e.ID)
		if err != nil {
			continue
		}
		if full.Raw, err = l.RawBytes(full); err != nil {
			continue
		}
		lang := s.lang
		ex := &Exchange{Label: lang.pick("from the participant: %s", "от участника: %s", orDefault(e.MessageType, lang.pick("a message", "съобщение"))),
			Direction: lang.pick("from the participant", "от участника"), As: lang.pick("serial %s", "сериен номер %s", e.PeerSerial), At: e.At, SentBytes: e.Size, HTTPStatus: http.StatusOK}
		if payload, err := soap.ParseSubmit(full.Raw); err == nil && len(payload) > 0 {
			ex.Sent = Elide(payload)
		} else {
			ex.Sent = Elide(full.Raw)
		}
		if e.Outcome == "refused" {
			ex.Error = lang.pick("refused by the test participant: %s (%s)", "отказано от тестовия участник: %s (%s)", e.Reason, e.Detail)
		}
		if reply := s.replyTo(ctx, l, e.ID); reply != nil {
			ex.ReceivedBytes = len(reply.Raw)
			if p, err := soap.ParseSubmitResponse(reply.Raw); err == nil {
				ex.Received = Elide(p)
			} else {
				ex.Received = Elide(reply.Raw)
				var f *soap.Fault
				if errors.As(err, &f) {
					ex.HTTPStatus = http.StatusInternalServerError
				}
			}
		}
		out = append(out, incomingMessage{entry: e, exchange: ex})
	}
	return out
}

func (s *suite) replyTo(ctx context.Context, l *msglog.Log, id int64) *msglog.Entry {
	e, err := l.ReplyTo(ctx, id)
	if err != nil {
		return nil
	}
	return e
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
