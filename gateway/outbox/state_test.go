package outbox

import (
	"testing"
)

func TestTransitionTable(t *testing.T) {
	cases := []struct {
		from, to State
		want     Verdict
	}{
		{StateQueued, StateWaiting, Applied},
		{StateNone, StateWaiting, Applied},
		{StateQueued, StateRegistered, Applied}, // the notification overtook the acknowledgement
		{StateWaiting, StateAlreadyReceived, Repeated},
		{StateAlreadyReceived, StateWaiting, Repeated},
		{StateWaiting, StateRegistered, Applied},
		{StateWaiting, StateRejected, Applied},
		{StateAlreadyReceived, StateRejected, Applied},
		{StateWaiting, StateClosed, Applied}, // a lost DS_REGISTERED must not wedge it
		{StateWaiting, StateNotFound, Applied},
		{StateNotFound, StateRegistered, Applied},
		{StateFailed, StateRegistered, Applied}, // the recipient has it after all
		{StateRegistered, StateClosed, Applied},
		{StateRegistered, StateStopped, Applied},
		{StateRegistered, StateRegistered, Repeated},
		{StateRegistered, StateRejected, NotApplied},
		{StateRegistered, StateWaiting, NotApplied},
		{StateRegistered, StateNotFound, NotApplied},
		{StateRegistered, StateFailed, NotApplied},
		{StateRejected, StateRegistered, NotApplied},
		{StateClosed, StateStopped, NotApplied},
		{StateStopped, StateRegistered, NotApplied},
		{StateClosed, StateWaiting, NotApplied},
		// The operator's retry (→ queued) and cancel.
		{StateQueued, StateQueued, Repeated}, // a queued document retried: made due now
		{StateNone, StateQueued, Repeated},   // any waiting delivery, for retry --peer
		{StateFailed, StateQueued, Applied},
		{StateNotFound, StateQueued, Applied}, // sent again: the recipient lost it
		{StateWaiting, StateQueued, NotApplied},
		{StateRegistered, StateQueued, NotApplied},
		{StateCancelled, StateQueued, NotApplied},
		{StateQueued, StateCancelled, Applied},
		{StateFailed, StateCancelled, Applied},
		{StateCancelled, StateCancelled, Repeated},
		{StateWaiting, StateCancelled, NotApplied}, // delivered: cannot be taken back
		{StateAlreadyReceived, StateCancelled, NotApplied},
		{StateNotFound, StateCancelled, NotApplied},
		{StateRegistered, StateCancelled, NotApplied},
		{StateCancelled, StateRegistered, Applied}, // an earlier attempt arrived after all
		{StateCancelled, StateFailed, NotApplied},
	}
	for _, c := range cases {
		if got := Decide(c.from, c.to); got != c.want {
			t.Errorf("%q → %q: %s, want %s", c.from, c.to, got, c.want)
		}
	}
	for from, tos := range transitions {
		for _, to := range tos {
			if class(to) != to || from == to {
				t.Errorf("table entry %s → %s: targets must be canonical states, not the source", from, to)
			}
		}
	}
}
