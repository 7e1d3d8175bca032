package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
)

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
		if seen, err := inbox.Seen(ctx, tx, m.Header.MessageGUID); err != nil || seen {
			if seen {
				err = senderFault(DuplicateMessage,
					fmt.Sprintf("Съобщение с идентификатор %s вече е получено.", m.Header.MessageGUID),
					"MessageGUID already received", nil)
			}
			return err
		}
		in := &msglog.Entry{Direction: msglog.In, At: now, PeerGUID: m.Header.Sender.GUID, PeerSerial: x.serial,
			MessageType: string(m.Header.MessageType), MessageGUID: m.Header.MessageGUID, DocumentGUID: documentGUID(m),
			Outcome: "accepted", Size: len(x.req.Body), Raw: x.req.Body}
		logID, err := msglog.Insert(ctx, tx, in)
		if err != nil {
			return err
		}
		if err := inbox.MarkSeen(ctx, tx, m.Header.MessageGUID, m.Header.Sender.GUID, logID, now); err != nil {
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
			} else if inboxID, err = inbox.Add(ctx, tx, m.Header.Sender, m.Header.MessageGUID, b.RegistrationRequest, logID, now, p.arrival()); err != nil {
				return err
			}
			body = &seos.Body{StatusResponse: &seos.StatusResponse{DocID: doc.ID, Status: status}}
		case b.StatusRequest != nil:
			resp := &seos.StatusResponse{DocID: b.StatusRequest.DocID, Status: seos.StatusNotFound}
			it, err := inbox.Find(ctx, tx, m.Header.Sender.GUID, b.StatusRequest.DocID.GUID)
			switch {
			case err == nil:
				resp = it.StatusResponse()
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
				return senderFault(UnexpectedMessage,
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
		var f *Fault
		if !errors.As(err, &f) {
			err = ourFault(Internal, "Съобщението не може да бъде съхранено.", "cannot store the message", err)
		}
		return Response{}, err
	}
	p.Transitions.Observe(transition)
	p.Metrics.requests.WithLabelValues(x.msgType, outcome).Inc()
	p.Log.Info("accepted", "type", x.msgType, "outcome", outcome, "message_guid", m.Header.MessageGUID,
		"sender", m.Header.Sender.GUID, "document_guid", documentGUID(m))
	switch {
	case inboxID == 0:
	case p.Judge != nil:
		p.Judge(inboxID)
	case p.Received != nil:
		p.Received(inboxID)
	}
	return Response{Status: 200, Body: env}, nil
}

// arrival is the state a received document is stored in: checking while an
// acceptance policy is to judge it first.
func (p *Pipeline) arrival() inbox.State {
	if p.Judge != nil {
		return inbox.Checking
	}
	return inbox.Received
}
