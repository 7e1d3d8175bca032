package ais

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Token is the bearer token the API accepts now.
type Token interface {
	Current() string
}

// StaticToken is a token that never changes ("" refuses everyone).
type StaticToken string

// Current returns the token.
func (s StaticToken) Current() string { return string(s) }

// TokenFile is the token in ais.token_file, read again whenever the file
// changes, so that a rotated token is accepted (and the old one refused)
// without a restart. A rewrite that leaves the file unreadable, empty or
// malformed keeps the previous token in force and is logged.
type TokenFile struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	stamp tokenStamp
	token string
	bad   tokenStamp // the version last found unusable, logged once
}

type tokenStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

// OpenTokenFile reads path; at start an unusable file is an error.
func OpenTokenFile(path string, log *slog.Logger) (*TokenFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ais token: %w", err)
	}
	tok, err := ReadToken(path)
	if err != nil {
		return nil, err
	}
	return &TokenFile{path: path, log: log, stamp: stampOf(st), token: tok}, nil
}

// Current returns the token, reading the file again if it changed since.
// One stat per request: cheap next to the request itself.
func (t *TokenFile) Current() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := os.Stat(t.path)
	if err != nil {
		t.unusable(tokenStamp{}, err)
		return t.token
	}
	s := stampOf(st)
	if s == t.stamp {
		return t.token
	}
	tok, err := ReadToken(t.path)
	if err != nil {
		t.unusable(s, err)
		return t.token
	}
	if tok != t.token {
		t.log.Info("the token in ais.token_file changed; the new one is in force", "file", t.path)
	}
	t.stamp, t.token, t.bad = s, tok, tokenStamp{}
	return t.token
}

func (t *TokenFile) unusable(s tokenStamp, err error) {
	if s == t.bad && s != (tokenStamp{}) {
		return
	}
	t.bad = s
	t.log.Warn("cannot read the changed ais.token_file; the previous token stays in force", "file", t.path, "error", err)
}

// ReadToken reads the API's bearer token from a file (surrounding
// whitespace ignored).
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("ais token: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return "", fmt.Errorf("ais token %s: %w", path, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("ais token %s: the file is empty; write a long random string to it (openssl rand -hex 32)", path)
	}
	if strings.ContainsAny(t, " \t\r\n") {
		return "", fmt.Errorf("ais token %s: the token must be one word without spaces", path)
	}
	return t, nil
}
