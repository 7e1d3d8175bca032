package clamav_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/clamav"
)

func TestScanWithRealClamd(t *testing.T) {
	d := acceptancetest.StartClamd(t)
	c, err := clamav.New(d.Addr, 30*time.Second, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	big := bytes.Repeat([]byte("clean text, no virus here. "), 40000) // > one INSTREAM chunk
	for _, tc := range []struct {
		name     string
		data     []byte
		infected bool
	}{
		{"clean", []byte("%PDF-1.4 an ordinary letter"), false},
		{"empty", nil, false},
		{"clean large", big, false},
		{"eicar alone", []byte(acceptancetest.EICAR), true},
		{"eicar across a chunk boundary", append(append(big[:65530:65530], acceptancetest.EICAR...), big[:1000]...), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Scan(ctx, bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if res.Infected != tc.infected {
				t.Fatalf("infected = %v, want %v (%+v)", res.Infected, tc.infected, res)
			}
			if tc.infected && res.Signature != acceptancetest.EICARSignature {
				t.Errorf("signature %q, want %q", res.Signature, acceptancetest.EICARSignature)
			}
		})
	}

	small, _ := clamav.New(d.Addr, 30*time.Second, 1000)
	if _, err := small.Scan(ctx, bytes.NewReader(big)); !errors.Is(err, clamav.ErrTooLarge) {
		t.Errorf("over the size limit: %v, want ErrTooLarge", err)
	}
}

func TestScannerUnreachable(t *testing.T) {
	c, err := clamav.New("unix:"+filepath.Join(t.TempDir(), "none.sock"), time.Second, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scan(context.Background(), strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("scan without clamd: %v, want unreachable", err)
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Error("ping without clamd succeeded")
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, network, addr string }{
		{"unix:/run/clamav/clamd.ctl", "unix", "/run/clamav/clamd.ctl"},
		{"/run/clamav/clamd.ctl", "unix", "/run/clamav/clamd.ctl"},
		{"tcp:127.0.0.1:3310", "tcp", "127.0.0.1:3310"},
		{"127.0.0.1:3310", "tcp", "127.0.0.1:3310"},
		{"clamd", "", ""},
		{"unix:", "", ""},
	} {
		n, a, err := clamav.ParseAddress(tc.in)
		if (tc.network == "") != (err != nil) || n != tc.network || a != tc.addr {
			t.Errorf("%q: %q %q %v", tc.in, n, a, err)
		}
	}
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		in       string
		infected bool
		sig      string
		err      bool
	}{
		{"stream: OK", false, "", false},
		{"stream: Win.Test.EICAR_HDB-1 FOUND", true, "Win.Test.EICAR_HDB-1", false},
		{"INSTREAM size limit exceeded. ERROR", false, "", true},
		{"stream:  FOUND", false, "", true},
		{"garbage", false, "", true},
	} {
		r, err := clamav.ParseReply(tc.in)
		if (err != nil) != tc.err || r.Infected != tc.infected || r.Signature != tc.sig {
			t.Errorf("%q: %+v %v", tc.in, r, err)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add("stream: OK")
	f.Add("stream: X FOUND")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := clamav.ParseReply(s)
		if err == nil && r.Infected && r.Signature == "" {
			t.Fatal("infected without a signature name")
		}
	})
}

// TestSizeLimitsAreAboutTheFile: clamd's StreamMaxLength refusal and our
// own limit are ErrTooLarge naming which limit, not ErrUnavailable; the
// scanner still answers afterwards. An unreachable clamd is ErrUnavailable.
func TestSizeLimitsAreAboutTheFile(t *testing.T) {
	d := acceptancetest.StartClamdLimited(t, "1M")
	ctx := context.Background()
	big := bytes.Repeat([]byte("clean text, no virus here. "), 3<<20/27)
	for _, c := range []struct {
		name  string
		max   int64
		clamd bool
		words string
	}{
		{"clamd's StreamMaxLength", 64 << 20, true, "StreamMaxLength"},
		{"our virus.max_size", 512 << 10, false, "virus.max_size (524288 bytes)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, err := clamav.New(d.Addr, 30*time.Second, c.max)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Scan(ctx, bytes.NewReader(big))
			var tl *clamav.TooLargeError
			if !errors.Is(err, clamav.ErrTooLarge) || !errors.As(err, &tl) || tl.Clamd != c.clamd || errors.Is(err, clamav.ErrUnavailable) ||
				!strings.Contains(err.Error(), c.words) {
				t.Fatalf("scan of %d bytes: %v, want a size limit naming %q", len(big), err, c.words)
			}
			if err := cl.Ping(ctx); err != nil {
				t.Errorf("clamd after the refusal: %v", err)
			}
		})
	}
	gone, _ := clamav.New("unix:"+filepath.Join(t.TempDir(), "none.sock"), time.Second, 1<<20)
	if _, err := gone.Scan(ctx, strings.NewReader("x")); !errors.Is(err, clamav.ErrUnavailable) {
		t.Errorf("scan without clamd: %v, want ErrUnavailable", err)
	}
}
