package netcheck

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/trust"
)

// testPKI is a DAEU-like CA made at test time (the kit's fast ECDSA one:
// the checks do not depend on the key type), its ca.pem in dir and a
// trust store of it.
type testPKI struct {
	*testkit.PKI
	dir   string
	store *trust.Store
}

func newTestPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	p := &testPKI{PKI: testkit.NewPKI(t, name, nil), dir: t.TempDir()}
	p.CAFile(t, p.dir)
	p.store = p.Trust(t)
	return p
}

// issue makes a transport identity for host.
func (p *testPKI) issue(t testing.TB, host string, opts ...pki.Option) *pki.Identity {
	t.Helper()
	return p.Issue(t, host, opts...)
}

// write stores an identity as <base>.pem and <base>-key.pem in the PKI's folder.
func (p *testPKI) write(t testing.TB, id *pki.Identity, base string) (cert, key string) {
	t.Helper()
	return testkit.Files(t, p.dir, id, base)
}

// serveRegister serves a stand-in for the DAEU register on ln: mutual TLS
// with clients checked against clientCAs' store, answering any request with
// 200. It stops when the test ends.
func serveRegister(t testing.TB, ln net.Listener, id *pki.Identity, clientCAs *testPKI) {
	t.Helper()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintln(w, "register")
		}),
		TLSConfig:         clientCAs.store.ServerTLS(id),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are what some tests are about
	}
	go func() {
		if err := srv.Serve(tls.NewListener(ln, srv.TLSConfig)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Logf("register server: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
}

// mustItem returns the named item or fails.
func mustItem(t testing.TB, rep Report, name string) Item {
	t.Helper()
	it, ok := rep.Item(name)
	if !ok {
		t.Fatalf("no item %q in report:\n%s", name, dump(rep))
	}
	return it
}

func dump(rep Report) string {
	var b strings.Builder
	rep.Write(&b)
	return b.String()
}

// wantItems checks each named item's state: "ok", "fail" or "skip"; items
// not named must be ok.
func wantItems(t testing.TB, rep Report, want map[string]string) {
	t.Helper()
	for _, it := range rep.Items {
		state := "ok"
		switch {
		case it.Skipped:
			state = "skip"
		case !it.OK:
			state = "fail"
		}
		w, named := want[it.Name]
		if !named {
			w = "ok"
		}
		if state != w {
			t.Errorf("item %s: %s, want %s\n%s", it.Name, state, w, dump(rep))
			return
		}
		if !it.OK && it.Fix == "" {
			t.Errorf("item %s failed without a fix", it.Name)
		}
	}
	for name := range want {
		mustItem(t, rep, name)
	}
}

// defaults are the settings a node gets from an empty network section.
func defaults() Options {
	return Options{Mode: ModeInternet, Timeout: 10 * time.Second, CertMinDays: 30, Probe: time.Minute}
}
