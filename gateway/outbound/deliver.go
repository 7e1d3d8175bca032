// Package outbound delivers the outbox: it builds and signs each message,
// resolves the recipient in the register, posts it over mutual TLS to the
// recipient's endpoint, believes the reply only once it checks out, and
// retries network failures on the protocol's schedule.
package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/rotation"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
)

// Directory is the register copy recipients are resolved in.
type Directory interface {
	ByGUID(ctx context.Context, guid string) (*register.Entity, error)
}

// Schedule is when failed attempts are retried: the first attempt at once,
// then after First, 2·First, 4·First ... for Retries more attempts
// (PROTOCOL §5: 15 min × 2^n, ten retries, the last after 128 h).
type Schedule struct {
	First   time.Duration
	Retries int
}

// DefaultSchedule is the protocol's.
var DefaultSchedule = Schedule{First: 15 * time.Minute, Retries: 10}

// Delay is the wait before the attempt after attempt n (n ≥ 1).
func (s Schedule) Delay(n int) time.Duration { return s.First << (n - 1) }

// Deliverer sends due outbox items; Run is its loop.
type Deliverer struct {
	DB *sql.DB
	// Files is the file store attachments are kept in, and the bytes of
	// large messages we send (nil: everything in memory).
	Files    *blob.Store
	Dir      Directory
	Policy   register.Policy
	Self     seos.Entity
	Identity pki.Source // our transport identity in force
	Trust    *trust.Store
	Hash     func(recipientGUID string) xmldsig.Hash // per-peer signature hash
	Clock    clock.Clock
	Log      *slog.Logger
	Metrics  *Metrics
	// Transitions logs and counts what status answers did to the documents
	// we sent (nil: not counted).
	Transitions *outbox.Observer
	Schedule    Schedule
	Workers     int // attempts in flight at once
	// PerPeer is how many of them may go to one recipient (0: any): a
	// recipient that hangs or answers a byte at a time holds no more
	// workers than this until Timeout, and the others keep delivering.
	PerPeer  int
	Timeout  time.Duration // one attempt, connect to last byte
	MaxReply int64         // reply size limit
	// StatusAfter asks about documents waiting registration this long;
	// the gap to the next question doubles after each, up to
	// StatusMaxInterval (StatusAfter when zero).
	StatusAfter       time.Duration
	StatusMaxInterval time.Duration
	// Poll bounds the sleep between passes.
	Poll time.Duration
	// PeerSeen, when set, is told each recipient's certificate expiry.
	PeerSeen func(guid string, notAfter time.Time)
	// Grace retries a recipient's Error that blames our certificate while
	// our register entry's CertificateSN has just changed (nil: never).
	Grace *rotation.Grace

	wake    chan struct{}
	mu      sync.Mutex
	clients map[string]*http.Client // by host and expected serial
}

// Notify wakes the loop (a new item was queued).
func (d *Deliverer) Notify() {
	d.mu.Lock()
	if d.wake == nil {
		d.wake = make(chan struct{}, 1)
	}
	w := d.wake
	d.mu.Unlock()
	select {
	case w <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. Items a crash left mid-attempt are queued
// again first; the recipient's DocumentGUID dedupe makes that safe.
func (d *Deliverer) Run(ctx context.Context) error {
	d.Notify() // create the channel, run a pass at once
	if n, err := outbox.Recover(ctx, d.DB, d.Clock.Now(), d.Clock.Now()); err != nil {
		d.Log.Error("outbox recovery", "error", err)
	} else if n > 0 {
		d.Log.Info("resuming items a stop interrupted", "items", n)
	}
	workers := max(d.Workers, 1)
	jobs := make(chan *outbox.Item)
	var inFlight atomic.Int32
	var busyMu sync.Mutex
	busy := map[string]int{} // attempts in flight by recipient (its CanonicalGUID)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				d.attempt(ctx, it)
				busyMu.Lock()
				if k := seos.CanonicalGUID(it.RecipientGUID); busy[k] <= 1 {
					delete(busy, k)
				} else {
					busy[k]--
				}
				busyMu.Unlock()
				inFlight.Add(-1)
				d.Notify() // a worker is free: claim more
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()
	lastPoll := time.Time{}
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := d.Clock.Now()
		if d.StatusAfter > 0 && now.Sub(lastPoll) >= d.Poll {
			d.askAboutWaiting(ctx)
			lastPoll = now
		}
		// An attempt whose outcome could not be recorded stays "sending";
		// past the longest attempt it goes back in the queue.
		if _, err := outbox.Recover(ctx, d.DB, now, now.Add(-d.Timeout-time.Minute)); err != nil && ctx.Err() == nil {
			d.Log.Error("outbox recovery", "error", err)
		}
		// Claim only what a free worker takes at once, so nothing claimed
		// waits behind a slow peer with its attempt already counted.
		if free := workers - int(inFlight.Load()); free > 0 {
			busyMu.Lock()
			snapshot := maps.Clone(busy)
			busyMu.Unlock()
			items, err := outbox.ClaimFair(ctx, d.DB, now, free, d.PerPeer, snapshot)
			if err != nil && ctx.Err() == nil {
				d.Log.Error("outbox claim", "error", err)
			}
			for _, it := range items {
				inFlight.Add(1)
				busyMu.Lock()
				busy[seos.CanonicalGUID(it.RecipientGUID)]++
				busyMu.Unlock()
				jobs <- it
			}
		}
		d.updateDepths(ctx)
		wait := d.Poll
		if next, err := outbox.NextDue(ctx, d.DB); err == nil && !next.IsZero() {
			if w := next.Sub(d.Clock.Now()); w < wait {
				wait = max(w, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// attempt makes one delivery attempt and records its outcome.
func (d *Deliverer) attempt(ctx context.Context, it *outbox.Item) {
	start := d.Clock.Now()
	r, reason := d.try(ctx, it)
	o, reply := r.Outcome, r.reply
	now := d.Clock.Now()
	if !o.Delivered && !o.Final {
		if it.Attempts > d.Schedule.Retries {
			o.Final = true
			o.Detail = fmt.Sprintf("gave up after %d attempts; last: %s", it.Attempts, o.Detail)
			reason = "attempts_exhausted"
		} else {
			o.RetryAt = now.Add(d.Schedule.Delay(it.Attempts))
		}
	}
	var transition outbox.Transition
	err := store.InTx(ctx, d.DB, func(tx *sql.Tx) error {
		transition = outbox.Transition{}
		if err := outbox.Record(ctx, tx, it, o, now); err != nil {
			return err
		}
		// A status request's answer, or an acknowledgement that is already
		// more than "waiting" (e.g. rejected on arrival), goes through the
		// transition table.
		if o.Delivered && reply != nil && (it.Kind == outbox.KindStatusRequest ||
			it.Kind == outbox.KindRegistration && !outbox.State(reply.Status).Waiting()) {
			t, err := outbox.ApplyStatus(ctx, tx, it.RecipientGUID, reply, now)
			if err != nil && !errors.Is(err, outbox.ErrUnknownDocument) {
				return err
			}
			transition = t
		}
		return nil
	})
	if err != nil {
		d.Log.Error("cannot record an attempt; it will be retried", "id", it.ID, "error", err)
		return
	}
	d.Transitions.Observe(transition)
	d.Metrics.observe(it, o, reason, now.Sub(start), now.Sub(it.CreatedAt))
	lvl := d.Log.Info
	if !o.Delivered {
		lvl = d.Log.Warn
	}
	lvl("outbox: attempt", "id", it.ID, "kind", it.Kind, "recipient", it.RecipientGUID, "document_guid", it.DocumentGUID,
		"attempt", it.Attempts, "delivered", o.Delivered, "final", o.Final, "reason", reason, "detail", o.Detail)
}

// result is an attempt's outcome plus the parsed acknowledgement.
type result struct {
	outbox.Outcome
	reply *seos.StatusResponse
}

func retry(format string, args ...any) result {
	return result{Outcome: outbox.Outcome{Detail: fmt.Sprintf(format, args...)}}
}

func final(format string, args ...any) result {
	return result{Outcome: outbox.Outcome{Final: true, Detail: fmt.Sprintf(format, args...)}}
}

// try resolves, builds, signs, posts and judges the reply. The second
// value is the failure reason label ("" when delivered).
func (d *Deliverer) try(ctx context.Context, it *outbox.Item) (result, string) {
	recipient, err := d.Dir.ByGUID(ctx, it.RecipientGUID)
	if err != nil {
		return retry("register lookup: %v", err), "register"
	}
	self, err := d.Dir.ByGUID(ctx, d.Self.GUID)
	if err != nil {
		return retry("register lookup: %v", err), "register"
	}
	if dec := d.Policy.MayExchange(self, recipient); !dec.Allowed {
		switch dec.Reason {
		case register.ReasonTemporarilyInactive, register.ReasonServiceInactive, register.ReasonSelfInactive, register.ReasonSelfUnknown:
			return retry("recipient may not exchange now: %s", dec.Detail), string(dec.Reason)
		}
		return final("recipient may not exchange: %s", dec.Detail), string(dec.Reason)
	}
	msg, err := d.build(it, recipient)
	if err != nil {
		return final("cannot build the message: %v", err), "build"
	}
	env, err := d.envelope(msg, it.RecipientGUID)
	if err != nil {
		var se *seos.SchemaError
		var re *seos.RuleError
		if errors.As(err, &se) || errors.As(err, &re) {
			return final("cannot build the message: %v", err), "build"
		}
		return retry("cannot write the message: %v", err), "store"
	}
	svc := recipient.ExchangeService()
	r, reason := d.post(ctx, it, recipient, svc.URI, msg, env)
	r.MessageGUID = msg.Header.MessageGUID
	return r, reason
}

// envelope writes the signed message in its Submit envelope, in one pass:
// attachments stream from the file store, the digest is taken while the
// bytes are written, and the bytes go to a file when they are large. They
// are kept (the message log refers to them) before they are sent.
func (d *Deliverer) envelope(m *seos.Message, recipient string) (blob.Kept, error) {
	h := xmldsig.SHA256
	if d.Hash != nil {
		h = d.Hash(recipient)
	}
	id := d.Identity.Current()
	signer := &xmldsig.Signer{Key: id.Key, Cert: id.Cert, Hash: h}
	sp := d.Files.NewSpill(rawInline)
	err := soap.WriteSubmit(sp, func(w io.Writer) error { return signer.WriteSigned(w, m, d.open) })
	if err != nil {
		sp.Discard()
		return blob.Kept{}, err
	}
	return sp.Keep()
}

// rawInline is how much of a message we send is kept in its log row
// rather than in a file.
const rawInline = blob.InlineMessage

func (d *Deliverer) open(s *seos.StoredBody) (io.ReadCloser, error) {
	if d.Files == nil {
		return nil, errors.New("no file store is open")
	}
	return d.Files.Open(s.Blob)
}

func (d *Deliverer) build(it *outbox.Item, to *register.Entity) (*seos.Message, error) {
	// A new message (and MessageGUID) per attempt: a receiver refuses a
	// repeated MessageGUID.
	m := seos.NewMessage(d.Self, to.Node(), d.Clock.Now(), seos.Body{})
	req := it.Request
	switch it.Kind {
	case outbox.KindRegistration:
		if req.Document == nil {
			return nil, errors.New("registration without a document")
		}
		m.Body.RegistrationRequest = &seos.RegistrationRequest{Document: *req.Document, Comment: req.Comment}
	case outbox.KindStatus:
		if req.Status == nil {
			return nil, errors.New("status notification without a status")
		}
		m.Body.StatusResponse = req.Status
	case outbox.KindStatusRequest:
		if req.DocID == nil {
			return nil, errors.New("status request without a DocID")
		}
		m.Body.StatusRequest = &seos.StatusRequest{DocID: *req.DocID}
	default:
		return nil, fmt.Errorf("unknown kind %q", it.Kind)
	}
	return m, nil
}

// post sends env to the recipient's endpoint and judges what comes back.
func (d *Deliverer) post(ctx context.Context, it *outbox.Item, to *register.Entity, endpoint string, msg *seos.Message, env blob.Kept) (result, string) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return final("the register lists endpoint %q, which is not an https URL", endpoint), "bad_endpoint"
	}
	now := d.Clock.Now()
	outLog := &msglog.Entry{Direction: msglog.Out, At: now, PeerGUID: to.GUID, PeerSerial: to.CertificateSN,
		MessageType: string(msg.Header.MessageType), MessageGUID: msg.Header.MessageGUID, DocumentGUID: it.DocumentGUID,
		Outcome: "sent", Size: int(env.Size), Raw: env.Data, RawFile: env.Ref}
	logID, err := msglog.Insert(ctx, d.DB, outLog)
	if err != nil {
		return retry("message log: %v", err), "store"
	}
	actx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	var sent io.Reader = bytes.NewReader(env.Data)
	if env.Ref != "" {
		f, err := d.Files.Open(env.Ref)
		if err != nil {
			d.setLogOutcome(ctx, logID, "failed", err.Error())
			return retry("the message's file: %v", err), "store"
		}
		defer f.Close()
		sent = f
	}
	// The connection, to read a TLS alert the recipient sent after its
	// side of a TLS 1.3 handshake (see tlsRefusal).
	var conn *tls.Conn
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { conn, _ = i.Conn.(*tls.Conn) }})
	req, _ := http.NewRequestWithContext(actx, http.MethodPost, endpoint, sent)
	req.ContentLength = env.Size
	req.Header.Set("Content-Type", soap.ContentType)
	req.Header.Set("SOAPAction", `"`+soap.Action+`"`)
	// The body follows the recipient's 100 Continue (as .NET clients ask by
	// default): under TLS 1.3 a recipient that refuses our certificate says
	// so after the handshake, and its alert must reach us before we write
	// megabytes into a closed connection ("broken pipe").
	req.Header.Set("Expect", "100-continue")
	var serverCert *x509.Certificate
	resp, err := d.client(u.Hostname(), to.CertificateSN).Do(req)
	if err != nil {
		d.setLogOutcome(ctx, logID, "failed", err.Error())
		var ce *trust.CertError
		if errors.As(err, &ce) {
			return retry("TLS: %v", err), "tls_" + ce.Reason
		}
		if r, reason, ok := tlsRefusal(err, conn, d.Identity.Current()); ok {
			return r, reason
		}
		return retry("network: %v", err), "network"
	}
	defer resp.Body.Close()
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		serverCert = resp.TLS.PeerCertificates[0]
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, d.MaxReply+1))
	if err != nil {
		d.setLogOutcome(ctx, logID, "failed", err.Error())
		return retry("reading the reply: %v", err), "network"
	}
	if int64(len(body)) > d.MaxReply {
		d.setLogOutcome(ctx, logID, "failed", "reply too large")
		return retry("reply larger than %d bytes", d.MaxReply), "bad_reply"
	}
	inLog := &msglog.Entry{Direction: msglog.In, At: d.Clock.Now(), PeerGUID: to.GUID, PeerSerial: pki.SerialHex(serverCert),
		ReplyTo: logID, DocumentGUID: it.DocumentGUID, Size: len(body), Raw: body}
	r, reason := d.judge(ctx, resp.StatusCode, body, it, to, serverCert, msg, inLog)
	if r.Delivered {
		inLog.Outcome = "accepted"
	} else {
		inLog.Outcome, inLog.Reason, inLog.Detail = "not_accepted", reason, r.Detail
	}
	if _, err := msglog.Insert(ctx, d.DB, inLog); err != nil {
		d.Log.Error("message log", "error", err)
	}
	return r, reason
}

func (d *Deliverer) setLogOutcome(ctx context.Context, id int64, outcome, detail string) {
	if err := msglog.SetOutcome(ctx, d.DB, id, outcome, "", detail); err != nil {
		d.Log.Error("message log", "error", err)
	}
}

// snippet is the start of a body for an error message, cut on a rune boundary.
func snippet(b []byte) string {
	const n = 120
	if len(b) <= n {
		return string(b)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "..."
}

// judge reads the reply: only a schema-valid message signed with the
// recipient's registered certificate (the one it served TLS with),
// from the recipient to us, is believed.
func (d *Deliverer) judge(ctx context.Context, status int, body []byte, it *outbox.Item, to *register.Entity, serverCert *x509.Certificate, sent *seos.Message, inLog *msglog.Entry) (result, string) {
	payload, err := soap.ParseSubmitResponse(body)
	var sf *soap.Fault
	switch {
	case errors.As(err, &sf) && sf.Peer:
		// Only a fault the recipient sent about our request is final; a
		// proxy's error page or a busy answer is a network failure.
		if sf.Code == "Client" || sf.Code == "VersionMismatch" || sf.Code == "MustUnderstand" {
			return final("the recipient refused the request with SOAP fault %s: %s", sf.Code, sf.String), "soap_fault"
		}
		return retry("SOAP fault %s: %s", sf.Code, sf.String), "soap_fault"
	case err != nil || status != http.StatusOK:
		return retry("HTTP %d without a SubmitResponse: %s", status, snippet(body)), "http_status"
	}
	if len(payload) == 0 {
		if it.Kind == outbox.KindStatus {
			return result{Outcome: outbox.Outcome{Delivered: true, Detail: "acknowledged (empty SubmitResult)"}}, ""
		}
		return retry("empty SubmitResult where a status was due"), "bad_reply"
	}
	m, doc, err := seos.Parse(payload)
	if err != nil {
		return retry("reply not believed: %v", err), "bad_reply"
	}
	inLog.MessageType, inLog.MessageGUID = string(m.Header.MessageType), m.Header.MessageGUID
	res, err := xmldsig.Verify(doc, xmldsig.Options{Now: d.Clock.Now})
	switch {
	case err != nil:
		return retry("reply not believed: %v", err), "reply_signature"
	case serverCert == nil || !res.Cert.Equal(serverCert) || !to.HasCertificate(pki.SerialHex(res.Cert)):
		return retry("reply not believed: signed with certificate %s, the recipient's is %s", pki.SerialHex(res.Cert), to.CertificateSN), "reply_signer"
	case d.Trust.CheckKey(res.Cert) != nil:
		return retry("reply not believed: %v", d.Trust.CheckKey(res.Cert)), "tls_weak_key"
	case !seos.EqualGUID(m.Header.Sender.GUID, to.GUID) || !d.toUs(m):
		return retry("reply not believed: it is from %s to %s", m.Header.Sender.GUID, m.Header.Recipient.GUID), "reply_parties"
	}
	if d.PeerSeen != nil {
		d.PeerSeen(to.GUID, res.Cert.NotAfter)
	}
	switch b := m.Body; {
	case b.Error != nil:
		if b.Error.MessageGUID != nil && !seos.EqualGUID(*b.Error.MessageGUID, sent.Header.MessageGUID) {
			return retry("reply not believed: an Error about message %s", *b.Error.MessageGUID), "reply_parties"
		}
		if b.Error.Type == seos.ErrInternal {
			// ERR_INTERNAL is the recipient's own failure (PROTOCOL §3: its
			// database is down, its disk full), not a verdict on the
			// document: the same message later can succeed, and its
			// DocumentGUID dedupe makes a repeat harmless. It is retried on
			// the protocol schedule, which bounds it. ERR_EXTERNAL says the
			// message itself is wrong, and sending it again changes nothing:
			// final, as PROTOCOL §5 says of every Error.
			return retry("the recipient answered ERR_INTERNAL (its own failure; retried): %s", b.Error.Description), "peer_error_internal"
		}
		if rotation.BlamesCertificate(b.Error) {
			if ch, ok := d.Grace.Active(ctx); ok {
				return retry("the recipient answered %s: %s; retried, not final: our register certificate changed at %s (%s -> %s) and the recipient's register copy may not have followed yet (tls.rotation_grace)",
					b.Error.Type, b.Error.Description, ch.SeenAt.UTC().Format(time.RFC3339), ch.From, ch.To), "peer_error_rotation_grace"
			}
		}
		return final("the recipient answered %s: %s", b.Error.Type, b.Error.Description), "peer_error"
	case b.StatusResponse != nil:
		r := b.StatusResponse
		if !seos.EqualGUID(r.DocID.GUID, it.DocumentGUID) {
			return retry("reply not believed: it is about document %s", r.DocID.GUID), "reply_parties"
		}
		return result{Outcome: outbox.Outcome{Delivered: true, DocStatus: string(r.Status), Detail: string(r.Status)}, reply: r}, ""
	}
	return retry("reply not believed: unexpected %s", m.Header.MessageType), "bad_reply"
}

// toUs reports whether a reply is addressed to us: to our GUID, or an
// Error to seosgw's stand-in for a sender it could not identify (it
// refused our TLS certificate before reading the message). The reply came
// on our own connection from the recipient's registered certificate, so
// such an Error is the recipient's answer to us.
func (d *Deliverer) toUs(m *seos.Message) bool {
	r := m.Header.Recipient.GUID
	return seos.EqualGUID(r, d.Self.GUID) || (m.Body.Error != nil && seos.EqualGUID(r, seos.UnknownSender.GUID))
}

// client returns a mutual-TLS client for host that only talks to a server
// presenting the certificate serial the register lists for the recipient.
func (d *Deliverer) client(host, serial string) *http.Client {
	key := host + "|" + pki.NormalizeSerial(serial)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.clients == nil {
		d.clients = map[string]*http.Client{}
	}
	if c := d.clients[key]; c != nil {
		return c
	}
	cfg := d.Trust.PeerTLS(d.Identity, host, serial)
	c := &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // the SEOS network is not behind an Internet proxy
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     cfg,
			TLSHandshakeTimeout: 30 * time.Second,
			// A recipient that ignores Expect gets the body after this.
			ExpectContinueTimeout: time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	d.clients[key] = c
	return c
}

// CloseIdle drops the kept-alive connections to peers: after our
// certificate was swapped, the next attempt shakes hands with the new one.
func (d *Deliverer) CloseIdle() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.clients {
		c.CloseIdleConnections()
	}
}

// askAboutWaiting queues status requests for documents waiting
// registration: the first after StatusAfter, each next one after twice the
// gap before it, capped at StatusMaxInterval.
func (d *Deliverer) askAboutWaiting(ctx context.Context) {
	now := d.Clock.Now()
	items, err := outbox.AwaitingStatus(ctx, d.DB, now, now.Add(-d.StatusAfter))
	if err != nil {
		d.Log.Error("status poll", "error", err)
		return
	}
	for _, it := range items {
		gap := d.statusGap(it.StatusAsks + 1)
		err := store.InTx(ctx, d.DB, func(tx *sql.Tx) error {
			id := seos.DocumentID{GUID: it.DocumentGUID}
			if _, _, err := outbox.Enqueue(ctx, tx, outbox.Entry{Kind: outbox.KindStatusRequest, Recipient: it.RecipientGUID,
				Document: it.DocumentGUID, Request: &outbox.Request{DocID: &id}}, now); err != nil {
				return err
			}
			if err := outbox.MarkAsked(ctx, tx, it.ID, now, now.Add(gap)); err != nil {
				return err
			}
			return outbox.AddEvent(ctx, tx, it.ID, "status_asked", fmt.Sprintf("question %d while %s; the next not before %s",
				it.StatusAsks+1, it.DocStatus, now.Add(gap).UTC().Format(time.RFC3339)), now)
		})
		if err != nil {
			d.Log.Error("queue a status request", "id", it.ID, "error", err)
		}
	}
}

// statusGap is the wait after the n-th question (n ≥ 1): StatusAfter·2^n,
// at most StatusMaxInterval.
func (d *Deliverer) statusGap(n int) time.Duration {
	limit := max(d.StatusMaxInterval, d.StatusAfter)
	gap := d.StatusAfter
	for i := 0; i < n && gap < limit; i++ {
		if gap > limit/2 {
			gap = limit
		} else {
			gap *= 2
		}
	}
	return min(gap, limit)
}

func (d *Deliverer) updateDepths(ctx context.Context) {
	if depths, err := outbox.Depths(ctx, d.DB); err == nil {
		d.Metrics.setDepths(depths)
	}
}
