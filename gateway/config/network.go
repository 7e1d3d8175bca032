package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Modes of reaching the SEOS network (PROTOCOL.md §1, §7).
const (
	ModeVPN      = "vpn"      // over the Internet through the VPN account DAEU gives
	ModeEESMDANS = "eesmdans" // through the state administration's own network
	ModeInternet = "internet" // no path check: the register is reached like any host
)

// What `seosgw serve` does when a network check fails at start.
const (
	OnFailureRefuse   = "refuse"    // exit with the failed checks
	OnFailureNotReady = "not-ready" // start, fail /readyz, keep probing
)

// Network is the `network:` section: how the node reaches the SEOS network
// and how gateway/netcheck checks it.
type Network struct {
	Mode      string `yaml:"mode"`
	Interface string `yaml:"interface"`
	// NextHop is the EESMDANS gateway the SEOS routes must use (eesmdans
	// only). Routes of the other address family must leave through the
	// interface the next hop is on.
	NextHop string `yaml:"next_hop"`
	// Prefixes are further SEOS networks (CIDR or single addresses) whose
	// route must take the same path as the register's.
	Prefixes    []string `yaml:"prefixes"`
	Timeout     Duration `yaml:"timeout"`       // each of: DNS, TCP connect, TLS handshake
	CertMinDays int      `yaml:"cert_min_days"` // our transport certificate must stay valid this long
	OnFailure   string   `yaml:"on_failure"`
	Probe       Duration `yaml:"probe"` // how often serve reruns the checks
}

// NetworkDefaults suit the local demo: no VPN, the register on loopback.
func NetworkDefaults() Network {
	return Network{
		Mode:        ModeInternet,
		Timeout:     Duration(10 * time.Second),
		CertMinDays: 30,
		OnFailure:   OnFailureNotReady,
		Probe:       Duration(time.Minute),
	}
}

// Validate returns every problem, each naming its field ("network.mode: ...")
// and the fix; none means the section is usable.
func (c Network) Validate() []string {
	var p []string
	add := func(field, format string, args ...any) {
		p = append(p, "network."+field+": "+fmt.Sprintf(format, args...))
	}
	switch c.Mode {
	case ModeVPN:
		if c.Interface == "" {
			add("interface", "empty; with network.mode vpn name the VPN interface, e.g. tun0 (OpenVPN), ppp0 or wg0 (WireGuard); `ip link` lists them")
		}
		if c.NextHop != "" {
			add("next_hop", "is only used with network.mode eesmdans; remove it (a VPN is checked by network.interface)")
		}
	case ModeEESMDANS:
	case ModeInternet:
		if c.Interface != "" || c.NextHop != "" || len(c.Prefixes) > 0 {
			add("mode", "internet checks no path, yet network.interface, next_hop or prefixes is set; use mode vpn or eesmdans, or remove them")
		}
	default:
		add("mode", "%q; use vpn (Internet + the DAEU VPN), eesmdans (the state network) or internet (no path check)", c.Mode)
	}
	if c.Interface != "" && !validInterfaceName(c.Interface) {
		add("interface", "%q is not an interface name (at most 15 characters, no '/', ':' or spaces); `ip link` lists them", c.Interface)
	}
	if c.NextHop != "" {
		if a, err := netip.ParseAddr(c.NextHop); err != nil || a.Zone() != "" {
			add("next_hop", "%q is not an IP address; give the EESMDANS gateway's address, e.g. 10.0.0.1 (`ip route` shows it after \"via\")", c.NextHop)
		}
	}
	for i, s := range c.Prefixes {
		if _, err := ParsePrefix(s); err != nil {
			add(fmt.Sprintf("prefixes[%d]", i), "%q is not a network; write it as 10.20.0.0/16, fd00:1::/48 or a single address", s)
		}
	}
	if c.Timeout.D() < time.Second || c.Timeout.D() > 5*time.Minute {
		add("timeout", "%s; use a duration between 1s and 5m, e.g. 10s", c.Timeout.D())
	}
	if c.CertMinDays < 0 || c.CertMinDays > 365 {
		add("cert_min_days", "%d; use 0 to 365 days (30 leaves time to get a new certificate from DAEU)", c.CertMinDays)
	}
	switch c.OnFailure {
	case OnFailureRefuse, OnFailureNotReady:
	default:
		add("on_failure", "%q; use refuse (serve exits when a check fails) or not-ready (serve starts, /readyz fails, checks repeat)", c.OnFailure)
	}
	if c.Probe.D() < 10*time.Second {
		add("probe", "%s; rerun the checks at most every 10s, e.g. 1m (each run opens a TLS connection to the register)", c.Probe.D())
	}
	return p
}

// ParsePrefix reads a CIDR prefix or a single address (a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validInterfaceName follows the kernel's dev_valid_name.
func validInterfaceName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n")
}
