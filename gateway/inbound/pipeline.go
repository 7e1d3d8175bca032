// Package inbound is the participant's front door: the SOAP Submit endpoint
// over mutual TLS and the acceptance pipeline every message passes before it
// is stored and answered with a signed reply.
package inbound

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
)

// Directory is the register copy the pipeline judges senders by.
type Directory interface {
	ByGUID(ctx context.Context, guid string) (*register.Entity, error)
	BySerial(ctx context.Context, serial string) ([]*register.Entity, error)
}

// Pipeline accepts or refuses one Submit at a time; it is safe for
// concurrent use.
type Pipeline struct {
	Self   seos.Entity // this participant, as the register lists it
	Dir    Directory
	Policy register.Policy
	// Identity signs the replies: our transport certificate and key in
	// force at each reply.
	Identity pki.Source
	// Hash is the signature hash for replies to a peer (sha1 for old .NET
	// peers configured so); nil signs with sha256.
	Hash func(peerGUID string) xmldsig.Hash
	DB   *sql.DB
	// Files is where large attachments and the bytes of large requests
	// are kept (the folder beside the database).
	Files *blob.Store
	// Commit, when set, groups the transactions of concurrent requests
	// (one fsync for many); nil: each request commits its own.
	Commit *store.Committer
	Clock  clock.Clock
	Skew   time.Duration // accepted MessageDate distance from our clock
	// MaxMessageBytes is the request size limit; MaxAttachmentBytes the
	// limit of one decoded attachment (0: none but the request's).
	MaxMessageBytes    int64
	MaxAttachmentBytes int64
	// MinRSABits is the smallest RSA key a signature may be made with
	// (tls.min_rsa_bits); 0 is pki.DefaultMinRSABits.
	MinRSABits int
	Log        *slog.Logger
	Metrics    *Metrics
	// Transitions logs and counts what peers' status reports did to the
	// documents we sent (nil: not counted).
	Transitions *outbox.Observer
	// Received, when set, is called after a document is committed (to wake
	// the AIS bridge); it must not block.
	Received func(inboxID int64)
	// Judge, when set, means a received document waits for the acceptance
	// policy's verdict (inbox state checking) before the AIS sees it: Judge
	// is called after the commit instead of Received, to wake the judge,
	// and must not block. The reply is DS_WAIT_REGISTRATION either way; a
	// refusal follows as its own DS_REJECTED notification.
	Judge func(inboxID int64)
	// PeerSeen, when set, is told each sender's certificate expiry.
	PeerSeen func(guid string, notAfter time.Time)

	stmtsOnce sync.Once
	stmts     *store.Stmts
}

// q is the database with its statements prepared once.
func (p *Pipeline) q() store.Querier {
	p.stmtsOnce.Do(func() { p.stmts = store.NewStmts(p.DB) })
	return p.stmts.On(p.DB)
}

// Request is one HTTP request body, as it arrives, with what TLS told us
// about the peer.
type Request struct {
	Body io.Reader
	// Declared is the Content-Length the peer announced (-1: none).
	Declared   int64
	ClientCert *x509.Certificate
	// Size is how many bytes arrived (set while reading).
	Size int64
}

// Response is what to write back: a SOAP envelope, HTTP 200 or 500.
// Close asks for the connection to be closed (the body was not read to
// its end).
type Response struct {
	Status int
	Body   []byte
	Close  bool
}

// maxLoggedRefusal bounds what the log keeps of a refused request.
const maxLoggedRefusal = 1 << 20

// exchange carries one request through the steps.
type exchange struct {
	req      Request
	start    time.Time
	serial   string // TLS client certificate serial
	files    *blob.Store
	raw      *blob.Spill   // the request's bytes as they arrived
	bodies   []*blob.Spill // the attachments' decoded bytes
	digester *xmldsig.Digester
	msg      *seos.Message
	tree     *etree.Document // the message without its attachment bodies
	sender   *register.Entity
	self     *register.Entity // our register entry
	msgType  string
	guess    headerGuess // from a message that failed to parse
	over     bool        // more arrived than the limit
}

// Handle runs the pipeline. Every refusal becomes a signed Error reply; only
// a request that is not a SOAP Submit at all gets a SOAP fault. Panics become
// ERR_INTERNAL and never show internals to the peer.
func (p *Pipeline) Handle(ctx context.Context, req Request) (resp Response) {
	x := &exchange{req: req, start: p.Clock.Now(), files: p.Files}
	if req.ClientCert != nil {
		x.serial = pki.SerialHex(req.ClientCert)
	}
	p.Metrics.inFlight.Inc()
	defer p.Metrics.inFlight.Dec()
	defer x.discard()
	defer func() {
		if r := recover(); r != nil {
			p.Log.Error("panic", "panic", r, "stack", string(debug.Stack()))
			resp = p.refuse(ctx, x, ourFault(Internal, "Вътрешна грешка при обработката на съобщението.", "panic while processing", fmt.Errorf("%v", r)))
		}
		p.Metrics.size.Observe(float64(x.req.Size))
		p.Metrics.latency.Observe(p.Clock.Now().Sub(x.start).Seconds())
	}()
	for _, step := range []func(context.Context, *exchange) error{
		p.checkSize,
		p.checkTLSIdentity,
		p.readRequest,
		p.checkRecipient,
		p.checkSender,
		p.checkTLSCertificate,
		p.checkSignature,
		p.checkEIKs,
		p.checkClock,
	} {
		if err := step(ctx, x); err != nil {
			var sf *soap.Fault
			var re *readError
			switch {
			case errors.As(err, &re):
				p.Log.Warn("reading the request failed", "error", err, "read", x.req.Size, "peer_serial", x.serial)
				return Response{Status: 400, Body: []byte("request body could not be read\n"), Close: true}
			case errors.As(err, &sf):
				return p.soapFault(ctx, x, sf)
			}
			return p.refuse(ctx, x, asFault(err))
		}
	}
	resp, err := p.accept(ctx, x)
	if err != nil {
		return p.refuse(ctx, x, asFault(err))
	}
	return resp
}

// discard drops the bytes of a request that were not kept.
func (x *exchange) discard() {
	if x.raw != nil {
		x.raw.Discard()
	}
	for _, b := range x.bodies {
		b.Discard()
	}
}

// inTx runs fn in a transaction: the shared one of the committer, or its own.
func (p *Pipeline) inTx(ctx context.Context, fn func(store.Querier) error) error {
	if p.Commit != nil {
		return p.Commit.Do(ctx, fn)
	}
	p.q() // prepare the statements cache
	return store.InTx(ctx, p.DB, func(tx *sql.Tx) error { return fn(p.stmts.On(tx)) })
}

func (p *Pipeline) soapFault(ctx context.Context, x *exchange, f *soap.Fault) Response {
	p.Metrics.requests.WithLabelValues("none", "soap_fault").Inc()
	p.Log.Info("not a SOAP Submit", "peer_serial", x.serial, "fault", f.String)
	body := soap.FaultEnvelope(f)
	p.logRefused(ctx, x, "soap_fault", f.String, body)
	return Response{Status: 500, Body: body, Close: x.unread()}
}

// unread says whether the request's body was not read to its end (it was
// refused before, or was over the limit): the connection must close.
func (x *exchange) unread() bool {
	return x.over || x.req.Declared > 0 && x.req.Size < x.req.Declared
}

// logRefused records the refused request (bounded) and our answer.
func (p *Pipeline) logRefused(ctx context.Context, x *exchange, reason, detail string, reply []byte) {
	var raw []byte
	truncated := false
	if x.raw != nil {
		raw = x.raw.Prefix(maxLoggedRefusal)
		truncated = int64(len(raw)) < x.req.Size || x.req.Declared > x.req.Size
	}
	size := x.req.Size
	if x.req.Declared > size {
		size = x.req.Declared // what the peer announced; we read less
	}
	now := p.Clock.Now()
	in := &msglog.Entry{Direction: msglog.In, At: now, PeerSerial: x.serial, Outcome: "refused", Reason: reason, Detail: detail,
		Size: int(size), Truncated: truncated, Raw: raw}
	if x.sender != nil {
		in.PeerGUID = x.sender.GUID
	}
	in.MessageGUID = x.guess.messageGUID
	if x.guess.sender != nil {
		in.PeerGUID = x.guess.sender.GUID
	}
	if x.msg != nil {
		in.PeerGUID = x.msg.Header.Sender.GUID
		in.MessageType, in.MessageGUID = string(x.msg.Header.MessageType), x.msg.Header.MessageGUID
		in.DocumentGUID = documentGUID(x.msg)
	}
	out := &msglog.Entry{Direction: msglog.Out, At: now, PeerGUID: in.PeerGUID, PeerSerial: x.serial,
		MessageType: string(seos.TypeError), Outcome: "replied", Reason: reason, Size: len(reply), Raw: reply}
	err := p.inTx(ctx, func(q store.Querier) error {
		if _, err := msglog.Insert(ctx, q, in); err != nil {
			return err
		}
		out.ReplyTo = in.ID
		_, err := msglog.Insert(ctx, q, out)
		return err
	})
	if err != nil {
		p.Log.Error("message log", "error", err)
	}
}

func documentGUID(m *seos.Message) string {
	switch b := m.Body; {
	case b.RegistrationRequest != nil:
		return b.RegistrationRequest.Document.ID.GUID
	case b.StatusRequest != nil:
		return b.StatusRequest.DocID.GUID
	case b.StatusResponse != nil:
		return b.StatusResponse.DocID.GUID
	}
	return ""
}
