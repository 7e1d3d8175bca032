package ais

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// A token rotated in ais.token_file is in force at the next request: the
// new one accepted, the old one refused, with no restart. A rewrite that
// leaves the file unusable keeps the previous token.
func TestTokenFileRotation(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ais-token")
	write := func(content string) {
		t.Helper()
		// As an administrator rotates it: a new file renamed over the old.
		tmp := filepath.Join(dir, "ais-token.new")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("first-token-aaaaaaaa\n")
	logBuf := &testkit.SyncBuffer{}
	tf, err := OpenTokenFile(path, slog.New(slog.NewTextHandler(logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewAPI(f.svc, tf, slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	defer srv.Close()
	status := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/participants", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	steps := []struct {
		name     string
		write    func()
		accepted []string
		refused  []string
	}{
		{"at start", nil, []string{"first-token-aaaaaaaa"}, []string{"second-token-bbbbbbbb"}},
		{"rotated by rename", func() { write("second-token-bbbbbbbb\n") }, []string{"second-token-bbbbbbbb"}, []string{"first-token-aaaaaaaa"}},
		{"rewritten in place", func() { os.WriteFile(path, []byte("third-token-cc\n"), 0o600) }, []string{"third-token-cc"}, []string{"second-token-bbbbbbbb"}},
		{"emptied: the previous token stays", func() { write("\n") }, []string{"third-token-cc"}, []string{""}},
		{"two words: the previous token stays", func() { write("a b\n") }, []string{"third-token-cc"}, []string{"a b"}},
		{"removed: the previous token stays", func() { os.Remove(path) }, []string{"third-token-cc"}, nil},
		{"back", func() { write("fourth-token-dddd") }, []string{"fourth-token-dddd"}, []string{"third-token-cc"}},
	}
	for _, s := range steps {
		if s.write != nil {
			s.write()
		}
		for _, tok := range s.accepted {
			if got := status(tok); got != 200 {
				t.Errorf("%s: token %q got %d, want 200", s.name, tok, got)
			}
		}
		for _, tok := range s.refused {
			if got := status(tok); got != 401 {
				t.Errorf("%s: token %q got %d, want 401", s.name, tok, got)
			}
		}
	}
	if log := logBuf.String(); !strings.Contains(log, "previous token stays in force") || !strings.Contains(log, "the new one is in force") {
		t.Errorf("rotation and failures are not logged:\n%s", log)
	}
	if _, err := OpenTokenFile(filepath.Join(dir, "none"), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("opened a token file that does not exist")
	}
}

// Every route has its series from the start; requests count by route and
// status code, and their durations by route.
func TestAPIMetrics(t *testing.T) {
	f := newFixture(t)
	before := series(t, f.reg, "seosgw_ais_api_requests_total")
	for _, want := range []string{`code="401",route="POST /documents"`, `code="500",route="GET /documents/{id}"`} {
		if v, ok := before[want]; !ok || v != 0 {
			t.Errorf("before any request: %s = %v (present %v), want 0", want, v, ok)
		}
	}
	f.do("GET", "/api/v1/participants", nil)
	f.do("GET", "/api/v1/participants", nil, "Authorization", "Bearer wrong")
	f.do("GET", "/api/v1/documents/999", nil)
	f.do("GET", "/api/v1/nowhere", nil)
	after := series(t, f.reg, "seosgw_ais_api_requests_total")
	for want, n := range map[string]float64{`code="200",route="GET /participants"`: 1, `code="401",route="GET /participants"`: 1,
		`code="404",route="GET /documents/{id}"`: 1, `code="404",route="other"`: 1} {
		if after[want] != n {
			t.Errorf("%s = %v, want %v (all: %v)", want, after[want], n, after)
		}
	}
	if got := series(t, f.reg, "seosgw_ais_api_request_duration_seconds")[`route="GET /participants"`]; got != 2 {
		t.Errorf("GET /participants durations observed: %v, want 2", got)
	}
	if problems, err := testutil.GatherAndLint(f.reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}

// series reads a metric family: label pairs → value (a histogram's count).
func series(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}
