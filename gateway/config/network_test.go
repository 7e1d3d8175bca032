package config

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestNetworkDefaultsValid(t *testing.T) {
	if p := NetworkDefaults().Validate(); len(p) != 0 {
		t.Fatalf("defaults invalid: %v", p)
	}
}

func TestNetworkValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *Network)
		want   []string // each a problem's start; none: valid
	}{
		{"vpn", func(c *Network) {
			c.Mode, c.Interface, c.Prefixes = ModeVPN, "wg0", []string{"10.0.0.0/8", "fd00::/8", "10.1.2.3"}
		}, nil},
		{"vpn without interface", func(c *Network) { c.Mode = ModeVPN }, []string{"network.interface: empty"}},
		{"vpn with next hop", func(c *Network) { c.Mode, c.Interface, c.NextHop = ModeVPN, "tun0", "10.0.0.1" }, []string{"network.next_hop: is only used"}},
		{"eesmdans bare", func(c *Network) { c.Mode = ModeEESMDANS }, nil},
		{"eesmdans full", func(c *Network) { c.Mode, c.Interface, c.NextHop = ModeEESMDANS, "eth1", "10.0.0.1" }, nil},
		{"bad next hop", func(c *Network) { c.Mode, c.NextHop = ModeEESMDANS, "gateway" }, []string{"network.next_hop: \"gateway\" is not an IP address"}},
		{"zoned next hop", func(c *Network) { c.Mode, c.NextHop = ModeEESMDANS, "fe80::1%eth1" }, []string{"network.next_hop:"}},
		{"internet with interface", func(c *Network) { c.Interface = "tun0" }, []string{"network.mode: internet checks no path"}},
		{"unknown mode", func(c *Network) { c.Mode = "VPN" }, []string{"network.mode: \"VPN\"; use vpn"}},
		{"bad interface name", func(c *Network) { c.Mode, c.Interface = ModeVPN, "tun0/1" }, []string{"network.interface: \"tun0/1\""}},
		{"long interface name", func(c *Network) { c.Mode, c.Interface = ModeVPN, "averyveryverylongname" }, []string{"network.interface:"}},
		{"bad prefix", func(c *Network) { c.Mode, c.Prefixes = ModeEESMDANS, []string{"10.0.0.0/8", "10.0.0.0/40"} }, []string{"network.prefixes[1]:"}},
		{"zero timeout", func(c *Network) { c.Timeout = 0 }, []string{"network.timeout:"}},
		{"negative days", func(c *Network) { c.CertMinDays = -1 }, []string{"network.cert_min_days:"}},
		{"bad on_failure", func(c *Network) { c.OnFailure = "ignore" }, []string{"network.on_failure: \"ignore\""}},
		{"probe too often", func(c *Network) { c.Probe = Duration(time.Second) }, []string{"network.probe:"}},
		{"several at once", func(c *Network) { c.Mode, c.Timeout, c.Probe = ModeVPN, 0, 0 },
			[]string{"network.interface:", "network.timeout:", "network.probe:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NetworkDefaults()
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

// TestNetworkYAML reads the section over the defaults, unknown fields
// refused.
func TestNetworkYAML(t *testing.T) {
	src := `
mode: vpn
interface: tun0
prefixes: [10.20.0.0/16, "fd00:20::/48"]
timeout: 5s
cert_min_days: 45
on_failure: refuse
probe: 2m
`
	c := NetworkDefaults()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := Network{Mode: ModeVPN, Interface: "tun0", Prefixes: []string{"10.20.0.0/16", "fd00:20::/48"}, Timeout: Duration(5 * time.Second),
		CertMinDays: 45, OnFailure: OnFailureRefuse, Probe: Duration(2 * time.Minute)}
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

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{"10.20.0.0/16": "10.20.0.0/16", "10.20.30.40": "10.20.30.40/32", "10.20.30.40/16": "10.20.0.0/16",
		"fd00:1::/48": "fd00:1::/48", "::ffff:10.0.0.1": "10.0.0.1/32", " fd00::1 ": "fd00::1/128"} {
		if p, err := ParsePrefix(in); err != nil || p.String() != want {
			t.Errorf("%q: %v %v, want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/40", "net", "fe80::1%eth0/64"} {
		if p, err := ParsePrefix(in); err == nil {
			t.Errorf("%q accepted as %v", in, p)
		}
	}
}
