package config

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeFiles(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem", "ca.pem", "ais-token"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	return dir
}

const minimal = `
participant: {guid: "{11111111-1111-4111-8111-111111111111}", eik: "000695089", name: "Министерство"}
tls: {cert: cert.pem, key: key.pem, ca: ca.pem}
register: {url: "https://register.obmen.local/service/"}
ais: {token_file: ais-token}
`

func TestParseMinimalUsesDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal), writeFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Register.Refresh.D() != 10*time.Minute || c.Endpoint.MaxAttachmentBytes != 64<<20 || c.TLS.Digest != "sha256" {
		t.Errorf("defaults not applied: %+v", c)
	}
	if got := c.Path("cert.pem"); got != filepath.Join(c.dir, "cert.pem") {
		t.Errorf("relative path resolved to %s", got)
	}
}

func TestValidationNamesFieldAndFix(t *testing.T) {
	dir := writeFiles(t)
	cases := []struct{ name, yaml, field, fix string }{
		{"bad guid", strings.Replace(minimal, "{11111111-1111-4111-8111-111111111111}", "11111111", 1), "participant.guid", "copy it from your register entry"},
		{"missing cert", strings.Replace(minimal, "cert: cert.pem", "cert: nothere.pem", 1), "tls.cert", "check the path"},
		{"http register", strings.Replace(minimal, "https://register", "http://register", 1), "register.url", "https URL"},
		{"bad duration", strings.Replace(minimal, `service/"}`, `service/", refresh: soon}`, 1), "register.refresh (line 4)", `"soon" is not a duration like`},
		{"unknown field", minimal + "endpont: {listen: \":1\"}\n", "endpont", "field"},
		{"stale shorter than refresh", strings.Replace(minimal, `register: {url: "https://register.obmen.local/service/"}`, `register: {url: "https://register.obmen.local/service/", refresh: 1h, stale_after: 30m}`, 1), "register.stale_after", "flap"},
		{"tiny message limit", minimal + "endpoint: {max_message_bytes: 1KiB}\n", "endpoint.max_message_bytes", "at least 1MiB"},
		{"message limit below the attachment's", minimal + "endpoint: {max_message_bytes: 64MiB}\n", "endpoint.max_message_bytes", "cannot carry a file of max_attachment_bytes"},
		{"tiny attachment limit", minimal + "endpoint: {max_attachment_bytes: 1KiB}\n", "endpoint.max_attachment_bytes", "at least 1MiB"},
		{"per-peer share over the whole", minimal + "endpoint: {max_concurrent: 4, max_concurrent_per_peer: 5}\n", "endpoint.max_concurrent_per_peer", "1 to max_concurrent"},
		{"zero grace", minimal + "endpoint: {min_body_rate_grace: 0s}\n", "endpoint.min_body_rate_grace", "positive duration"},
		{"AIS API on the network", strings.Replace(minimal, "ais: {token_file: ais-token}", `ais: {listen: "10.1.2.3:8080", token_file: ais-token}`, 1), "ais.listen", "loopback"},
		{"retry schedule over a year", minimal + "outbound: {retry_first: 30d, retries: 10}\n", "outbound.retry_first", "over a year"},
		{"status polling cap below its start", minimal + "outbound: {status_after: 72h, status_max_interval: 24h}\n", "outbound.status_max_interval", "shorter than outbound.status_after"},
		{"bad listen", minimal + "ops: {listen: nowhere}\n", "ops.listen", "host:port"},
		{"bad size", minimal + "endpoint: {max_message_bytes: lots}\n", "endpoint.max_message_bytes (line 6)", `"lots" is not a size like`},
		{"missing acceptance rules", minimal + "acceptance: {rules: nothere.yaml}\n", "acceptance.rules", "start from configs/acceptance.maritime.example.yaml"},
		{"acceptance rules a folder", minimal + "acceptance: {rules: .}\n", "acceptance.rules", "is a folder"},
		{"no acceptance workers", minimal + "acceptance: {rules: ais-token, workers: 0}\n", "acceptance.workers", "1 to 64"},
		{"acceptance timeout too short", minimal + "acceptance: {rules: ais-token, timeout: 10ms}\n", "acceptance.timeout", "at least 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), dir)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.fix) {
				t.Errorf("error %q should name %q and say %q", err, c.field, c.fix)
			}
		})
	}
}

// A transport key others can read is refused at start, as the AIS token
// is: it signs every message as this administration.
func TestKeyReadableByOthersIsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		dir := writeFiles(t)
		if err := os.Chmod(filepath.Join(dir, "key.pem"), mode); err != nil {
			t.Fatal(err)
		}
		_, err := Parse([]byte(minimal), dir)
		if err == nil || !strings.Contains(err.Error(), "tls.key: key.pem is readable by others (mode "+strconv.FormatUint(uint64(mode), 8)+"); chmod 600 it") {
			t.Errorf("key mode %o: %v", mode, err)
		}
	}
	if _, err := Parse([]byte(minimal), writeFiles(t)); err != nil {
		t.Errorf("key mode 600: %v", err)
	}
}

// Every bad duration and size is named by its field and line, block or
// flow style, nested or in a list, all at once.
func TestBadValuesNameFieldAndLine(t *testing.T) {
	text := minimal + `endpoint:
  clock_skew: 10 minutes
  max_message_bytes: [1, 2]
network: {mode: internet, timeout: 5x}
outbound:
  peers: {}
  retry_first: quarter hour
`
	_, err := Parse([]byte(text), writeFiles(t))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`endpoint.clock_skew (line 7): "10 minutes" is not a duration`,
		`endpoint.max_message_bytes (line 8): "" is not a size`,
		`network.timeout (line 9): "5x" is not a duration`,
		`outbound.retry_first (line 12): "quarter hour" is not a duration`,
		"field names are listed in configs/seosgw.example.yaml",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// The default ops listener is not Prometheus's own port: a node and a
// Prometheus on one host must both start.
func TestOpsDefaultIsNotPrometheusPort(t *testing.T) {
	_, port, err := net.SplitHostPort(Defaults().Ops.Listen)
	if err != nil || port == "9090" || port == "9093" || port == "9091" {
		t.Errorf("ops.listen default %q", Defaults().Ops.Listen)
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, err := Parse([]byte("log: {level: loud}\n"), t.TempDir())
	p, ok := err.(Problems)
	if !ok || len(p) < 6 {
		t.Fatalf("want every problem listed, got %v", err)
	}
}

func TestDurationsAndSizes(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "30d": 30 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		if d, err := ParseDuration(in); err != nil || d.D() != want {
			t.Errorf("%s: %v %v", in, d.D(), err)
		}
	}
	for in, want := range map[string]ByteSize{"64MiB": 64 << 20, "10MB": 10e6, "512": 512, "1GiB": 1 << 30} {
		if b, err := ParseByteSize(in); err != nil || b != want {
			t.Errorf("%s: %v %v", in, b, err)
		}
	}
	for _, bad := range []string{"-1d", "xd", "", "10 parsecs"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("endpoint: {max_message_bytes: 1GiB}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, t.TempDir())
		if err == nil && c.Validate() != nil {
			t.Fatal("Parse accepted what Validate refuses")
		}
	})
}

// The example file documents every field: it must parse (with its paths
// pointed at files that exist) and name every field the Config has.
func TestExampleConfigIsCompleteAndValid(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "seosgw.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t)
	text := strings.NewReplacer("/etc/seosgw/transport.pem", "cert.pem", "/etc/seosgw/transport-key.pem", "key.pem",
		"/etc/seosgw/daeu-ca.pem", "ca.pem", "/etc/seosgw/ais-token", "ais-token").Replace(string(b))
	c, err := Parse([]byte(text), dir)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	// What a ministry copies should be what it runs: the DAEU VPN, and
	// sha256 for everyone unless a peer is known to need sha1.
	if c.Network.Mode != "vpn" || c.Network.Interface == "" {
		t.Errorf("the example's network is %q on %q; want mode vpn with an interface", c.Network.Mode, c.Network.Interface)
	}
	if len(c.Outbound.Peers) != 0 || c.TLS.Digest != "sha256" {
		t.Errorf("the example turns sha1 on for a peer: %+v", c.Outbound.Peers)
	}
	if c.Ops.Listen != DefaultOpsListen {
		t.Errorf("the example's ops.listen %q is not the default %q", c.Ops.Listen, DefaultOpsListen)
	}
	for _, field := range yamlFields(reflect.TypeOf(Config{}), "") {
		if !strings.Contains(string(b), strings.Split(field, ".")[len(strings.Split(field, "."))-1]+":") {
			t.Errorf("configs/seosgw.example.yaml does not document %s", field)
		}
	}
}

func yamlFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			out = append(out, yamlFields(f.Type, prefix+tag+".")...)
			continue
		}
		out = append(out, prefix+tag)
	}
	return out
}

// A 64 MiB file travels as 85.3 MiB of base64: the derived message limit
// carries it, with room for the envelope.
func TestMessageLimitFollowsTheAttachmentLimit(t *testing.T) {
	c, err := Parse([]byte(minimal), writeFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Endpoint.MessageLimit(), Base64Len(64<<20)+4<<20; got != want || got < 89<<20 {
		t.Errorf("derived limit %d, want %d", got, want)
	}
	c.Endpoint.MaxMessageBytes = 200 << 20
	if c.Endpoint.MessageLimit() != 200<<20 {
		t.Error("an explicit max_message_bytes is not kept")
	}
}
