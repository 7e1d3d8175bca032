package netcheck

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
)

// fakeResolver answers from a map; a missing name is NXDOMAIN.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestRunInternetMode drives mode internet end to end over loopback: real
// TCP, real mutual TLS against a register stand-in, real certificates.
func TestRunInternetMode(t *testing.T) {
	daeu := newTestPKI(t, "test DAEU CA")
	other := newTestPKI(t, "some other CA")
	const host = "register.seos.test"
	registerID := daeu.issue(t, host)
	client := daeu.issue(t, "node.seos.test")
	loop := fakeResolver{host: {netip.MustParseAddr("127.0.0.1")}}

	listen := func(t *testing.T) net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	cfg := defaults()
	cfg.Timeout = 5 * time.Second

	cases := []struct {
		name  string
		setup func(t *testing.T, d *Deps) // serves a register and adjusts deps
		want  map[string]string
		fix   map[string]string // item → words its fix must contain
	}{
		{"all pass", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, registerID, daeu)
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/service/"
		}, nil, nil},
		{"register by address", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, daeu.issue(t, "127.0.0.1"), daeu)
			d.RegisterURL = "https://127.0.0.1:" + port(ln) + "/service/"
		}, nil, nil},
		{"unresolvable", func(t *testing.T, d *Deps) {
			d.RegisterURL = "https://missing.seos.test/service/"
		}, map[string]string{CheckDNS: "fail", CheckTCP: "skip", CheckTLS: "skip"},
			map[string]string{CheckDNS: "resolvable", CheckTCP: "dns"}},
		{"nothing listens", func(t *testing.T, d *Deps) {
			ln := listen(t)
			ln.Close()
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
		}, map[string]string{CheckTCP: "fail", CheckTLS: "skip"}, map[string]string{CheckTCP: "nothing listens"}},
		{"register certificate from another CA", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, other.issue(t, host), daeu)
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
		}, map[string]string{CheckTLS: "fail"}, map[string]string{CheckTLS: "restart seosgw (tls.ca is read at start only)"}},
		{"register certificate for another name", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, daeu.issue(t, "elsewhere.seos.test"), daeu)
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
		}, map[string]string{CheckTLS: "fail"}, map[string]string{CheckTLS: "register.url"}},
		{"register refuses our certificate", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, registerID, other) // trusts only the other CA's clients
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
		}, map[string]string{CheckTLS: "fail"}, map[string]string{CheckTLS: "systemctl reload seosgw (SIGHUP) or within 20 s of the files changing, without a restart); if they are, ask DAEU"}},
		{"our certificate expires in 10 days", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, registerID, daeu)
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
			d.Identity = daeu.ExpiringIn(t, "node.seos.test", 10*24*time.Hour)
		}, map[string]string{CheckCertificate: "fail"}, map[string]string{CheckCertificate: "new transport certificate now (allow weeks: it is issued and tested in the joining procedure; seosgw pki csr makes the request), then put it in tls.cert and tls.key: a running seosgw takes the new pair on systemctl reload seosgw"}},
		{"our certificate not yet valid (clock behind)", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, registerID, daeu)
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
			d.Clock = clock.NewManual(client.Cert.NotBefore.Add(-time.Hour))
		}, map[string]string{CheckCertificate: "fail"}, map[string]string{CheckCertificate: "clock"}},
		{"our certificate from another CA", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, registerID, daeu)
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
			d.Identity = other.issue(t, "node.seos.test")
		}, map[string]string{CheckCertificate: "fail", CheckTLS: "fail"}, map[string]string{CheckCertificate: "tls.ca"}},
		{"our certificate does not load", func(t *testing.T, d *Deps) {
			ln := listen(t)
			serveRegister(t, ln, registerID, daeu)
			d.RegisterURL = "https://" + host + ":" + port(ln) + "/"
			d.Identity, d.IdentityErr = nil, pki.ErrKeyMismatch
		}, map[string]string{CheckCertificate: "fail", CheckTLS: "skip"}, map[string]string{CheckCertificate: "tls.cert"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Deps{Identity: client, Trust: daeu.store, Resolver: loop}
			tc.setup(t, &d)
			rep := Run(context.Background(), cfg, d)
			t.Log("\n" + dump(rep))
			wantItems(t, rep, tc.want)
			if rep.OK() != (len(tc.want) == 0) {
				t.Errorf("OK() = %v\n%s", rep.OK(), dump(rep))
			}
			for name, words := range tc.fix {
				if it := mustItem(t, rep, name); !strings.Contains(it.Fix, words) {
					t.Errorf("%s fix %q does not mention %q", name, it.Fix, words)
				}
			}
			// A new certificate is reloaded, not restarted for: no fix
			// about tls.cert may send the operator to restart.
			for _, it := range rep.Items {
				if strings.Contains(it.Fix, "tls.cert") && strings.Contains(it.Fix, "and restart") {
					t.Errorf("%s: fix says restart for a certificate the node reloads: %q", it.Name, it.Fix)
				}
			}
			if _, ok := rep.Item(CheckRoute); ok {
				t.Error("mode internet checked a route")
			}
		})
	}
}

func port(ln net.Listener) string { return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) }

// TestRunStopsWithContext: a register that accepts TCP but never speaks TLS
// fails the tls item within the timeout.
func TestRunTLSTimeout(t *testing.T) {
	daeu := newTestPKI(t, "test DAEU CA")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	cfg := defaults()
	cfg.Timeout = time.Second
	rep := Run(context.Background(), cfg, Deps{RegisterURL: "https://127.0.0.1:" + port(ln) + "/", Identity: daeu.issue(t, "node.seos.test"), Trust: daeu.store})
	wantItems(t, rep, map[string]string{CheckTLS: "fail"})
	if it := mustItem(t, rep, CheckTLS); !strings.Contains(it.Fix, "network.timeout") {
		t.Errorf("fix %q", it.Fix)
	}
}
