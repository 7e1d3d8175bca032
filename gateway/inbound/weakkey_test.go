package inbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

// A participant whose transport certificate has a 1024-bit RSA key cannot
// reach the endpoint over TLS, and a message signed with such a key is
// refused with a signed Error whatever brought it.
func TestWeakKeysAreRefused(t *testing.T) {
	w := newWorld(t, options{})
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	e := testkit.Participant(7, "123456787", "Слаб ключ")
	weak := testkit.NewParty(e, w.ca.Issue(t, "g.obmen.local", pki.WithKey(k), pki.WithLoopback()))
	if err := w.cache.Apply(context.Background(), false, []register.Entity{weak.Entity}, "c2"); err != nil {
		t.Fatal(err)
	}

	cert := weak.ID.TLSCertificate()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(w.url, "/seos/endpoint"), "https://"),
		&tls.Config{RootCAs: w.ca.CA.Pool(), ServerName: "b.obmen.local", Certificates: []tls.Certificate{cert}})
	if err == nil {
		// TLS 1.3 reports the refused certificate on the first read.
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET /seos/endpoint?wsdl HTTP/1.1\r\nHost: b\r\n\r\n")
		_, err = bufio.NewReader(conn).ReadString('\n')
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "bad certificate") {
		t.Errorf("a client with a 1024-bit key: %v", err)
	}

	m := registration(weak.Node(), w.b.entity, seos.NewGUID())
	env, err := soap.Submit(testkit.Sign(t, weak.ID, m))
	if err != nil {
		t.Fatal(err)
	}
	resp := w.pipeline.Handle(context.Background(), Request{Body: bytes.NewReader(env), Declared: int64(len(env)), ClientCert: weak.ID.Cert})
	payload, err := soap.ParseSubmitResponse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	assertError(t, mustParse(t, payload), seos.ErrExternal, m.Header.MessageGUID, "RSA ключ, по-къс от допустимия (2048 бита)")
	if v := testutil.ToFloat64(w.pipeline.Metrics.signatureFailures.WithLabelValues(weakKey)); v != 1 {
		t.Errorf("seosgw_inbound_signature_failures_total{kind=weak_key} = %v", v)
	}
	if n := w.count(`SELECT count(*) FROM inbox`); n != 0 {
		t.Errorf("%d documents stored", n)
	}
}
