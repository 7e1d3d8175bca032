package netcheck

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
	"golang.org/x/sys/unix"
)

// nlMsg builds one netlink message around body, padded to 4 bytes.
func nlMsg(typ uint16, seq uint32, body []byte) []byte {
	total := unix.SizeofNlMsghdr + len(body)
	b := make([]byte, align4(total))
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(total))
	ne.PutUint16(b[4:], typ)
	ne.PutUint32(b[8:], seq)
	copy(b[unix.SizeofNlMsghdr:], body)
	return b
}

type attr struct {
	typ uint16
	val []byte
}

func rtBody(family byte, attrs ...attr) []byte {
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = family
	for _, a := range attrs {
		l := unix.SizeofRtAttr + len(a.val)
		h := make([]byte, align4(l))
		binary.NativeEndian.PutUint16(h[0:], uint16(l))
		binary.NativeEndian.PutUint16(h[2:], a.typ)
		copy(h[unix.SizeofRtAttr:], a.val)
		b = append(b, h...)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

func errBody(errno unix.Errno) []byte {
	return append(binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno))), make([]byte, unix.SizeofNlMsghdr)...)
}

func TestParseRouteReply(t *testing.T) {
	v4 := nlMsg(unix.RTM_NEWROUTE, 7, rtBody(unix.AF_INET,
		attr{unix.RTA_DST, ip("10.231.9.1")}, attr{unix.RTA_OIF, u32(5)},
		attr{unix.RTA_GATEWAY, ip("10.231.1.2")}, attr{unix.RTA_PREFSRC, ip("10.231.1.1")}, attr{unix.RTA_TABLE, u32(254)}))
	v6 := nlMsg(unix.RTM_NEWROUTE, 7, rtBody(unix.AF_INET6,
		attr{unix.RTA_DST, ip("fd00:231:9::1")}, attr{unix.RTA_OIF, u32(12)}, attr{unix.RTA_PREFSRC, ip("fd00:231:1::1")}))
	via := nlMsg(unix.RTM_NEWROUTE, 7, rtBody(unix.AF_INET,
		attr{unix.RTA_DST, ip("10.0.0.1")}, attr{unix.RTA_OIF, u32(3)},
		attr{unix.RTA_VIA, append([]byte{unix.AF_INET6, 0}, ip("fe80::1")...)}))
	cases := []struct {
		name    string
		in      []byte
		want    Route
		wantErr string
	}{
		{"ipv4 via gateway", v4, Route{Dst: netip.MustParseAddr("10.231.9.1"), Index: 5,
			Gateway: netip.MustParseAddr("10.231.1.2"), Src: netip.MustParseAddr("10.231.1.1")}, ""},
		{"ipv6 on-link", v6, Route{Dst: netip.MustParseAddr("fd00:231:9::1"), Index: 12, Src: netip.MustParseAddr("fd00:231:1::1")}, ""},
		{"ipv4 via ipv6 next hop", via, Route{Dst: netip.MustParseAddr("10.0.0.1"), Index: 3, Gateway: netip.MustParseAddr("fe80::1")}, ""},
		{"ack before the answer", append(nlMsg(unix.NLMSG_ERROR, 7, errBody(0)), v4...), Route{Dst: netip.MustParseAddr("10.231.9.1"), Index: 5,
			Gateway: netip.MustParseAddr("10.231.1.2"), Src: netip.MustParseAddr("10.231.1.1")}, ""},
		{"network unreachable", nlMsg(unix.NLMSG_ERROR, 7, errBody(unix.ENETUNREACH)), Route{}, "network is unreachable"},
		{"prohibit route", nlMsg(unix.NLMSG_ERROR, 7, errBody(unix.EACCES)), Route{}, "permission denied"},
		{"other sequence only", nlMsg(unix.RTM_NEWROUTE, 8, rtBody(unix.AF_INET, attr{unix.RTA_OIF, u32(1)})), Route{}, errOtherMessage.Error()},
		{"done without route", nlMsg(unix.NLMSG_DONE, 7, make([]byte, 4)), Route{}, "no route"},
		{"truncated header", v4[:10], Route{}, "truncated"},
		{"length beyond buffer", v4[:len(v4)-8], Route{}, "out of range"},
		{"no output interface", nlMsg(unix.RTM_NEWROUTE, 7, rtBody(unix.AF_INET, attr{unix.RTA_DST, ip("10.0.0.1")})), Route{}, "no output interface"},
		{"bad family", nlMsg(unix.RTM_NEWROUTE, 7, rtBody(unix.AF_UNIX, attr{unix.RTA_OIF, u32(1)})), Route{}, "family"},
		{"short rtmsg", nlMsg(unix.RTM_NEWROUTE, 7, []byte{2, 32}), Route{}, "truncated route"},
		{"oif of wrong size", nlMsg(unix.RTM_NEWROUTE, 7, rtBody(unix.AF_INET, attr{unix.RTA_OIF, []byte{1, 0}})), Route{}, "RTA_OIF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRouteReply(tc.in, 7)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := parseRouteReply(nlMsg(unix.NLMSG_ERROR, 7, errBody(unix.ENETUNREACH)), 7); !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("errno not kept: %v", err)
	}
}

func FuzzParseRouteReply(f *testing.F) {
	f.Add(nlMsg(unix.RTM_NEWROUTE, 1, rtBody(unix.AF_INET, attr{unix.RTA_OIF, u32(2)}, attr{unix.RTA_GATEWAY, ip("10.0.0.1")})))
	f.Add(nlMsg(unix.NLMSG_ERROR, 1, errBody(unix.ENETUNREACH)))
	f.Add(routeRequest(netip.MustParseAddr("fd00::1"), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRouteReply(b, 1)
		if err == nil && r.Index == 0 {
			t.Fatal("a route without an output interface was accepted")
		}
	})
}

func TestRouteRequest(t *testing.T) {
	for _, s := range []string{"10.1.2.3", "fd00::7"} {
		a := netip.MustParseAddr(s)
		b := routeRequest(a, 42)
		ne := binary.NativeEndian
		if int(ne.Uint32(b)) != len(b) || len(b)%4 != 0 {
			t.Fatalf("%s: length field %d, message %d bytes", s, ne.Uint32(b), len(b))
		}
		if ne.Uint16(b[4:]) != unix.RTM_GETROUTE || ne.Uint32(b[8:]) != 42 {
			t.Errorf("%s: header % x", s, b[:16])
		}
		rt := b[unix.SizeofNlMsghdr:]
		if int(rt[1]) != a.BitLen() {
			t.Errorf("%s: dst_len %d", s, rt[1])
		}
		at := rt[unix.SizeofRtMsg:]
		if ne.Uint16(at[2:]) != unix.RTA_DST || addrFrom(at[4:4+a.BitLen()/8]) != a {
			t.Errorf("%s: RTA_DST % x", s, at)
		}
	}
}

// TestLookupRouteAgreesWithIP compares the netlink lookup with what
// `ip route get` says for addresses every host has a route for.
func TestLookupRouteAgreesWithIP(t *testing.T) {
	ipBin := extools.Require(t, "ip")
	dsts := []string{"127.0.0.1", "127.1.2.3"}
	if ifs, err := net.InterfaceByName("lo"); err == nil {
		if addrs, _ := ifs.Addrs(); strings.Contains(addrsString(addrs), "::1") {
			dsts = append(dsts, "::1")
		}
	}
	for _, d := range dsts {
		res := extools.Run(t, nil, ipBin, "-j", "route", "get", d)
		if !res.OK() {
			t.Fatalf("ip route get %s: %s", d, res.Stderr)
		}
		var want []struct {
			Dev     string `json:"dev"`
			Gateway string `json:"gateway"`
			Prefsrc string `json:"prefsrc"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &want); err != nil || len(want) != 1 {
			t.Fatalf("ip -j route get %s: %v: %s", d, err, res.Stdout)
		}
		got, err := lookupRoute(netip.MustParseAddr(d))
		if err != nil {
			t.Fatal(err)
		}
		if got.Dev != want[0].Dev || gw(got) != want[0].Gateway {
			t.Errorf("%s: netlink says %s, ip says dev %s gateway %q", d, got, want[0].Dev, want[0].Gateway)
		}
		if want[0].Prefsrc != "" && got.Src.String() != want[0].Prefsrc {
			t.Errorf("%s: src %s, ip says %s", d, got.Src, want[0].Prefsrc)
		}
	}
}

func gw(r Route) string {
	if !r.Gateway.IsValid() {
		return ""
	}
	return r.Gateway.String()
}

func addrsString(as []net.Addr) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.String() + " ")
	}
	return b.String()
}
