package console

import (
	"sync"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

// limiter slows password guessing: after maxFailures failed logins within
// failureWindow from one address, or for one user name, further attempts
// are refused until the window since the last failure has passed.
type limiter struct {
	mu    sync.Mutex
	clock clock.Clock
	fails map[string][]time.Time
	noted map[string]time.Time // the newest failure of a key whose block is in the audit already
}

const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
	maxTracked    = 10000 // keys kept at most; the oldest are forgotten first
)

func newLimiter(clk clock.Clock) *limiter {
	return &limiter{clock: clk, fails: map[string][]time.Time{}, noted: map[string]time.Time{}}
}

// attempt decides whether a login may be tried and, when it may, counts it
// as failed against every key before the password is compared: a check
// and a later count would let a burst of parallel guesses all pass the
// check while the first is still hashing. first is true for the first
// refusal of a block, so that only it is audited, not every request an
// attacker sends while blocked.
func (l *limiter) attempt(keys ...string) (ok, first bool) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if ts := l.recentLocked(k, now); len(ts) >= maxFailures {
			newest := ts[len(ts)-1]
			first = !l.noted[k].Equal(newest)
			l.noted[k] = newest
			return false, first
		}
	}
	if len(l.fails) > maxTracked {
		for k := range l.fails {
			l.recentLocked(k, now)
		}
		for k := range l.fails { // still too many: forget arbitrary ones
			if len(l.fails) <= maxTracked/2 {
				break
			}
			delete(l.fails, k)
			delete(l.noted, k)
		}
	}
	for _, k := range keys {
		l.fails[k] = append(l.recentLocked(k, now), now)
	}
	return true, false
}

func (l *limiter) recentLocked(k string, now time.Time) []time.Time {
	ts := l.fails[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= failureWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, k)
		delete(l.noted, k)
	} else {
		l.fails[k] = ts
	}
	return ts
}

// succeeded takes back what attempt counted: the failures of the user
// name are forgotten, and the address's count loses this attempt.
func (l *limiter) succeeded(userKey, addrKey string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, userKey)
	delete(l.noted, userKey)
	if ts := l.fails[addrKey]; len(ts) > 0 {
		l.fails[addrKey] = ts[:len(ts)-1]
	}
}
