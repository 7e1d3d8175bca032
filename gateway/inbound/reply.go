package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/seosgw/seosgw/gateway/fault"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
)

// unknownPeer stands in as Recipient of an Error when nothing tells us who
// sent the request (the schema requires a Recipient).
var unknownPeer = seos.Entity{Identifier: "неизвестен", AdministrativeBodyName: "неизвестен подател", GUID: "{00000000-0000-0000-0000-000000000000}"}

// refuse answers with a signed Error naming the refused message.
func (p *Pipeline) refuse(ctx context.Context, x *exchange, f *fault.Fault) Response {
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
		p.Log.Error("inbound: cannot sign an Error reply", "error", err)
		sf := &soap.Fault{Code: "Server", String: "the receiver cannot answer now"}
		return Response{Status: 500, Body: soap.FaultEnvelope(sf)}
	}
	p.logRefused(ctx, x, string(f.Reason), f.EN, env)
	return Response{Status: 200, Body: env}
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
			e := es[0]
			return seos.Entity{Identifier: e.Identifier, AdministrativeBodyName: e.AdministrativeBodyName, GUID: e.GUID}
		}
	}
	return unknownPeer
}

// signedReply builds, signs and wraps a reply from us to `to`.
func (p *Pipeline) signedReply(to seos.Entity, body seos.Body) ([]byte, error) {
	m := &seos.Message{
		Header: seos.Header{MessageDate: seos.DateTimeOf(p.Clock.Now()), Sender: p.Self, Recipient: to, MessageGUID: seos.NewGUID()},
		Body:   body,
	}
	signer := *p.Signer
	if p.Hash != nil {
		signer.Hash = p.Hash(to.GUID)
	}
	b, err := signer.SignMessage(m)
	if err != nil {
		return nil, err
	}
	return soap.SubmitResponse(b)
}

// accept dedupes, persists and answers in one transaction: the document and
// the raw request are durable before a byte of the reply is written.
func (p *Pipeline) accept(ctx context.Context, x *exchange) (Response, error) {
	m := x.msg
	now := p.Clock.Now()
	var env []byte
	var inboxID int64
	outcome := "accepted"
	var transition outbox.Transition
	err := store.InTx(ctx, p.DB, func(tx *sql.Tx) error {
		var seen int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM inbound_messages WHERE message_guid_key = ?`, seos.CanonicalGUID(m.Header.MessageGUID)).Scan(&seen)
		if err == nil {
			return fault.Sender(fault.DuplicateMessage,
				fmt.Sprintf("Съобщение с идентификатор %s вече е получено.", m.Header.MessageGUID),
				"MessageGUID already received", nil)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		in := &msglog.Entry{Direction: msglog.In, At: now, PeerGUID: m.Header.Sender.GUID, PeerSerial: x.serial,
			MessageType: string(m.Header.MessageType), MessageGUID: m.Header.MessageGUID, DocumentGUID: documentGUID(m),
			Outcome: "accepted", Size: len(x.req.Body), Raw: x.req.Body}
		logID, err := msglog.Insert(ctx, tx, in)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO inbound_messages (message_guid_key, sender_guid_key, log_id, received_at) VALUES (?, ?, ?, ?)`,
			seos.CanonicalGUID(m.Header.MessageGUID), seos.CanonicalGUID(m.Header.Sender.GUID), logID, store.FormatTime(now)); err != nil {
			return err
		}
		var body *seos.Body
		switch b := m.Body; {
		case b.RegistrationRequest != nil:
			doc := b.RegistrationRequest.Document
			status := seos.StatusWaitRegistration
			if _, err := inbox.Find(ctx, tx, m.Header.Sender.GUID, doc.ID.GUID); err == nil {
				status, outcome = seos.StatusAlreadyReceived, "already_received"
			} else if !errors.Is(err, inbox.ErrNotFound) {
				return err
			} else if inboxID, err = inbox.Add(ctx, tx, m.Header.Sender, m.Header.MessageGUID, b.RegistrationRequest, logID, now); err != nil {
				return err
			}
			body = &seos.Body{StatusResponse: &seos.StatusResponse{DocID: doc.ID, Status: status}}
		case b.StatusRequest != nil:
			resp := &seos.StatusResponse{DocID: b.StatusRequest.DocID, Status: seos.StatusNotFound}
			it, err := inbox.Find(ctx, tx, m.Header.Sender.GUID, b.StatusRequest.DocID.GUID)
			switch {
			case err == nil:
				resp.DocID, resp.Status = it.StatusID(), inbox.DocStatus(it.State)
				if it.RejectionReason != "" {
					resp.RejectionReason = seos.Str(it.RejectionReason)
				}
				if it.ExpectClose != "" {
					resp.ExpectCloseDate = (*seos.Date)(seos.Str(it.ExpectClose))
				}
			case !errors.Is(err, inbox.ErrNotFound):
				return err
			default:
				outcome = "not_found"
			}
			body = &seos.Body{StatusResponse: resp}
		case b.StatusResponse != nil:
			// A report that is no protocol transition is still received
			// (an empty SubmitResult): it is kept as an event on the
			// document, and the document keeps its state.
			t, err := outbox.ApplyStatus(ctx, tx, m.Header.Sender.GUID, b.StatusResponse, now)
			if errors.Is(err, outbox.ErrUnknownDocument) {
				return fault.Sender(fault.UnexpectedMessage,
					fmt.Sprintf("Документ с идентификатор %s не е изпращан към подателя.", b.StatusResponse.DocID.GUID),
					"status notification about a document we never sent to this participant", err)
			} else if err != nil {
				return err
			}
			transition, outcome = t, string(t.Verdict)
		case b.Error != nil:
			t, err := outbox.ApplyError(ctx, tx, m.Header.Sender.GUID, b.Error, now)
			if errors.Is(err, outbox.ErrUnknownDocument) {
				outcome = "unmatched_error" // nothing of ours to fail; kept in the log
			} else if err != nil {
				return err
			} else {
				transition, outcome = t, string(t.Verdict)
			}
		}
		if body != nil {
			if env, err = p.signedReply(m.Header.Sender, *body); err != nil {
				return err
			}
		} else if env, err = soap.SubmitResponse(nil); err != nil {
			return err
		}
		if outcome != "accepted" {
			if err := msglog.SetOutcome(ctx, tx, logID, outcome, "", ""); err != nil {
				return err
			}
		}
		replyType := ""
		if body != nil {
			replyType = string(seos.TypeStatusResponse)
		}
		_, err = msglog.Insert(ctx, tx, &msglog.Entry{Direction: msglog.Out, At: now, PeerGUID: m.Header.Sender.GUID, PeerSerial: x.serial,
			MessageType: replyType, DocumentGUID: in.DocumentGUID, ReplyTo: logID, Outcome: "replied", Size: len(env), Raw: env})
		return err
	})
	if err != nil {
		var f *fault.Fault
		if !errors.As(err, &f) {
			err = fault.Ours(fault.Internal, "Съобщението не може да бъде съхранено.", "cannot store the message", err)
		}
		return Response{}, err
	}
	p.Transitions.Observe(transition)
	p.Metrics.requests.WithLabelValues(x.msgType, outcome).Inc()
	p.Log.Info("inbound: accepted", "type", x.msgType, "outcome", outcome, "message_guid", m.Header.MessageGUID,
		"sender", m.Header.Sender.GUID, "document_guid", documentGUID(m))
	if inboxID != 0 && p.Received != nil {
		p.Received(inboxID)
	}
	return Response{Status: 200, Body: env}, nil
}
