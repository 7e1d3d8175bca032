// Package testkit is the tests' one shared kit: a DAEU-like PKI made at test
// time, gateway databases with a register copy, the participants of a test
// exchange, signing and submitting messages, seosgw processes on
// loopback, and the mail channel's world (S/MIME by openssl, swaks, a real
// dovecot, a submission server that records what it takes). Fakes of
// outside services live here, never beside product code; only _test.go
// files import it (TestOnlyTestsImportTheKit keeps it so).
package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing the test after within. It
// waits for something to happen; it never proves that something does not.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer safe for a logger writing from several
// goroutines while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
