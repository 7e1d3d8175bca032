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
}

const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
	maxTracked    = 10000 // keys kept at most; the oldest are forgotten first
)

func newLimiter(clk clock.Clock) *limiter {
	return &limiter{clock: clk, fails: map[string][]time.Time{}}
}

// blocked reports whether any of keys has used up its failures.
func (l *limiter) blocked(keys ...string) bool {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if len(l.recentLocked(k, now)) >= maxFailures {
			return true
		}
	}
	return false
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
	} else {
		l.fails[k] = ts
	}
	return ts
}

// failed counts a failed login against every key.
func (l *limiter) failed(keys ...string) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > maxTracked {
		for k := range l.fails {
			l.recentLocked(k, now)
		}
		for k := range l.fails { // still too many: forget arbitrary ones
			if len(l.fails) <= maxTracked/2 {
				break
			}
			delete(l.fails, k)
		}
	}
	for _, k := range keys {
		ts := l.recentLocked(k, now)
		if len(ts) < 2*maxFailures {
			l.fails[k] = append(ts, now)
		}
	}
}

// succeeded forgets the failures of a user name.
func (l *limiter) succeeded(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}
