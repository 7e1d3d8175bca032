package netcheck

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sampleReport() Report {
	return Report{
		Mode: ModeVPN, Register: "register.obmen.local:443", At: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),
		Items: []Item{
			{Name: CheckInterface, OK: true, Detail: "tun0 is up and running (index 5, mtu 1420, 10.8.0.2/24)"},
			{Name: CheckDNS, OK: true, Detail: "register.obmen.local resolves to 10.200.1.10"},
			{Name: CheckRoute, Detail: "10.200.1.10 leaves through eth0 via 192.168.1.1, not tun0 (register.obmen.local)",
				Fix: "route 10.200.1.10/32 through tun0: the VPN server should push it (OpenVPN `route`, WireGuard AllowedIPs); by hand: ip route add 10.200.1.10/32 dev tun0"},
			{Name: CheckRoute + " 10.200.0.0/16", OK: true, Detail: "10.200.0.0/16: 10.200.0.0 via 10.8.0.1 dev tun0 src 10.8.0.2"},
			{Name: CheckTCP, Skipped: true, Detail: "not tried: needs route", Fix: "fix the route check first"},
			{Name: CheckTLS, Skipped: true, Detail: "not tried: needs tcp", Fix: "fix the tcp check first"},
			{Name: CheckCertificate, OK: true, Detail: "our certificate \"ministry.obmen.local\" (serial 0A1B) is valid until 2027-01-01 (304 days)"},
		},
	}
}

func TestReportWriteGolden(t *testing.T) {
	pass := sampleReport()
	pass.Items = []Item{pass.Items[0], pass.Items[1], pass.Items[6]}
	for name, rep := range map[string]Report{"report-failed.golden": sampleReport(), "report-passed.golden": pass} {
		var b bytes.Buffer
		if err := rep.Write(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if b.String() != string(want) {
			t.Errorf("%s differs:\n%s\nwant:\n%s", name, b.String(), want)
		}
	}
}

func TestReportVerdict(t *testing.T) {
	rep := sampleReport()
	if rep.OK() {
		t.Error("a report with a failure is OK")
	}
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "network check route failed: 10.200.1.10 leaves through eth0") ||
		!strings.Contains(err.Error(), "not tried: tcp, tls") {
		t.Errorf("Err() = %v", err)
	}
	if (Report{}).OK() || (Report{}).Err() == nil {
		t.Error("a report without checks passes")
	}
	if err := rep.Blocking(); err == nil {
		t.Error("Blocking() ignores a failed route")
	}
	warnOnly := Report{Items: []Item{{Name: CheckDNS, OK: true}, {Name: CheckCertificate, Warning: true, Detail: "expires soon"}}}
	if warnOnly.OK() || warnOnly.Err() == nil || warnOnly.Blocking() != nil {
		t.Errorf("a warning: OK %v, Err %v, Blocking %v", warnOnly.OK(), warnOnly.Err(), warnOnly.Blocking())
	}
	if (Report{}).Blocking() == nil {
		t.Error("Blocking() passes a report without checks")
	}
	ok := Report{Items: []Item{{Name: CheckDNS, OK: true}}}
	if !ok.OK() || ok.Err() != nil {
		t.Error("a passing report fails")
	}
	if _, found := rep.Item("nope"); found {
		t.Error("found an item that is not there")
	}
}
