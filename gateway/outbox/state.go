package outbox

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// transitions is the one table of what a recipient's report may do to a
// sent document (PROTOCOL §5): waiting → registered or rejected, registered
// → closed or stopped. Also allowed, because refusing them would leave a
// document wrong for good: a report that overtakes the acknowledgement
// (queued → anything), closed or stopped straight from waiting (a lost
// DS_REGISTERED must not wedge the document), not found and back, and any
// report about a document we had given up on (every acknowledgement was
// lost, but the recipient has it). Rejected, closed and stopped are final.
var transitions = map[State][]State{
	StateQueued:     {StateWaiting, StateRegistered, StateRejected, StateClosed, StateStopped, StateNotFound, StateFailed},
	StateWaiting:    {StateRegistered, StateRejected, StateClosed, StateStopped, StateNotFound, StateFailed},
	StateNotFound:   {StateWaiting, StateRegistered, StateRejected, StateClosed, StateStopped, StateFailed},
	StateFailed:     {StateWaiting, StateRegistered, StateRejected, StateClosed, StateStopped, StateNotFound},
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

// Observer logs and counts transitions; a nil Observer does nothing.
type Observer struct {
	log     *slog.Logger
	counter *prometheus.CounterVec
}

// NewObserver registers seosgw_outbox_status_transitions_total on reg.
func NewObserver(reg prometheus.Registerer, log *slog.Logger) *Observer {
	o := &Observer{log: log, counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seosgw_outbox_status_transitions_total",
		Help: "Recipients' reports about documents we sent, by state before, state reported and verdict (applied, repeated, not_applied)."},
		[]string{"from", "to", "verdict"})}
	reg.MustRegister(o.counter)
	return o
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
