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
