package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The example configuration documents every field and is itself valid.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "conformance.example.yaml")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.LargeAttachment != 8<<20 || c.Timeouts.Async.D() != 30*time.Minute || c.SchemaValidator != "auto" || c.Timeouts.SlowReply.D() != 30*time.Second || c.Language != Bulgarian {
		t.Errorf("example differs from the defaults it documents: %+v", c)
	}
	b, _ := os.ReadFile(path)
	for _, field := range []string{"test_participant", "inactive_participant", "wrong_certificate", "register", "listen", "timeouts",
		"large_attachment", "clock_skew", "schema_validator", "report_dir", "joining", "register_db", "record", "holidays", "public_url", "address", "request", "slow_reply", "async", "language"} {
		if !strings.Contains(string(b), field+":") {
			t.Errorf("the example does not document %s", field)
		}
	}
}

func TestConfigProblemsNameTheField(t *testing.T) {
	base := `test_participant: {guid: "{11111111-1111-4111-8111-111111111111}", eik: "1", name: "T", cert: t.pem, key: t-key.pem}
inactive_participant: {guid: "{22222222-2222-4222-8222-222222222222}", eik: "2", name: "I", cert: i.pem, key: i-key.pem}
ca: ca.pem
register: {url: "https://register.obmen.local/service/"}
listen: {address: ":4443", public_url: "https://daeu.obmen.local:4443/seos/endpoint"}
`
	if _, err := ParseConfig([]byte(base), "/etc"); err != nil {
		t.Fatalf("base config: %v", err)
	}
	for _, tc := range []struct{ extra, field string }{
		{"large_attachment: 4MiB\n", "large_attachment"},
		{"joining: {record: true}\n", "joining.record"},
		{"timeouts: {async: 0s}\n", "timeouts.async"},
		{"schema_validator: maybe\n", "schema_validator"},
		{"wrong_certificate: {cert: w.pem}\n", "wrong_certificate.key"},
		{"colour: red\n", "colour"},
		{"language: de\n", "language"},
		{"timeouts: {request: 20s}\n", "timeouts.slow_reply"},
		{"timeouts: {slow_reply: 0s}\n", "timeouts.slow_reply"},
	} {
		_, err := ParseConfig([]byte(base+tc.extra), "/etc")
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: error %v should name %s", tc.extra, err, tc.field)
		}
	}
	bad := strings.Replace(base, `"{22222222-2222-4222-8222-222222222222}"`, `"{11111111-1111-4111-8111-111111111111}"`, 1)
	if _, err := ParseConfig([]byte(bad), "/etc"); err == nil || !strings.Contains(err.Error(), "inactive_participant.guid") {
		t.Errorf("the same GUID twice: %v", err)
	}
	c, _ := ParseConfig([]byte(base), "/etc/seosgw")
	if c.Path("ca.pem") != "/etc/seosgw/ca.pem" || c.Path("/x/ca.pem") != "/x/ca.pem" {
		t.Errorf("paths resolve from the config's folder: %s", c.Path("ca.pem"))
	}
}

func FuzzParseConfig(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("..", "..", "configs", "conformance.example.yaml"))
	f.Add(b)
	f.Add([]byte("large_attachment: 9MiB\ntimeouts: {async: 5d}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b, "/tmp")
		if err == nil && c.Validate() != nil {
			t.Error("ParseConfig accepted what Validate refuses")
		}
	})
}
