package inbound

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// Issue 11, item 1: what slow or stranger clients can no longer do to the
// endpoint's slots. Real TLS connections on loopback; the tests wait for
// things to happen, they never time them.

// dial opens a TLS connection to the endpoint with p's certificate.
func (w *world) dial(p party) (*tls.Conn, error) {
	host := strings.TrimPrefix(strings.TrimSuffix(w.url, "/seos/endpoint"), "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: w.ca.CA.Pool(), ServerName: "b.obmen.local", Certificates: []tls.Certificate{p.id.TLSCertificate()}})
	if err != nil {
		return nil, err
	}
	w.t.Cleanup(func() { conn.Close() })
	// TLS 1.3 reports a refused client certificate on the first read.
	return conn, conn.Handshake()
}

// A certificate of the DAEU CA that is no participant's in the register
// is refused during the handshake: its holder never takes a slot.
func TestStrangerRefusedInTheHandshake(t *testing.T) {
	w := newWorld(t, options{})
	conn, err := w.dial(w.stranger)
	if err == nil {
		fmt.Fprintf(conn, "POST /seos/endpoint HTTP/1.1\r\nHost: b\r\nContent-Length: 10\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = bufio.NewReader(conn).ReadString('\n')
	}
	if err == nil {
		t.Fatal("a certificate that is no participant's got an answer")
	}
	if v := testutil.ToFloat64(w.pipeline.Metrics.tlsRefusals.WithLabelValues("not_in_register")); v != 1 {
		t.Errorf("handshake refusals counted: %v", v)
	}
	if n := w.count(`SELECT count(*) FROM message_log`); n != 0 {
		t.Errorf("%d log entries for a refused handshake", n)
	}
	// A participant of the same CA is let in.
	if _, err := w.dial(w.a); err != nil {
		t.Fatalf("participant refused: %v", err)
	}
}

// A Content-Length over the limit is answered at once, with a signed
// Error, before any of the body arrives; the connection closes.
func TestDeclaredTooLargeRefusedAtOnce(t *testing.T) {
	w := newWorld(t, options{maxBytes: 1 << 20})
	conn, err := w.dial(w.a)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /seos/endpoint HTTP/1.1\r\nHost: b\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n<s:Envelope", 1<<30)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // a bound on a hang, not a timing
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a request announced at 1 GiB: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("HTTP %d, close=%v", resp.StatusCode, resp.Close)
	}
	result, err := soap.ParseSubmitResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := seos.Parse(result)
	if err != nil || m.Body.Error == nil || !strings.Contains(m.Body.Error.Description, "размер") {
		t.Fatalf("reply: %+v %v", m, err)
	}
	if w.count(`SELECT count(*) FROM message_log WHERE reason = 'too_large' AND size = ?`, 1<<30) != 1 {
		t.Error("refusal not logged with the announced size")
	}
}

// Peers that send their bodies slower than min_body_rate take slots only
// until the grace runs out; then they are cut off, and the slots serve
// others again.
func TestSlowBodiesCutOff(t *testing.T) {
	const drippers = 4
	w := newWorld(t, options{maxConcurrent: drippers, limits: Limits{PerPeer: drippers, MinBodyRate: 1 << 10, Grace: 300 * time.Millisecond}})
	closed := make(chan error, drippers)
	for i := 0; i < drippers; i++ {
		conn, err := w.dial(w.a)
		if err != nil {
			t.Fatal(err)
		}
		// Headers, one byte of a 1 MB body, then nothing: a slowloris.
		fmt.Fprintf(conn, "POST /seos/endpoint HTTP/1.1\r\nHost: b\r\nContent-Type: text/xml\r\nContent-Length: 1000000\r\n\r\n<")
		go func() {
			conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 400 || !resp.Close {
					err = fmt.Errorf("HTTP %d, close=%v", resp.StatusCode, resp.Close)
				}
			}
			closed <- err
		}()
	}
	testkit.Eventually(t, 10*time.Second, "every slot taken", func() bool {
		return w.handler.InFlight() == drippers || testutil.ToFloat64(w.pipeline.Metrics.slowBodies) > 0
	})
	for i := 0; i < drippers; i++ {
		if err := <-closed; err != nil {
			t.Errorf("slow request %d: %v", i, err)
		}
	}
	if v := testutil.ToFloat64(w.pipeline.Metrics.slowBodies); v != drippers {
		t.Errorf("%v slow bodies counted, want %d", v, drippers)
	}
	testkit.Eventually(t, 10*time.Second, "the slots are free again", func() bool { return w.handler.InFlight() == 0 })
	reply, _ := w.submit(w.c.id, testkit.Sign(t, w.c.id, registration(w.c.entity, w.b.entity, seos.NewGUID())))
	if reply.Body.StatusResponse == nil || reply.Body.StatusResponse.Status != seos.StatusWaitRegistration {
		t.Fatalf("a peer after the slow ones: %+v", reply.Body)
	}
}
