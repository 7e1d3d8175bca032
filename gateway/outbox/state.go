package outbox

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// transitions is the one table of what may happen to a sent document:
// what its recipient reports (PROTOCOL §5) and what the operator does.
//
// Reports: waiting → registered or rejected, registered → closed or
// stopped. Also allowed, because refusing them would leave a document wrong
// for good: a report that overtakes the acknowledgement (queued →
// anything), closed or stopped straight from waiting (a lost DS_REGISTERED
// must not wedge the document), not found and back, and any report about a
// document we had given up on or cancelled (an acknowledgement was lost,
// but the recipient has it). Rejected, closed and stopped are final.
//
// The operator (retry, cancel): a failed document goes back to queued, and
// so does one the recipient reports not found (sent again under the same
// DocumentGUID); a queued or failed one may be cancelled. A queued one
// retried is a repeat: it is only made due now. Nothing the recipient has
// acknowledged can be cancelled.
var transitions = map[State][]State{
	StateQueued:     {StateWaiting, StateRegistered, StateRejected, StateClosed, StateStopped, StateNotFound, StateFailed, StateCancelled},
	StateWaiting:    {StateRegistered, StateRejected, StateClosed, StateStopped, StateNotFound, StateFailed},
	StateNotFound:   {StateWaiting, StateRegistered, StateRejected, StateClosed, StateStopped, StateFailed, StateQueued},
	StateFailed:     {StateWaiting, StateRegistered, StateRejected, StateClosed, StateStopped, StateNotFound, StateQueued, StateCancelled},
	StateCancelled:  {StateWaiting, StateRegistered, StateRejected, StateClosed, StateStopped, StateNotFound},
	StateRegistered: {StateClosed, StateStopped},
	StateRejected:   nil,
	StateClosed:     nil,
	StateStopped:    nil,
}

// class folds states that mean the same to the table: DS_ALREADY_RECEIVED
// is waiting registration, and a document with no status yet is queued.
func class(s State) State {
	switch s {
	case StateAlreadyReceived:
		return StateWaiting
	case StateNone:
		return StateQueued
	}
	return s
}

// Waiting reports whether s is waiting registration at the recipient.
func (s State) Waiting() bool { return class(s) == StateWaiting }

// Verdict is what the table says of a report.
type Verdict string

const (
	Applied    Verdict = "applied"     // a transition: recorded on the document
	Repeated   Verdict = "repeated"    // the state it is in already; details may be filled in
	NotApplied Verdict = "not_applied" // not a protocol transition: recorded as an event, state kept
)

// Decide judges a report of `to` about a document in `from`.
func Decide(from, to State) Verdict {
	from, to = class(from), class(to)
	if from == to {
		return Repeated
	}
	for _, s := range transitions[from] {
		if s == to {
			return Applied
		}
	}
	return NotApplied
}

// Transition is what a recipient's report did to one of our documents.
type Transition struct {
	ID       int64 // outbox id
	Peer     string
	Document string
	From, To State
	Verdict  Verdict
	Detail   string
}

// Observer logs and counts transitions and the operator's actions; a nil
// Observer does nothing.
type Observer struct {
	log     *slog.Logger
	counter *prometheus.CounterVec
	manual  *prometheus.CounterVec
}

// NewObserver registers seosgw_outbox_status_transitions_total and
// seosgw_outbox_manual_actions_total on reg.
func NewObserver(reg prometheus.Registerer, log *slog.Logger) *Observer {
	o := &Observer{log: log, counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_outbox_status_transitions_total",
		Help: "Recipients' reports about documents we sent, by state before, state reported and verdict (applied, repeated, not_applied)."},
		[]string{"from", "to", "verdict"}),
		manual: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_outbox_manual_actions_total",
			Help: "The operator's retries and cancels of documents we send, by action (retry, cancel, retry_peer: per delivery made due) and result (applied, repeated, refused)."},
			[]string{"action", "result"})}
	reg.MustRegister(o.counter, o.manual)
	for _, a := range []Action{ActionRetry, ActionCancel, ActionRetryPeer} {
		for _, r := range []string{string(Applied), string(Repeated), "refused"} {
			o.manual.WithLabelValues(string(a), r)
		}
	}
	return o
}

// Manual records an operator's action once it is committed: what it did,
// or (err set) why it was refused.
func (o *Observer) Manual(d Done, err error) {
	if o == nil {
		return
	}
	if err != nil {
		o.manual.WithLabelValues(string(d.Action), "refused").Inc()
		o.log.Info("operator action refused", "action", d.Action, "id", d.ID, "from", d.From, "error", err)
		return
	}
	o.manual.WithLabelValues(string(d.Action), string(d.Verdict)).Inc()
	o.log.Info("operator action", "action", d.Action, "id", d.ID, "peer", d.Peer, "document_guid", d.Document, "from", d.From, "to", d.To,
		"verdict", d.Verdict, "detail", d.Detail)
}

// Observe records t once it is committed.
func (o *Observer) Observe(t Transition) {
	if o == nil || t.ID == 0 {
		return
	}
	o.counter.WithLabelValues(string(class(t.From)), string(t.To), string(t.Verdict)).Inc()
	args := []any{"id", t.ID, "peer", t.Peer, "document_guid", t.Document, "from", t.From, "to", t.To, "verdict", t.Verdict, "detail", t.Detail}
	if t.Verdict == NotApplied {
		o.log.Warn("a recipient's report is not a protocol transition; kept the document's state", args...)
		return
	}
	o.log.Info("status", args...)
}
