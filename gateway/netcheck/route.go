package netcheck

import (
	"fmt"
	"net/netip"
	"strings"
)

// Route is the kernel's answer to "how would a packet to Dst leave this
// host?" — what `ip route get Dst` prints.
type Route struct {
	Dst     netip.Addr
	Index   int        // output interface index
	Dev     string     // output interface name
	Gateway netip.Addr // next hop; invalid when Dst is on-link
	Src     netip.Addr // source address the kernel would pick
}

func (r Route) String() string {
	var b strings.Builder
	b.WriteString(r.Dst.String())
	if r.Gateway.IsValid() {
		b.WriteString(" via " + r.Gateway.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	} else {
		fmt.Fprintf(&b, " dev #%d", r.Index)
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	return b.String()
}

// samePath reports whether two routes leave the same way.
func (r Route) samePath(o Route) bool {
	return r.Index == o.Index && r.Gateway == o.Gateway
}

// Internet addresses whose route stands for "the default route". They are
// documentation ranges (RFC 5737, RFC 3849) nobody routes specially, so the
// kernel answers for them with whatever carries Internet traffic, policy
// rules included; no packet is sent.
var internetProbe = map[bool]netip.Addr{
	true:  netip.MustParseAddr("198.51.100.1"),
	false: netip.MustParseAddr("2001:db8::1"),
}

// pathRule is what a route to the SEOS network must look like.
type pathRule struct {
	mode    Mode
	ifIndex int // 0: any interface
	ifName  string
	nextHop netip.Addr // invalid: any next hop
	// nextHopIndex is the interface the next hop is reached on; destinations
	// of the other address family (which cannot use that next hop) must
	// leave through it.
	nextHopIndex int
	nextHopDev   string
	// internet is the default route of each family (Is4 → route), for
	// eesmdans without interface or next hop; absent: no default route.
	internet map[bool]Route
}

// judge says whether r takes the SEOS path, and if not, why.
func (p pathRule) judge(r Route) (bool, string) {
	switch {
	case p.ifIndex != 0 && r.Index != p.ifIndex:
		return false, fmt.Sprintf("%s leaves through %s, not %s", r.Dst, describeHop(r), p.ifName)
	case p.nextHop.IsValid() && p.nextHop.Is4() != r.Dst.Is4():
		if r.Index != p.nextHopIndex {
			return false, fmt.Sprintf("%s leaves through %s, not %s (where next hop %s is)", r.Dst, describeHop(r), p.nextHopDev, p.nextHop)
		}
	case p.nextHop.IsValid() && r.Gateway.WithZone("") != p.nextHop:
		if !r.Gateway.IsValid() {
			return false, fmt.Sprintf("%s is on-link on %s, not behind next hop %s", r.Dst, r.Dev, p.nextHop)
		}
		return false, fmt.Sprintf("%s leaves through %s, not next hop %s", r.Dst, describeHop(r), p.nextHop)
	case p.mode == ModeEESMDANS && p.ifIndex == 0 && !p.nextHop.IsValid():
		if def, ok := p.internet[r.Dst.Is4()]; ok && r.samePath(def) {
			return false, fmt.Sprintf("%s leaves through the default (Internet) route, %s", r.Dst, describeHop(r))
		}
	}
	return true, ""
}

func describeHop(r Route) string {
	dev := r.Dev
	if dev == "" {
		dev = fmt.Sprintf("interface #%d", r.Index)
	}
	if r.Gateway.IsValid() {
		return dev + " via " + r.Gateway.String()
	}
	return dev
}

// probeAddr is the address whose route stands for a prefix: its first one.
func probeAddr(p netip.Prefix) netip.Addr { return p.Masked().Addr() }
