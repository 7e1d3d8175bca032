package inbound

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
)

// accept dedupes, persists and answers: the document, the raw request and
// the reply are durable before a byte of the reply is written.
//
// The reply is built and signed first, outside any transaction and in
// parallel with other requests, from what the database says now (the
// prediction). The transaction then looks at the same facts again and
// stores the message and the reply together; should a concurrent request
// have changed them meanwhile (the same document, the same MessageGUID),
// the reply is made again from the new facts.
func (p *Pipeline) accept(ctx context.Context, x *exchange) (Response, error) {
	m := x.msg
	raw, err := x.keep()
	if err != nil {
		return Response{}, ourFault(Internal, "Съобщението не може да бъде съхранено.", "cannot keep the message's bytes", err)
	}
	for attempt := 0; ; attempt++ {
		// A registration is taken to be new (it nearly always is): its
		// reply needs no query. Anything else asks the database.
		var pred prediction
		if m.Body.RegistrationRequest == nil || attempt > 0 {
			if pred, err = predict(ctx, p.q(), m); err != nil {
				return Response{}, ourFault(Internal, "Съобщението не може да бъде съхранено.", "cannot read the database", err)
			}
		}
		if pred.duplicate {
			return Response{}, duplicate(m)
		}
		env, err := p.reply(m, pred)
		if err != nil {
			return Response{}, err
		}
		r, err := p.persist(ctx, x, raw, pred, env)
		if errors.Is(err, errChanged) && attempt < 3 {
			continue
		}
		if err != nil {
			var f *Fault
			if !errors.As(err, &f) {
				err = ourFault(Internal, "Съобщението не може да бъде съхранено.", "cannot store the message", err)
			}
			return Response{}, err
		}
		p.Transitions.Observe(r.transition)
		p.Metrics.requests.WithLabelValues(x.msgType, r.outcome).Inc()
		p.Log.Info("accepted", "type", x.msgType, "outcome", r.outcome, "message_guid", m.Header.MessageGUID,
			"sender", m.Header.Sender.GUID, "document_guid", documentGUID(m))
		// Quirks count only here: the metric counts accepted messages, and a
		// refused one must not inflate it.
		for _, q := range m.Tolerated {
			p.Metrics.tolerated.WithLabelValues(string(q)).Inc()
			p.Log.Info("tolerated a production peer's schema departure", "quirk", q, "message_guid", m.Header.MessageGUID,
				"sender", m.Header.Sender.GUID, "peer_serial", x.serial)
		}
		switch {
		case r.inboxID == 0:
		case p.Judge != nil:
			p.Judge(r.inboxID)
		case p.Received != nil:
			p.Received(r.inboxID)
		}
		return Response{Status: 200, Body: env}, nil
	}
}

func duplicate(m *seos.Message) *Fault {
	return senderFault(DuplicateMessage,
		fmt.Sprintf("Съобщение с идентификатор %s вече е получено.", m.Header.MessageGUID),
		"MessageGUID already received", nil)
}

// errChanged says the facts the reply was made from changed before the
// transaction.
var errChanged = errors.New("inbound: the prediction no longer holds")

// keep makes the request's bytes and the attachments durable (files are
// synced before the commit that names them) and puts them in the model.
func (x *exchange) keep() (raw keptBytes, err error) {
	k, err := x.raw.Keep()
	if err != nil {
		return raw, err
	}
	x.raw = nil
	raw = keptBytes{data: k.Data, file: k.Ref, size: k.Size}
	if r := x.msg.Body.RegistrationRequest; r != nil {
		for i, sp := range x.bodies {
			k, err := sp.Keep()
			if err != nil {
				return raw, err
			}
			r.Document.Attachments[i].Stored = &seos.StoredBody{Size: k.Size, Data: k.Data, Blob: k.Ref}
		}
	}
	x.bodies = nil
	return raw, nil
}

type keptBytes struct {
	data []byte
	file string
	size int64
}

// prediction is what the reply depends on.
type prediction struct {
	duplicate bool                 // the MessageGUID was accepted before
	received  bool                 // registration: the document came before
	status    *seos.StatusResponse // status request: what we report
}

// predict reads the facts the reply depends on.
func predict(ctx context.Context, q store.Querier, m *seos.Message) (prediction, error) {
	var pr prediction
	var err error
	if pr.duplicate, err = msglog.Seen(ctx, q, m.Header.MessageGUID); err != nil || pr.duplicate {
		return pr, err
	}
	switch b := m.Body; {
	case b.RegistrationRequest != nil:
		_, err := inbox.Find(ctx, q, m.Header.Sender.GUID, b.RegistrationRequest.Document.ID.GUID)
		switch {
		case err == nil:
			pr.received = true
		case !errors.Is(err, inbox.ErrNotFound):
			return pr, err
		}
	case b.StatusRequest != nil:
		pr.status = &seos.StatusResponse{DocID: b.StatusRequest.DocID, Status: seos.StatusNotFound}
		it, err := inbox.Find(ctx, q, m.Header.Sender.GUID, b.StatusRequest.DocID.GUID)
		switch {
		case err == nil:
			pr.status = it.StatusResponse()
		case !errors.Is(err, inbox.ErrNotFound):
			return pr, err
		}
	}
	return pr, nil
}

// reply builds the answer the prediction calls for: a signed status, or
// an empty SubmitResult to a peer's notification.
func (p *Pipeline) reply(m *seos.Message, pr prediction) ([]byte, error) {
	var body *seos.StatusResponse
	switch b := m.Body; {
	case b.RegistrationRequest != nil:
		status := seos.StatusWaitRegistration
		if pr.received {
			status = seos.StatusAlreadyReceived
		}
		body = &seos.StatusResponse{DocID: b.RegistrationRequest.Document.ID, Status: status}
	case b.StatusRequest != nil:
		body = pr.status
	}
	if body == nil {
		return soap.SubmitResponse(nil)
	}
	return p.signedReply(m.Header.Sender, seos.Body{StatusResponse: body})
}

type persisted struct {
	outcome    string
	inboxID    int64
	transition outbox.Transition
}

// persist stores the message, what it does, and the reply env, in one
// transaction; errChanged when the prediction no longer holds there.
func (p *Pipeline) persist(ctx context.Context, x *exchange, raw keptBytes, pred prediction, env []byte) (persisted, error) {
	m := x.msg
	now := p.Clock.Now()
	var r persisted
	err := p.inTx(ctx, func(q store.Querier) error {
		r = persisted{outcome: "accepted"}
		// A status depends on the document's state: looked at again here.
		// The rest the constraints check as the rows go in (a MessageGUID
		// accepted before, a document received before).
		if m.Body.StatusRequest != nil {
			got, err := predict(ctx, q, m)
			if err != nil {
				return err
			}
			if got.duplicate {
				return duplicate(m)
			}
			if !reflect.DeepEqual(got, pred) {
				return errChanged
			}
		}
		switch b := m.Body; {
		case b.RegistrationRequest != nil && pred.received:
			r.outcome = "already_received"
		case b.StatusRequest != nil && pred.status.Status == seos.StatusNotFound:
			r.outcome = "not_found"
		case b.StatusResponse != nil:
			// A report that is no protocol transition is still received
			// (an empty SubmitResult): it is kept as an event on the
			// document, and the document keeps its state.
			t, err := outbox.ApplyStatus(ctx, q, m.Header.Sender.GUID, b.StatusResponse, now)
			if errors.Is(err, outbox.ErrUnknownDocument) {
				return senderFault(UnexpectedMessage,
					fmt.Sprintf("Документ с идентификатор %s не е изпращан към подателя.", b.StatusResponse.DocID.GUID),
					"status notification about a document we never sent to this participant", err)
			} else if err != nil {
				return err
			}
			r.transition, r.outcome = t, string(t.Verdict)
		case b.Error != nil:
			t, err := outbox.ApplyError(ctx, q, m.Header.Sender.GUID, b.Error, now)
			if errors.Is(err, outbox.ErrUnknownDocument) {
				r.outcome = "unmatched_error" // nothing of ours to fail; kept in the log
			} else if err != nil {
				return err
			} else {
				r.transition, r.outcome = t, string(t.Verdict)
			}
		}
		in := &msglog.Entry{Direction: msglog.In, At: now, PeerGUID: m.Header.Sender.GUID, PeerSerial: x.serial,
			MessageType: string(m.Header.MessageType), MessageGUID: m.Header.MessageGUID, DocumentGUID: documentGUID(m),
			Outcome: r.outcome, Size: int(raw.size), Raw: raw.data, RawFile: raw.file, Seen: true}
		logID, err := msglog.Insert(ctx, q, in)
		if errors.Is(err, msglog.ErrSeen) {
			return duplicate(m)
		}
		if err != nil {
			return err
		}
		if b := m.Body.RegistrationRequest; b != nil && !pred.received {
			r.inboxID, err = inbox.Add(ctx, q, m.Header.Sender, m.Header.MessageGUID, b, logID, now, p.arrival())
			if errors.Is(err, inbox.ErrExists) {
				return errChanged // it came before after all: the reply says so
			}
			if err != nil {
				return err
			}
		}
		replyType := ""
		if m.Body.RegistrationRequest != nil || m.Body.StatusRequest != nil {
			replyType = string(seos.TypeStatusResponse)
		}
		_, err = msglog.Insert(ctx, q, &msglog.Entry{Direction: msglog.Out, At: now, PeerGUID: m.Header.Sender.GUID, PeerSerial: x.serial,
			MessageType: replyType, DocumentGUID: in.DocumentGUID, ReplyTo: logID, Outcome: "replied", Size: len(env), Raw: env})
		return err
	})
	return r, err
}

// arrival is the state a received document is stored in: checking while an
// acceptance policy is to judge it first.
func (p *Pipeline) arrival() inbox.State {
	if p.Judge != nil {
		return inbox.Checking
	}
	return inbox.Received
}
