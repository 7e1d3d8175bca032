package netcheck

import (
	"net/netip"
	"time"
)

// Mode is how the node reaches the SEOS network (PROTOCOL.md §1, §7).
type Mode string

const (
	ModeVPN      Mode = "vpn"      // over the Internet through the VPN account DAEU gives
	ModeEESMDANS Mode = "eesmdans" // through the state administration's own network
	ModeInternet Mode = "internet" // no path check: the register is reached like any host
)

// Options are the checks' settings: the network section of the
// configuration, which gateway/node maps to them.
type Options struct {
	Mode      Mode // "" is ModeInternet
	Interface string
	// NextHop is the EESMDANS gateway the SEOS routes must use (eesmdans
	// only; zero: any). Routes of the other address family must leave
	// through the interface the next hop is on.
	NextHop netip.Addr
	// Prefixes are further SEOS networks whose route must take the same
	// path as the register's.
	Prefixes    []netip.Prefix
	Timeout     time.Duration // each of: DNS, TCP connect, TLS handshake; default 10s
	CertMinDays int           // our transport certificate must stay valid this long
	// RefuseOnFailure makes Prober.Startup fail when a check fails
	// (network.on_failure: refuse); otherwise serve starts not ready.
	RefuseOnFailure bool
	Probe           time.Duration // how often serve reruns the checks; default 1m
}

func (o Options) withDefaults() Options {
	if o.Mode == "" {
		o.Mode = ModeInternet
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Probe <= 0 {
		o.Probe = time.Minute
	}
	return o
}
