package inbound

import (
	"context"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// refuse answers with a signed Error naming the refused message.
func (p *Pipeline) refuse(ctx context.Context, x *exchange, f *Fault) Response {
	if f.MessageGUID == "" {
		switch {
		case x.msg != nil:
			f.MessageGUID = x.msg.Header.MessageGUID
		case x.guess.messageGUID != "":
			f.MessageGUID = x.guess.messageGUID
		}
	}
	msgType := x.msgType
	if msgType == "" {
		msgType = "unknown"
	}
	p.Metrics.requests.WithLabelValues(msgType, "refused").Inc()
	p.Metrics.refusals.WithLabelValues(string(f.Reason)).Inc()
	level := p.Log.Warn
	if f.Kind == seos.ErrInternal {
		level = p.Log.Error
	}
	level("inbound: refused", "reason", f.Reason, "error_type", f.Kind, "message_guid", f.MessageGUID, "peer_serial", x.serial, "detail", f.Error())

	errBody := &seos.ErrorBody{Type: f.Kind, Description: f.Description()}
	if f.MessageGUID != "" {
		errBody.MessageGUID = seos.Str(f.MessageGUID)
	}
	env, err := p.signedReply(p.recipientFor(ctx, x), seos.Body{Error: errBody})
	if err != nil {
		p.Log.Error("cannot sign an Error reply", "error", err)
		sf := &soap.Fault{Code: "Server", String: "the receiver cannot answer now"}
		return Response{Status: 500, Body: soap.FaultEnvelope(sf), Close: x.unread()}
	}
	p.logRefused(ctx, x, string(f.Reason), f.EN, env)
	return Response{Status: 200, Body: env, Close: x.unread()}
}

// recipientFor finds who an Error goes back to.
func (p *Pipeline) recipientFor(ctx context.Context, x *exchange) seos.Entity {
	switch {
	case x.msg != nil:
		return x.msg.Header.Sender
	case x.guess.sender != nil:
		return *x.guess.sender
	}
	if x.serial != "" {
		if es, err := p.Dir.BySerial(ctx, x.serial); err == nil && len(es) > 0 {
			return es[0].Node()
		}
	}
	return seos.UnknownSender
}

// signedReply builds, signs and wraps a reply from us to `to`.
func (p *Pipeline) signedReply(to seos.Entity, body seos.Body) ([]byte, error) {
	m := seos.NewMessage(p.Self, to, p.Clock.Now(), body)
	id := p.Identity.Current()
	signer := xmldsig.Signer{Key: id.Key, Cert: id.Cert, Hash: xmldsig.SHA256}
	if p.Hash != nil {
		signer.Hash = p.Hash(to.GUID)
	}
	b, err := signer.SignMessage(m)
	if err != nil {
		return nil, err
	}
	return soap.SubmitResponse(b)
}
