package testregister

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

type serverPKI struct {
	ca                        *pki.Authority
	caFile, certFile, keyFile string
	client, stranger          *pki.Identity
}

func newServerPKI(t *testing.T) *serverPKI {
	t.Helper()
	key := testkit.ECKey(t)
	daeu, other := testkit.NewPKI(t, "Test DAEU CA", key), testkit.NewPKI(t, "Other CA", key)
	dir := t.TempDir()
	p := &serverPKI{ca: daeu.CA, caFile: daeu.CAFile(t, dir), client: daeu.Issue(t, "node.obmen.local"), stranger: other.Issue(t, "node.obmen.local")}
	p.certFile, p.keyFile = testkit.Files(t, dir, daeu.Issue(t, "register.obmen.local", pki.WithLoopback()), "register")
	return p
}

func serve(t *testing.T, r *Register, p *serverPKI, publicURL string) string {
	t.Helper()
	addr := testkit.Serve(t, func(ctx context.Context, ready func(net.Addr)) error {
		return r.Serve(ctx, ServeConfig{Listen: "127.0.0.1:0", CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile, PublicURL: publicURL}, ready)
	})
	return "https://" + addr.String() + "/service/"
}

// rawClient speaks HTTP to the register with an optional client certificate.
func rawClient(p *serverPKI, id *pki.Identity) *http.Client {
	cfg := &tls.Config{RootCAs: p.ca.Pool(), MinVersion: tls.VersionTLS12}
	if id != nil {
		cfg.Certificates = []tls.Certificate{id.TLSCertificate()}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

func TestServerRequiresTrustedClientCertificate(t *testing.T) {
	ctx := context.Background()
	p := newServerPKI(t)
	r := open(t, clock.System, nil)
	if _, err := r.Add(ctx, participant(gC, "333", register.Active), nil); err != nil {
		t.Fatal(err)
	}
	url := serve(t, r, p, "")
	for name, id := range map[string]*pki.Identity{"trusted": p.client, "from another CA": p.stranger, "none": nil} {
		t.Run(name, func(t *testing.T) {
			var l *register.Listing
			var err error
			if id != nil {
				c, cerr := daeu.NewClient(daeu.Options{URL: url, Identity: id, RootCAs: p.ca.Pool(), Timeout: 5 * time.Second})
				if cerr != nil {
					t.Fatal(cerr)
				}
				l, err = c.GetAllRecords(ctx)
			} else {
				var resp *http.Response
				resp, err = rawClient(p, nil).Post(url, "text/xml", bytes.NewReader(daeu.EncodeRequest(daeu.GetAllRecords, "")))
				if err == nil {
					resp.Body.Close()
				}
			}
			if id == p.client {
				if err != nil || len(l.Entities) != 1 {
					t.Fatalf("trusted client: %+v %v", l, err)
				}
				return
			}
			var te *daeu.TransportError
			if err == nil || (id != nil && !errors.As(err, &te)) {
				t.Fatalf("a client the register does not trust got through: %v", err)
			}
			if !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("refusal does not say why: %v", err)
			}
		})
	}
}

func TestServerSpeaksNuSOAP(t *testing.T) {
	ctx := context.Background()
	p := newServerPKI(t)
	r := open(t, clock.System, nil)
	if _, err := r.Add(ctx, participant(gC, "333", register.Active), nil); err != nil {
		t.Fatal(err)
	}
	url := serve(t, r, p, "https://register.example/service/")
	hc := rawClient(p, p.client)
	post := func(body, action string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=UTF-8")
		if action != "" {
			req.Header.Set("SOAPAction", action)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	extSoap := `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="uri:egovmsg"><SOAP-ENV:Body><ns1:GetByEntityIdentifier><EntityIdentifier>333</EntityIdentifier></ns1:GetByEntityIdentifier></SOAP-ENV:Body></SOAP-ENV:Envelope>`
	for _, action := range []string{`"uri:egovmsg/GetByEntityIdentifier"`, `uri:egovmsg/GetByEntityIdentifier`, ``} {
		code, b := post(extSoap, action)
		l, err := daeu.DecodeResponse(daeu.GetByEntityIdentifier, b, "", nil)
		if code != 200 || err != nil || len(l.Entities) != 1 || !bytes.Contains(b, []byte(`<item xsi:type="tns:Entity">`)) {
			t.Errorf("SOAPAction %q: HTTP %d %v %s", action, code, err, b)
		}
	}
	faults := map[string]string{
		`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><m:GetByName xmlns:m="uri:egovmsg"/></e:Body></e:Envelope>`:                                            "Operation 'GetByName' is not defined in the WSDL for this service",
		`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><m:GetNewRecords xmlns:m="uri:egovmsg"><date>yesterday</date></m:GetNewRecords></e:Body></e:Envelope>`: "not an xsd:dateTime",
		`<notsoap/>`: "error in msg parsing",
	}
	for body, says := range faults {
		code, b := post(body, "")
		_, err := daeu.DecodeResponse(daeu.GetAllRecords, b, "", nil)
		var f *daeu.FaultError
		if code != 500 || !errors.As(err, &f) || f.Code != daeu.FaultClient || !strings.Contains(f.String, says) {
			t.Errorf("%s: HTTP %d, %v; want a Client fault saying %q", body, code, err, says)
		}
	}
	resp, err := hc.Get(url + "?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	wsdlBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(wsdlBody, []byte(`location="https://register.example/service/"`)) ||
		!bytes.Contains(wsdlBody, []byte(`name="egovmsgBinding"`)) {
		t.Errorf("?wsdl: HTTP %d %.300s", resp.StatusCode, wsdlBody)
	}
	if resp, err := hc.Get(url); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET without ?wsdl: %v %v", resp, err)
	}
}
