package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

// session is a logged-in user. Its ID is the cookie's value; CSRF is the
// token every form of the session carries.
type session struct {
	ID       string
	User     string
	Role     Role
	Method   string // password or certificate
	Cred     string // the users file's hash at login: a new password ends the session
	CSRF     string
	Created  time.Time
	LastSeen time.Time
}

// sessions is the server-side store: in memory, so a restart logs
// everyone out; idle and absolute expiry on an injected clock.
type sessions struct {
	mu    sync.Mutex
	byID  map[string]*session
	idle  time.Duration
	max   time.Duration
	clock clock.Clock
}

// maxSessions bounds the store: the oldest goes first when it is full.
const maxSessions = 1000

func newSessions(idle, max time.Duration, clk clock.Clock) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, max: max, clock: clk}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(u User, method string) *session {
	now := s.clock.Now()
	ss := &session{ID: randomToken(), User: u.Name, Role: u.Role, Method: method, Cred: u.Hash, CSRF: randomToken(), Created: now, LastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	if len(s.byID) >= maxSessions {
		var oldest *session
		for _, o := range s.byID {
			if oldest == nil || o.Created.Before(oldest.Created) {
				oldest = o
			}
		}
		delete(s.byID, oldest.ID)
	}
	s.byID[ss.ID] = ss
	return ss
}

// get returns the live session of id and marks it used; expired ones are
// removed.
func (s *sessions) get(id string) (*session, bool) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	if s.expired(ss, now) {
		delete(s.byID, id)
		return nil, false
	}
	ss.LastSeen = now
	cp := *ss
	return &cp, true
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.LastSeen) >= s.idle || now.Sub(ss.Created) >= s.max
}

func (s *sessions) expireLocked(now time.Time) {
	for id, ss := range s.byID {
		if s.expired(ss, now) {
			delete(s.byID, id)
		}
	}
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(s.clock.Now())
	return len(s.byID)
}

// csrfOK compares a form's token with the session's in constant time.
func (ss *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ss.CSRF)) == 1
}
