//go:build !linux

package netcheck

import (
	"errors"
	"net/netip"
)

// lookupRoute needs rtnetlink; seosgw appliances run Linux. Elsewhere the
// path checks fail with this error and mode internet still works.
func lookupRoute(dst netip.Addr) (Route, error) {
	return Route{}, errors.New("route checks need Linux (rtnetlink); use network.mode internet on this system")
}
