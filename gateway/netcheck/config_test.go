package netcheck

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDefaultsValid(t *testing.T) {
	if p := Defaults().Validate(); len(p) != 0 {
		t.Fatalf("defaults invalid: %v", p)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *Config)
		want   []string // each a problem's start; none: valid
	}{
		{"vpn", func(c *Config) {
			c.Mode, c.Interface, c.Prefixes = ModeVPN, "wg0", []string{"10.0.0.0/8", "fd00::/8", "10.1.2.3"}
		}, nil},
		{"vpn without interface", func(c *Config) { c.Mode = ModeVPN }, []string{"network.interface: empty"}},
		{"vpn with next hop", func(c *Config) { c.Mode, c.Interface, c.NextHop = ModeVPN, "tun0", "10.0.0.1" }, []string{"network.next_hop: is only used"}},
		{"eesmdans bare", func(c *Config) { c.Mode = ModeEESMDANS }, nil},
		{"eesmdans full", func(c *Config) { c.Mode, c.Interface, c.NextHop = ModeEESMDANS, "eth1", "10.0.0.1" }, nil},
		{"bad next hop", func(c *Config) { c.Mode, c.NextHop = ModeEESMDANS, "gateway" }, []string{"network.next_hop: \"gateway\" is not an IP address"}},
		{"zoned next hop", func(c *Config) { c.Mode, c.NextHop = ModeEESMDANS, "fe80::1%eth1" }, []string{"network.next_hop:"}},
		{"internet with interface", func(c *Config) { c.Interface = "tun0" }, []string{"network.mode: internet checks no path"}},
		{"unknown mode", func(c *Config) { c.Mode = "VPN" }, []string{"network.mode: \"VPN\"; use vpn"}},
		{"bad interface name", func(c *Config) { c.Mode, c.Interface = ModeVPN, "tun0/1" }, []string{"network.interface: \"tun0/1\""}},
		{"long interface name", func(c *Config) { c.Mode, c.Interface = ModeVPN, "averyveryverylongname" }, []string{"network.interface:"}},
		{"bad prefix", func(c *Config) { c.Mode, c.Prefixes = ModeEESMDANS, []string{"10.0.0.0/8", "10.0.0.0/40"} }, []string{"network.prefixes[1]:"}},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, []string{"network.timeout:"}},
		{"negative days", func(c *Config) { c.CertMinDays = -1 }, []string{"network.cert_min_days:"}},
		{"bad on_failure", func(c *Config) { c.OnFailure = "ignore" }, []string{"network.on_failure: \"ignore\""}},
		{"probe too often", func(c *Config) { c.Probe = time.Second }, []string{"network.probe:"}},
		{"several at once", func(c *Config) { c.Mode, c.Timeout, c.Probe = ModeVPN, 0, 0 },
			[]string{"network.interface:", "network.timeout:", "network.probe:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.change(&c)
			got := c.Validate()
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d starting %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %q, want it to start %q", got[i], w)
				}
				if !strings.Contains(got[i], ";") && !strings.Contains(got[i], "use") && !strings.Contains(got[i], "give") {
					t.Errorf("problem %q says no fix", got[i])
				}
			}
		})
	}
}

// TestConfigYAML reads the section as gateway/config will: over the
// defaults, unknown fields refused.
func TestConfigYAML(t *testing.T) {
	src := `
mode: vpn
interface: tun0
prefixes: [10.20.0.0/16, "fd00:20::/48"]
timeout: 5s
cert_min_days: 45
on_failure: refuse
probe: 2m
`
	c := Defaults()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := Config{Mode: ModeVPN, Interface: "tun0", Prefixes: []string{"10.20.0.0/16", "fd00:20::/48"}, Timeout: 5 * time.Second,
		CertMinDays: 45, OnFailure: OnFailureRefuse, Probe: 2 * time.Minute}
	if c.Mode != want.Mode || c.Interface != want.Interface || strings.Join(c.Prefixes, ",") != strings.Join(want.Prefixes, ",") ||
		c.Timeout != want.Timeout || c.CertMinDays != want.CertMinDays || c.OnFailure != want.OnFailure || c.Probe != want.Probe {
		t.Errorf("decoded %+v\nwant %+v", c, want)
	}
	if p := c.Validate(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
	dec = yaml.NewDecoder(strings.NewReader("mode: vpn\ninterfcae: tun0\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Error("a misspelt field was accepted")
	}
}
