package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/trust"
)

// preflightSetup writes a PKI, starts a register stand-in on loopback (mutual
// TLS, DAEU-issued certificate for 127.0.0.1) and returns a function that
// writes a configuration with the given network section and client
// certificate lifetime.
func preflightSetup(t *testing.T) (dir string, writeConfig func(network string, clientLife time.Duration) string) {
	t.Helper()
	dir = t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ca, err := pki.NewAuthority("test DAEU CA", pki.WithKey(key()))
	if err != nil {
		t.Fatal(err)
	}
	caPath, _, err := ca.WriteFiles(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	store, err := trust.New(caPath, nil, false, clock.System, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	regID, err := ca.IssueTransport("127.0.0.1", pki.WithKey(key()))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(ln, store.ServerTLS(regID)))
	t.Cleanup(func() { srv.Close() })
	registerURL := "https://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/service/"
	if err := os.WriteFile(filepath.Join(dir, "ais-token"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 0
	writeConfig = func(network string, clientLife time.Duration) string {
		n++
		now := time.Now()
		id, err := ca.IssueTransport("node.seos.test", pki.WithKey(key()), pki.WithValidity(now.Add(-time.Hour), now.Add(clientLife)))
		if err != nil {
			t.Fatal(err)
		}
		base := "node" + strconv.Itoa(n)
		if _, _, err := id.WriteFiles(dir, base); err != nil {
			t.Fatal(err)
		}
		cfg := `participant:
  guid: "{11111111-2222-4333-8444-555555555555}"
  eik: "000695089"
  name: "Министерство на примерите"
tls:
  cert: ` + base + `.pem
  key: ` + base + `-key.pem
  ca: ca.pem
register:
  url: "` + registerURL + `"
database:
  path: seosgw.db
ais:
  token_file: ais-token
` + network
		path := filepath.Join(dir, "seosgw"+strconv.Itoa(n)+".yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return dir, writeConfig
}

func TestPreflight(t *testing.T) {
	_, writeConfig := preflightSetup(t)
	year := 365 * 24 * time.Hour
	cases := []struct {
		name     string
		network  string
		life     time.Duration
		code     int
		out, err []string // each must appear
	}{
		{"passes", "network:\n  mode: internet\n  timeout: 5s\n", year, 0,
			[]string{"[ok]   dns", "[ok]   tcp", "[ok]   tls", "[ok]   certificate", "preflight passed"}, nil},
		{"defaults without a network section", "", year, 0, []string{"mode internet", "preflight passed"}, nil},
		{"certificate expires in 10 days", "network:\n  mode: internet\n  cert_min_days: 30\n", 10 * 24 * time.Hour, 1,
			[]string{"[FAIL] certificate", "in 10 days (network.cert_min_days is 30", "fix: ask DAEU", "preflight FAILED: certificate"}, nil},
		{"vpn interface missing", "network:\n  mode: vpn\n  interface: nosuch0\n", year, 1,
			[]string{"[FAIL] interface", "no interface nosuch0", "[skip] route", "[skip] tcp", "[skip] tls", "[ok]   certificate"}, nil},
		{"invalid network section", "network:\n  mode: vpn\n  probe: 1s\n", year, 2, nil,
			[]string{"network.interface: empty", "network.probe:"}},
		{"misspelt network field", "network:\n  mode: internet\n  timout: 5s\n", year, 2, nil, []string{"config.Network", "timout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, nil, "preflight", "--config", writeConfig(tc.network, tc.life))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.err {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

func TestPreflightJSONAndUsage(t *testing.T) {
	_, writeConfig := preflightSetup(t)
	code, out, errOut := cli(t, nil, "preflight", "--json", "--config", writeConfig("network:\n  mode: internet\n", 365*24*time.Hour))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep netcheck.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK() {
		t.Fatalf("JSON report %v: %s", err, out)
	}
	if code, _, _ := cli(t, nil, "preflight", "extra"); code != 2 {
		t.Errorf("an extra argument: exit %d, want 2", code)
	}
	if code, _, errOut := cli(t, nil, "preflight", "--config", filepath.Join(t.TempDir(), "none.yaml")); code != 2 || !strings.Contains(errOut, "none.yaml") {
		t.Errorf("a missing file: exit %d: %s", code, errOut)
	}
}
