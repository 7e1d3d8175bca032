package netcheck

import (
	"net/netip"
	"strings"
	"testing"
)

func TestJudgeRoute(t *testing.T) {
	a := netip.MustParseAddr
	tunRoute := Route{Dst: a("10.231.9.1"), Index: 5, Dev: "tun0", Gateway: a("10.8.0.1")}
	ethRoute := Route{Dst: a("10.231.9.1"), Index: 2, Dev: "eth0", Gateway: a("192.168.1.1")}
	onLink := Route{Dst: a("10.231.9.1"), Index: 3, Dev: "eth1"}
	v6Default := Route{Dst: a("2001:db8::1"), Index: 2, Dev: "eth0", Gateway: a("fe80::1")}
	v4Default := Route{Dst: a("198.51.100.1"), Index: 2, Dev: "eth0", Gateway: a("192.168.1.1")}
	cases := []struct {
		name string
		rule pathRule
		r    Route
		ok   bool
		why  string
	}{
		{"vpn through the tunnel", pathRule{mode: ModeVPN, ifIndex: 5, ifName: "tun0"}, tunRoute, true, ""},
		{"vpn through eth0", pathRule{mode: ModeVPN, ifIndex: 5, ifName: "tun0"}, ethRoute, false, "leaves through eth0 via 192.168.1.1, not tun0"},
		{"eesmdans interface matches", pathRule{mode: ModeEESMDANS, ifIndex: 3, ifName: "eth1"}, onLink, true, ""},
		{"eesmdans interface differs", pathRule{mode: ModeEESMDANS, ifIndex: 3, ifName: "eth1"}, ethRoute, false, "not eth1"},
		{"eesmdans next hop matches", pathRule{mode: ModeEESMDANS, nextHop: a("192.168.1.1")}, ethRoute, true, ""},
		{"eesmdans next hop differs", pathRule{mode: ModeEESMDANS, nextHop: a("10.0.0.1")}, ethRoute, false, "not next hop 10.0.0.1"},
		{"eesmdans ipv6 destination, ipv4 next hop's interface", pathRule{mode: ModeEESMDANS, nextHop: a("10.0.0.1"), nextHopIndex: 3, nextHopDev: "eth1"},
			Route{Dst: a("fd00::1"), Index: 3, Dev: "eth1", Gateway: a("fd00::fe")}, true, ""},
		{"eesmdans ipv6 destination elsewhere", pathRule{mode: ModeEESMDANS, nextHop: a("10.0.0.1"), nextHopIndex: 3, nextHopDev: "eth1"},
			Route{Dst: a("fd00::1"), Index: 2, Dev: "eth0", Gateway: a("fe80::1")}, false, "not eth1 (where next hop 10.0.0.1 is)"},
		{"eesmdans next hop but on-link", pathRule{mode: ModeEESMDANS, nextHop: a("10.0.0.1")}, onLink, false, "on-link on eth1"},
		{"eesmdans both, interface wrong", pathRule{mode: ModeEESMDANS, ifIndex: 3, ifName: "eth1", nextHop: a("192.168.1.1")}, ethRoute, false, "not eth1"},
		{"eesmdans default route", pathRule{mode: ModeEESMDANS, internet: map[bool]Route{true: v4Default, false: v6Default}}, ethRoute, false, "default (Internet) route"},
		{"eesmdans own route", pathRule{mode: ModeEESMDANS, internet: map[bool]Route{true: v4Default}}, onLink, true, ""},
		{"eesmdans no default route", pathRule{mode: ModeEESMDANS, internet: map[bool]Route{}}, ethRoute, true, ""},
		{"eesmdans other family's default", pathRule{mode: ModeEESMDANS, internet: map[bool]Route{false: v6Default}}, ethRoute, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := tc.rule.judge(tc.r)
			if ok != tc.ok || !strings.Contains(why, tc.why) {
				t.Errorf("judge = %v %q, want %v %q", ok, why, tc.ok, tc.why)
			}
		})
	}
}

func TestRouteString(t *testing.T) {
	r := Route{Dst: netip.MustParseAddr("10.231.9.1"), Index: 5, Dev: "wgt0", Gateway: netip.MustParseAddr("10.231.1.2"), Src: netip.MustParseAddr("10.231.1.1")}
	if got, want := r.String(), "10.231.9.1 via 10.231.1.2 dev wgt0 src 10.231.1.1"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got, want := (Route{Dst: netip.MustParseAddr("fd00::1"), Index: 9}).String(), "fd00::1 dev #9"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestProbeAddr(t *testing.T) {
	for in, want := range map[string]string{"10.20.0.0/16": "10.20.0.0", "10.20.30.40/32": "10.20.30.40", "fd00:1::/48": "fd00:1::"} {
		if got := probeAddr(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
