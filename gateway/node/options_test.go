package node

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/netcheck"
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
