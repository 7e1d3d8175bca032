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
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
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
	Hash  func(peerGUID string) xmldsig.Hash
	DB    *sql.DB
	Clock clock.Clock
	Skew  time.Duration // accepted MessageDate distance from our clock
	// MaxMessageBytes is the request size limit (the HTTP layer enforces it).
	MaxMessageBytes int64
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
}

// Request is one HTTP request body with what TLS told us about the peer.
type Request struct {
	Body       []byte
	Size       int64 // bytes that arrived (more than len(Body) when truncated)
	TooLarge   bool  // the body exceeded the limit; Body holds a prefix
	ClientCert *x509.Certificate
}

// Response is what to write back: a SOAP envelope, HTTP 200 or 500.
type Response struct {
	Status int
	Body   []byte
}

// maxLoggedRefusal bounds what the log keeps of a refused request.
const maxLoggedRefusal = 1 << 20

// exchange carries one request through the steps.
type exchange struct {
	req     Request
	start   time.Time
	serial  string // TLS client certificate serial
	payload []byte // the Message text from Submit/request
	msg     *seos.Message
	doc     *etree.Document
	sender  *register.Entity
	self    *register.Entity // our register entry
	msgType string
	guess   headerGuess // from a message that failed to parse
}

// Handle runs the pipeline. Every refusal becomes a signed Error reply; only
// a request that is not a SOAP Submit at all gets a SOAP fault. Panics become
// ERR_INTERNAL and never show internals to the peer.
func (p *Pipeline) Handle(ctx context.Context, req Request) (resp Response) {
	x := &exchange{req: req, start: p.Clock.Now()}
	if req.ClientCert != nil {
		x.serial = pki.SerialHex(req.ClientCert)
	}
	p.Metrics.inFlight.Inc()
	defer p.Metrics.inFlight.Dec()
	defer func() {
		if r := recover(); r != nil {
			p.Log.Error("panic", "panic", r, "stack", string(debug.Stack()))
			resp = p.refuse(ctx, x, ourFault(Internal, "Вътрешна грешка при обработката на съобщението.", "panic while processing", fmt.Errorf("%v", r)))
		}
		p.Metrics.size.Observe(float64(req.Size))
		p.Metrics.latency.Observe(p.Clock.Now().Sub(x.start).Seconds())
	}()
	for _, step := range []func(context.Context, *exchange) error{
		p.checkSize,
		p.checkTLSIdentity,
		p.unwrapSOAP,
		p.parseMessage,
		p.checkRecipient,
		p.checkSender,
		p.checkTLSCertificate,
		p.checkSignature,
		p.checkEIKs,
		p.checkClock,
	} {
		if err := step(ctx, x); err != nil {
			var sf *soap.Fault
			if errors.As(err, &sf) {
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

func (p *Pipeline) soapFault(ctx context.Context, x *exchange, f *soap.Fault) Response {
	p.Metrics.requests.WithLabelValues("none", "soap_fault").Inc()
	p.Log.Info("not a SOAP Submit", "peer_serial", x.serial, "fault", f.String)
	body := soap.FaultEnvelope(f)
	p.logRefused(ctx, x, "soap_fault", f.String, body)
	return Response{Status: 500, Body: body}
}

// logRefused records the refused request (bounded) and our answer.
func (p *Pipeline) logRefused(ctx context.Context, x *exchange, reason, detail string, reply []byte) {
	raw, truncated := x.req.Body, x.req.TooLarge
	if len(raw) > maxLoggedRefusal {
		raw, truncated = raw[:maxLoggedRefusal], true
	}
	now := p.Clock.Now()
	in := &msglog.Entry{Direction: msglog.In, At: now, PeerSerial: x.serial, Outcome: "refused", Reason: reason, Detail: detail,
		Size: int(x.req.Size), Truncated: truncated, Raw: raw}
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
	if _, err := msglog.Insert(ctx, p.DB, in); err != nil {
		p.Log.Error("message log", "error", err)
		return
	}
	out := &msglog.Entry{Direction: msglog.Out, At: now, PeerGUID: in.PeerGUID, PeerSerial: x.serial, ReplyTo: in.ID,
		MessageType: string(seos.TypeError), Outcome: "replied", Reason: reason, Size: len(reply), Raw: reply}
	if _, err := msglog.Insert(ctx, p.DB, out); err != nil {
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
