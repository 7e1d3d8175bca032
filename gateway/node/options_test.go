package node

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

func TestDigests(t *testing.T) {
	cfg := config.Defaults()
	cfg.TLS.Digest = "sha256"
	cfg.Outbound.Peers = map[string]config.Peer{
		"{AAAAAAAA-0000-4000-8000-000000000001}": {Digest: "sha1"},
		"{bbbbbbbb-0000-4000-8000-000000000002}": {}, // no override
	}
	digest, err := Digests(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for guid, want := range map[string]xmldsig.Hash{
		"{aaaaaaaa-0000-4000-8000-000000000001}": xmldsig.SHA1, // GUIDs compare case-insensitively
		"{bbbbbbbb-0000-4000-8000-000000000002}": xmldsig.SHA256,
		"{cccccccc-0000-4000-8000-000000000003}": xmldsig.SHA256,
	} {
		if got := digest(guid); got != want {
			t.Errorf("%s: %s, want %s", guid, got, want)
		}
	}
	cfg.Outbound.Peers["{AAAAAAAA-0000-4000-8000-000000000001}"] = config.Peer{Digest: "md5"}
	if _, err := Digests(cfg); err == nil || !strings.Contains(err.Error(), "outbound.peers.{AAAAAAAA-0000-4000-8000-000000000001}.digest") {
		t.Errorf("a bad peer digest: %v", err)
	}
	cfg.TLS.Digest = "sha512"
	if _, err := Digests(cfg); err == nil || !strings.Contains(err.Error(), "tls.digest") {
		t.Errorf("a bad tls.digest: %v", err)
	}
}

// Every mode the configuration accepts is a netcheck mode, and the lexical
// forms of the network section become netcheck's typed values.
func TestNetworkOptions(t *testing.T) {
	for _, mode := range []string{config.ModeVPN, config.ModeEESMDANS, config.ModeInternet} {
		n := config.NetworkDefaults()
		n.Mode = mode
		cfg := &config.Config{Network: n}
		o, err := NetworkOptions(cfg)
		if err != nil || !slices.Contains([]netcheck.Mode{netcheck.ModeVPN, netcheck.ModeEESMDANS, netcheck.ModeInternet}, o.Mode) {
			t.Errorf("mode %s: %q %v", mode, o.Mode, err)
		}
	}
	n := config.NetworkDefaults()
	n.Mode, n.NextHop, n.Prefixes, n.OnFailure = config.ModeEESMDANS, "10.0.0.1", []string{"10.20.0.0/16", "10.1.2.3"}, config.OnFailureRefuse
	o, err := NetworkOptions(&config.Config{Network: n})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("10.1.2.3/32")}
	if o.NextHop != netip.MustParseAddr("10.0.0.1") || !slices.Equal(o.Prefixes, want) || !o.RefuseOnFailure ||
		o.Timeout != n.Timeout.D() || o.Probe != n.Probe.D() || o.CertMinDays != n.CertMinDays {
		t.Errorf("options %+v", o)
	}
	n.Prefixes = []string{"10.0.0.0/40"}
	if _, err := NetworkOptions(&config.Config{Network: n}); err == nil || !strings.Contains(err.Error(), "network.prefixes[0]") {
		t.Errorf("a bad prefix: %v", err)
	}
}

func TestRegisterClientNeedsTheTrustStore(t *testing.T) {
	if _, err := RegisterClient(config.Defaults(), nil, nil, nil); err == nil {
		t.Error("a register client that cannot verify the register's certificate")
	}
}

// TestAcceptancePolicy: the rules file the node configuration names is
// loaded and checked at start; a wrong one stops the start naming the
// config field and the rules file's own.
func TestAcceptancePolicy(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../configs/acceptance.maritime.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	if _, err := AcceptancePolicy(cfg, clock.System, slog.New(slog.DiscardHandler), nil); err == nil || !strings.Contains(err.Error(), "acceptance.rules") {
		t.Errorf("no rules: %v", err)
	}
	rules := strings.Replace(string(example), "trusted_ca_dir: /etc/seosgw/qualified-ca", "trusted_ca_dir: "+dir, 1)
	os.WriteFile(filepath.Join(dir, "root.pem"), []byte(testCAPEM(t)), 0o644)
	for _, c := range []struct{ name, rules, want string }{
		{"a bad clamd address", strings.Replace(rules, "clamd: unix:/run/clamav/clamd.ctl", "clamd: clamd-host", 1), "virus.clamd"},
		{"an unknown field", rules + "virsu: {}\n", "virsu"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "acceptance.yaml")
			if err := os.WriteFile(path, []byte(c.rules), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg.Acceptance.Rules = path
			_, err := AcceptancePolicy(cfg, clock.System, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			if err == nil || !strings.HasPrefix(err.Error(), "acceptance.rules: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want acceptance.rules and %s", err, c.want)
			}
		})
	}
	if err := os.WriteFile(cfg.Acceptance.Rules, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := AcceptancePolicy(cfg, clock.System, slog.New(slog.DiscardHandler), prometheus.NewRegistry()); err != nil || p.Rules().Virus.Clamd != "unix:/run/clamav/clamd.ctl" {
		t.Errorf("the shipped rules: %v", err)
	}
}

func testCAPEM(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(testkit.NewPKI(t, "qualified CA", nil).CAFile(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
