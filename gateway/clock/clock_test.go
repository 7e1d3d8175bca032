package clock

import (
	"testing"
	"time"
)

func TestManual(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := NewManual(start)
	m.Advance(15 * time.Minute)
	if got := m.Now(); !got.Equal(start.Add(15 * time.Minute)) {
		t.Errorf("after Advance: %v", got)
	}
	m.Set(start)
	if !m.Now().Equal(start) {
		t.Error("Set did not take")
	}
	before := time.Now()
	got := System.Now()
	if after := time.Now(); got.Before(before) || got.After(after) {
		t.Errorf("system clock %v, not between %v and %v", got, before, after)
	}
}
