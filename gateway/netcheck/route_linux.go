package netcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The route to an address is asked from the kernel over rtnetlink
// (RTM_GETROUTE for one destination), exactly what `ip route get` does.
// The alternatives answer a different question:
//   - the UDP "connect" trick gives the source address the kernel picks, and
//     mapping that address back to an interface is wrong whenever the route
//     has a `src` hint or the tunnel is unnumbered (the address then belongs
//     to another interface, e.g. eth0, while packets leave through tun0);
//   - /proc/net/route and /proc/net/ipv6_route hold only the main table, so
//     a longest-prefix match over them ignores policy routing (`ip rule`),
//     which wg-quick and many VPN clients use for exactly these routes.
// The kernel's own lookup covers rules, tables, metrics and multipath. The
// reply is parsed by parseRouteReply, a pure function with unit and fuzz
// tests; netns_test.go checks the whole path against real namespaces.

var routeSeq atomic.Uint32

// lookupRoute asks the kernel how a packet to dst would leave. It runs in
// the network namespace of the calling thread.
func lookupRoute(dst netip.Addr) (Route, error) {
	dst = dst.Unmap()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return Route{}, fmt.Errorf("route to %s: netlink socket: %w", dst, err)
	}
	defer unix.Close(fd)
	// The kernel answers a route query at once; the timeout only guards
	// against a reply that never comes.
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return Route{}, fmt.Errorf("route to %s: %w", dst, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return Route{}, fmt.Errorf("route to %s: netlink bind: %w", dst, err)
	}
	seq := routeSeq.Add(1)
	if err := unix.Sendto(fd, routeRequest(dst, seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return Route{}, fmt.Errorf("route to %s: netlink send: %w", dst, err)
	}
	buf := make([]byte, 16<<10)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return Route{}, fmt.Errorf("route to %s: netlink receive: %w", dst, err)
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		r, err := parseRouteReply(buf[:n], seq)
		if errors.Is(err, errOtherMessage) {
			continue
		}
		if err != nil {
			return Route{}, fmt.Errorf("route to %s: %w", dst, err)
		}
		if r.Dev == "" {
			if ifi, err := net.InterfaceByIndex(r.Index); err == nil {
				r.Dev = ifi.Name
			}
		}
		if !r.Dst.IsValid() {
			r.Dst = dst
		}
		return r, nil
	}
}

// routeRequest is an RTM_GETROUTE message for one destination address.
func routeRequest(dst netip.Addr, seq uint32) []byte {
	addr := dst.AsSlice()
	family := byte(unix.AF_INET6)
	if dst.Is4() {
		family = unix.AF_INET
	}
	attrLen := unix.SizeofRtAttr + len(addr)
	total := unix.SizeofNlMsghdr + unix.SizeofRtMsg + align4(attrLen)
	b := make([]byte, total)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(total))
	ne.PutUint16(b[4:], unix.RTM_GETROUTE)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(b[8:], seq)
	rt := b[unix.SizeofNlMsghdr:]
	rt[0] = family              // rtm_family
	rt[1] = byte(len(addr)) * 8 // rtm_dst_len: a host route
	attr := rt[unix.SizeofRtMsg:]
	ne.PutUint16(attr[0:], uint16(attrLen))
	ne.PutUint16(attr[2:], unix.RTA_DST)
	copy(attr[unix.SizeofRtAttr:], addr)
	return b
}

func align4(n int) int { return (n + 3) &^ 3 }

// errOtherMessage is a reply that is not the answer to our request.
var errOtherMessage = errors.New("netlink: not the reply to this request")

// parseRouteReply reads the kernel's answer to routeRequest with sequence
// number seq: an RTM_NEWROUTE describing the route, or an NLMSG_ERROR whose
// errno says why there is none (ENETUNREACH: no route; EHOSTUNREACH,
// EACCES, EINVAL: an unreachable, prohibit or blackhole route).
func parseRouteReply(b []byte, seq uint32) (Route, error) {
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < unix.SizeofNlMsghdr {
			return Route{}, errors.New("netlink: truncated message header")
		}
		msgLen := int(ne.Uint32(b[0:]))
		typ := ne.Uint16(b[4:])
		msgSeq := ne.Uint32(b[8:])
		if msgLen < unix.SizeofNlMsghdr || msgLen > len(b) {
			return Route{}, fmt.Errorf("netlink: message length %d out of range (%d bytes left)", msgLen, len(b))
		}
		body := b[unix.SizeofNlMsghdr:msgLen]
		next := min(align4(msgLen), len(b))
		b = b[next:]
		if msgSeq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_ERROR:
			if len(body) < 4 {
				return Route{}, errors.New("netlink: truncated error message")
			}
			errno := int32(ne.Uint32(body))
			if errno == 0 {
				continue // an acknowledgement, not an answer
			}
			return Route{}, unix.Errno(-errno)
		case unix.NLMSG_DONE:
			return Route{}, errors.New("netlink: no route in the reply")
		case unix.RTM_NEWROUTE:
			return parseRouteMessage(body)
		}
	}
	return Route{}, errOtherMessage
}

// parseRouteMessage reads a struct rtmsg and its attributes.
func parseRouteMessage(body []byte) (Route, error) {
	if len(body) < unix.SizeofRtMsg {
		return Route{}, errors.New("netlink: truncated route message")
	}
	family := body[0]
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return Route{}, fmt.Errorf("netlink: route of address family %d", family)
	}
	ne := binary.NativeEndian
	var r Route
	attrs := body[unix.SizeofRtMsg:]
	for len(attrs) >= unix.SizeofRtAttr {
		l := int(ne.Uint16(attrs[0:]))
		typ := ne.Uint16(attrs[2:]) &^ unix.NLA_F_NESTED
		if l < unix.SizeofRtAttr || l > len(attrs) {
			return Route{}, fmt.Errorf("netlink: attribute length %d out of range", l)
		}
		v := attrs[unix.SizeofRtAttr:l]
		attrs = attrs[min(align4(l), len(attrs)):]
		switch typ {
		case unix.RTA_DST:
			r.Dst = addrFrom(v)
		case unix.RTA_OIF:
			if len(v) != 4 {
				return Route{}, errors.New("netlink: RTA_OIF is not 4 bytes")
			}
			r.Index = int(ne.Uint32(v))
		case unix.RTA_GATEWAY:
			r.Gateway = addrFrom(v)
		case unix.RTA_VIA: // struct rtvia: a next hop of the other family
			if len(v) > 2 {
				r.Gateway = addrFrom(v[2:])
			}
		case unix.RTA_PREFSRC:
			r.Src = addrFrom(v)
		}
	}
	if r.Index == 0 {
		return Route{}, errors.New("netlink: the route names no output interface")
	}
	return r, nil
}

// addrFrom reads a 4- or 16-byte address; anything else is no address.
func addrFrom(v []byte) netip.Addr {
	a, ok := netip.AddrFromSlice(v)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}
