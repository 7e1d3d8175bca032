package ops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := New(reg, reg)
	o.AddCheck("database", func(context.Context) error { return nil })
	failing := errors.New("last sync 30h ago (stale after 24h)")
	o.AddCheck("register", func(context.Context) error { return failing })
	srv := httptest.NewServer(o.Handler())
	defer srv.Close()

	get := func(path, accept string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	code, body := get("/readyz", "")
	if code != 503 || !strings.Contains(body, "ok   database") || !strings.Contains(body, "FAIL register: last sync 30h ago") {
		t.Errorf("readyz: %d %q", code, body)
	}
	if code, body := get("/readyz", "application/json"); code != 503 || !strings.Contains(body, `"check":"register","ok":false`) {
		t.Errorf("readyz json: %d %s", code, body)
	}
	if testutil.ToFloat64(o.ready.WithLabelValues("register")) != 0 || testutil.ToFloat64(o.ready.WithLabelValues("database")) != 1 {
		t.Error("seosgw_ready not set per check")
	}
	failing = nil
	o.AddCheck("register", func(context.Context) error { return nil })
	if code, _ := get("/readyz", ""); code != 200 {
		t.Errorf("all ready: %d", code)
	}
	if code, body := get("/metrics", ""); code != 200 || !strings.Contains(body, `seosgw_ready{check="register"} 1`) {
		t.Errorf("metrics: %d %s", code, body)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
