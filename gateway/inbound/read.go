package inbound

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// What one request keeps in memory of its bytes before the rest goes to
// a file: the raw request (for the message log) and each attachment.
const (
	rawInline  = blob.InlineMessage
	bodyInline = blob.InlineFile
)

// readRequest reads the body once, as it arrives: every byte into the
// message log's copy (a file when large), the SOAP envelope around the
// message, and the message's tokens into the schema reader (attachment
// bodies decoded straight into files, a small tree for the rest) and the
// signature digester. The verdict is the one a reader of the whole body
// would reach: a broken envelope is a SOAP fault, whatever the message.
func (p *Pipeline) readRequest(_ context.Context, x *exchange) error {
	x.raw = p.Files.NewSpill(rawInline)
	body := &limitedBody{r: x.req.Body, max: p.MaxMessageBytes, raw: x.raw}
	env := soap.NewEnvelopeReader(body, envelopeLimits, "Submit", "request")
	part, err := env.Part()
	if part == nil {
		x.req.Size = body.n
		if body.werr != nil {
			return ourFault(Internal, "Съобщението не може да бъде съхранено.", "cannot keep the request's bytes", body.werr)
		}
		if body.over {
			x.over = true
			return p.tooLarge()
		}
		if err != nil {
			return p.envelopeFailure(err)
		}
		return senderFault(NotWellFormed, "Заявката не съдържа съобщение.", "Submit carries no message", nil)
	}
	x.digester = xmldsig.NewDigester()
	tz := xmltok.NewSize(part, messageLimits, 32<<10)
	msg, tree, merr := seos.ReadMessage(tz, seos.ReadOptions{
		Body:         x.newBody,
		MaxBodyBytes: p.MaxAttachmentBytes,
		Observe:      x.digester.Token,
	})
	ferr := env.Finish()
	x.req.Size = body.n
	switch {
	case body.werr != nil:
		return ourFault(Internal, "Съобщението не може да бъде съхранено.", "cannot keep the request's bytes", body.werr)
	case body.over:
		x.over = true
		return p.tooLarge()
	case ferr != nil:
		return p.envelopeFailure(ferr)
	}
	if merr != nil {
		return p.messageFailure(x, env, tree, merr)
	}
	x.msg, x.tree = msg, tree
	x.msgType = string(msg.Header.MessageType)
	return nil // msg.Tolerated is counted at accept, not for refusals
}

// envelopeLimits and messageLimits are the tokenizer's caps for the two
// documents a request holds. A message's declarations and attributes are
// capped below the tokenizer's defaults: what it keeps of them is held
// until the message is judged (seos.ReadMessage caps the rest).
var (
	envelopeLimits = xmltok.Limits{}
	messageLimits  = xmltok.Limits{MaxNamespaces: 4096, MaxAttrs: 1 << 14}
)

// envelopeFailure is a SOAP fault, or a body that stopped arriving.
func (p *Pipeline) envelopeFailure(err error) error {
	var f *soap.Fault
	if errors.As(err, &f) {
		return f
	}
	return &readError{err}
}

// readError is a body that could not be read (the peer went away, or
// sent too slowly): nobody is left to answer.
type readError struct{ err error }

func (e *readError) Error() string { return "reading the request: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func (p *Pipeline) tooLarge() error {
	return senderFault(TooLarge,
		fmt.Sprintf("Съобщението надвишава допустимия размер от %d MiB.", p.MaxMessageBytes>>20),
		fmt.Sprintf("request larger than %d bytes", p.MaxMessageBytes), nil)
}

// messageFailure names why the message inside a good envelope was refused.
func (p *Pipeline) messageFailure(x *exchange, env *soap.EnvelopeReader, tree *etree.Document, err error) error {
	if tree != nil {
		x.guess = guessHeader(tree) // for the Error's MessageGUID and Recipient
	}
	var xe *xmldoc.Error
	var big *seos.BodyTooLarge
	switch {
	case errors.As(err, &big):
		return senderFault(TooLarge,
			fmt.Sprintf("Приложение %d надвишава допустимия размер от %d MiB.", big.Index+1, big.Limit>>20),
			big.Error(), err).WithGUID(x.guess.messageGUID)
	case errors.As(err, &xe) && env.PartEmpty():
		return senderFault(NotWellFormed, "Заявката не съдържа съобщение.", "Submit carries no message", nil)
	case errors.As(err, &xe) && xe.Limit:
		return senderFault(TooComplex, "Съобщението надвишава допустимата сложност: "+xe.Msg, "message over a limit", err).WithGUID(x.guess.messageGUID)
	case errors.As(err, &xe):
		return senderFault(NotWellFormed, "Съобщението не е валиден XML документ: "+xe.Msg, "message is not acceptable XML", err).WithGUID(x.guess.messageGUID)
	}
	var se *seos.SchemaError
	var re *seos.RuleError
	if errors.As(err, &se) || errors.As(err, &re) {
		return senderFault(SchemaInvalid, "Съобщението не отговаря на схемата: "+err.Error(), "message breaks the schema", err).WithGUID(x.guess.messageGUID)
	}
	return ourFault(Internal, "Съобщението не може да бъде съхранено.", "cannot keep the message's attachments", err)
}

// newBody gives an attachment body somewhere to go as it is decoded.
func (x *exchange) newBody(int) (io.Writer, error) {
	sp := x.files.NewSpill(bodyInline)
	x.bodies = append(x.bodies, sp)
	return sp, nil
}

// messageSignature is the root's signature in the kept tree (the
// Digester excluded the same one from the digests).
func messageSignature(tree *etree.Document) *etree.Element {
	for _, k := range tree.Root().ChildElements() {
		if k.Tag == "Signature" && k.NamespaceURI() == seos.NSDSig {
			return k
		}
	}
	return nil
}

// reread reads the message again from the request's kept bytes, for a
// digest the single pass did not compute.
func (x *exchange) reread(f func(*xmltok.Token)) error {
	env := soap.NewEnvelopeReader(x.raw.Reader(), envelopeLimits, "Submit", "request")
	part, err := env.Part()
	if part == nil {
		return fmt.Errorf("reread: %v", err)
	}
	return xmltok.New(part, messageLimits).Each(f)
}

// limitedBody counts and keeps what it reads, and stops past max.
type limitedBody struct {
	r    io.Reader
	max  int64
	n    int64
	over bool
	raw  *blob.Spill
	werr error // keeping the bytes failed (our disk, not the peer)
}

var errTooLarge = errors.New("request larger than allowed")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.over {
		return 0, errTooLarge
	}
	if left := b.max + 1 - b.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if n > 0 {
		if _, werr := b.raw.Write(p[:n]); werr != nil {
			b.werr = werr
			return n, werr
		}
	}
	if b.n > b.max {
		b.over = true
		return n, errTooLarge
	}
	return n, err
}
