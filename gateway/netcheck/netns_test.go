//go:build linux

package netcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/integration/extools"
	"golang.org/x/sys/unix"
)

// The namespace tests build a small network per case with iproute2:
//
//	namespace "c" (seosgw)            namespace "r" (SEOS side)
//	  wgt0     10.231.1.1/30  <-veth->  wgt0p 10.231.1.2/30
//	           fd00:231:1::1/64                fd00:231:1::2/64
//	                                    lo    10.231.9.1, fd00:231:9::1 (the register)
//	  eth-test 10.231.2.1/30  <-veth->  namespace "i" (the Internet): eth-testp 10.231.2.2
//
// "c" routes 10.231.9.0/24, fd00:231:9::/64 and the SEOS prefix
// 10.231.8.0/24 through the veth "tunnel" wgt0 and everything else by a
// default route through eth-test; the register is reachable only through
// wgt0. Cases then break one thing (link down, carrier lost, a route moved
// to eth-test, a short-lived certificate, an unknown name) and check that
// exactly the right items fail.
//
// The checks run in a helper process started as `ip netns exec c <this test
// binary>` (TestMain recognises it by helperEnv) rather than in a goroutine
// switched into the namespace: a whole process in the namespace is what
// production looks like, nothing in Run has to avoid goroutines, and `ip
// netns exec` mounts /etc/netns/c/hosts over /etc/hosts, so the register's
// name resolves through the real resolver. The register's listening socket
// is made by listenIn on a thread switched into "r" with setns(2) just for
// that one call — a socket stays in the namespace it was made in, so the
// server then runs on ordinary goroutines.

const helperEnv = "SEOSGW_NETCHECK_NETNS_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(runHelper(spec))
	}
	os.Exit(m.Run())
}

// helperSpec is what the helper process runs.
type helperSpec struct {
	Options     Options
	RegisterURL string
	Cert, Key   string
	CA          string
}

func runHelper(spec string) int {
	var s helperSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 3
	}
	d := Deps{RegisterURL: s.RegisterURL, Clock: clock.System}
	d.Identity, d.IdentityErr = pki.LoadIdentity(s.Cert, s.Key)
	d.Trust, d.TrustErr = trust.New(s.CA, nil, false, clock.System, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := json.NewEncoder(os.Stdout).Encode(Run(ctx, s.Options, d)); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 3
	}
	return 0
}

const (
	registerHost = "register.seos.test"
	registerPort = "8443"
	seosPrefix   = "10.231.8.0/24"
)

// lab is one case's namespaces.
type lab struct {
	t                  *testing.T
	ipBin              string
	c, r, i            string // namespace names
	v6                 bool
	certFile, keyFile  string
	caFile             string
	registerURL        string
	registerIdentityOK bool
}

var labSeq atomic.Int32

// labPrefix names this process's namespaces; sweepStaleLabs removes those
// of test processes that died before their cleanup ran.
const labPrefix = "seosgw-nc-"

func newLab(t *testing.T, p *testPKI, registerID *pki.Identity) *lab {
	t.Helper()
	l := &lab{t: t, ipBin: extools.Require(t, "ip")}
	_, err := os.Stat("/proc/sys/net/ipv6")
	l.v6 = err == nil
	base := fmt.Sprintf("%s%d-%d-", labPrefix, os.Getpid(), labSeq.Add(1))
	l.c, l.r, l.i = base+"c", base+"r", base+"i"
	for _, ns := range []string{l.c, l.r, l.i} {
		if res := extools.Run(t, nil, l.ipBin, "netns", "add", ns); !res.OK() {
			t.Fatalf("ip netns add %s: %s", ns, res.Stderr)
		}
		t.Cleanup(func() {
			if r := extools.Run(t, nil, l.ipBin, "netns", "del", ns); !r.OK() {
				t.Errorf("ip netns del %s: %s", ns, r.Stderr)
			}
			os.RemoveAll(filepath.Join("/etc/netns", ns))
			os.Remove("/etc/netns") // only if empty, i.e. no one else uses it
		})
	}
	l.build()
	l.resolver()
	ln := listenIn(t, l.r, "tcp", ":"+registerPort)
	serveRegister(t, ln, registerID, p)
	l.caFile = filepath.Join(p.dir, "ca.pem")
	l.registerURL = "https://" + registerHost + ":" + registerPort + "/service/"
	return l
}

// ip runs `ip ARGS` and fails the test on error.
func (l *lab) ip(args ...string) {
	l.t.Helper()
	if r := extools.Run(l.t, nil, l.ipBin, args...); !r.OK() {
		l.t.Fatalf("ip %v: %s", args, r.Stderr)
	}
}

func (l *lab) build() {
	c, r, i := l.c, l.r, l.i
	for _, ns := range []string{c, r, i} {
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	// Both ends are created inside the namespaces, so no name ever exists in
	// the host's namespace and parallel runs cannot collide.
	l.ip("-n", c, "link", "add", "wgt0", "type", "veth", "peer", "name", "wgt0p", "netns", r)
	l.ip("-n", c, "link", "add", "eth-test", "type", "veth", "peer", "name", "eth-testp", "netns", i)
	l.ip("-n", c, "addr", "add", "10.231.1.1/30", "dev", "wgt0")
	l.ip("-n", r, "addr", "add", "10.231.1.2/30", "dev", "wgt0p")
	l.ip("-n", c, "addr", "add", "10.231.2.1/30", "dev", "eth-test")
	l.ip("-n", i, "addr", "add", "10.231.2.2/30", "dev", "eth-testp")
	l.ip("-n", r, "addr", "add", "10.231.9.1/32", "dev", "lo")
	if l.v6 {
		// nodad: without it the addresses stay "tentative" for a second or two
		// and cannot be used as sources.
		l.ip("-n", c, "addr", "add", "fd00:231:1::1/64", "dev", "wgt0", "nodad")
		l.ip("-n", r, "addr", "add", "fd00:231:1::2/64", "dev", "wgt0p", "nodad")
		l.ip("-n", c, "addr", "add", "fd00:231:2::1/64", "dev", "eth-test", "nodad")
		l.ip("-n", i, "addr", "add", "fd00:231:2::2/64", "dev", "eth-testp", "nodad")
		l.ip("-n", r, "addr", "add", "fd00:231:9::1/128", "dev", "lo")
	}
	l.ip("-n", c, "link", "set", "wgt0", "up")
	l.ip("-n", r, "link", "set", "wgt0p", "up")
	l.ip("-n", c, "link", "set", "eth-test", "up")
	l.ip("-n", i, "link", "set", "eth-testp", "up")
	l.ip("-n", c, "route", "add", "10.231.9.0/24", "via", "10.231.1.2", "dev", "wgt0")
	l.ip("-n", c, "route", "add", seosPrefix, "via", "10.231.1.2", "dev", "wgt0")
	l.ip("-n", c, "route", "add", "default", "via", "10.231.2.2", "dev", "eth-test")
	if l.v6 {
		l.ip("-n", c, "-6", "route", "add", "fd00:231:9::/64", "via", "fd00:231:1::2", "dev", "wgt0")
		l.ip("-n", c, "-6", "route", "add", "default", "via", "fd00:231:2::2", "dev", "eth-test")
	}
}

// waitOperstate waits for the kernel's link watcher, which applies carrier
// changes to the operational state up to a second later.
func (l *lab) waitOperstate(dev, want string) {
	l.t.Helper()
	var last string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		r := extools.Run(l.t, nil, l.ipBin, "-n", l.c, "-j", "link", "show", dev)
		var links []struct {
			Operstate string `json:"operstate"`
		}
		if json.Unmarshal([]byte(r.Stdout), &links) == nil && len(links) == 1 {
			if last = links[0].Operstate; strings.EqualFold(last, want) {
				return
			}
		}
	}
	l.t.Fatalf("%s in %s stayed %q, want %q", dev, l.c, last, want)
}

// resolver gives namespace "c" its own hosts file, and a DNS server that
// refuses at once (nothing listens on its loopback), so an unknown name
// fails fast instead of waiting on the host's resolver.
func (l *lab) resolver() {
	dir := filepath.Join("/etc/netns", l.c)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	hosts := "127.0.0.1 localhost\n10.231.9.1 " + registerHost + "\n"
	if l.v6 {
		hosts += "fd00:231:9::1 " + registerHost + "\n"
	}
	files := map[string]string{
		"hosts":         hosts,
		"resolv.conf":   "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
		"nsswitch.conf": "hosts: files dns\n",
	}
	for name, body := range files {
		if _, err := os.Stat(filepath.Join("/etc", name)); err != nil {
			continue // `ip netns exec` can only mount over a file that exists
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			l.t.Fatal(err)
		}
	}
}

// preflight runs the checks inside namespace "c".
func (l *lab) preflight(cfg Options, registerURL string, id *pki.Identity, p *testPKI) Report {
	l.t.Helper()
	cert, key := p.write(l.t, id, fmt.Sprintf("client-%d", labSeq.Add(1)))
	spec, err := json.Marshal(helperSpec{Options: cfg, RegisterURL: registerURL, Cert: cert, Key: key, CA: l.caFile})
	if err != nil {
		l.t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.ipBin, "netns", "exec", l.c, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(spec), "GODEBUG=netdns=go")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		l.t.Fatalf("preflight helper in %s: %v\n%s", l.c, err, errb.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		l.t.Fatalf("helper output: %v\n%s\n%s", err, out.String(), errb.String())
	}
	l.t.Log("\n" + dump(rep))
	return rep
}

// listenIn opens a listening socket inside namespace ns. The goroutine's
// thread is switched into ns for the one call that makes the socket and
// switched back; if switching back fails the goroutine ends still locked, so
// the runtime throws the thread away instead of reusing it elsewhere.
func listenIn(t *testing.T, ns, network, addr string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		ln, err := net.Listen(network, addr)
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{ln, err}
	}()
	res := <-ch
	if res.err != nil {
		t.Fatalf("listen in %s: %v", ns, res.err)
	}
	t.Cleanup(func() { res.ln.Close() })
	return res.ln
}

// requireNetns skips the test, saying why, where network namespaces cannot
// be made (not root, no CAP_SYS_ADMIN and CAP_NET_ADMIN, a container that
// forbids them) — unless SEOSGW_REQUIRE_TOOLS=1, where CI must be able to.
func requireNetns(t *testing.T, ipBin string) {
	t.Helper()
	probe := fmt.Sprintf("%s%d-0-c", labPrefix, os.Getpid())
	res := extools.Run(t, nil, ipBin, "netns", "add", probe)
	if res.OK() {
		extools.Run(t, nil, ipBin, "netns", "del", probe)
		return
	}
	why := fmt.Sprintf("cannot create network namespaces (needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN): ip netns add: %s",
		strings.TrimSpace(res.Stderr))
	if extools.Required() {
		t.Fatalf("SEOSGW_REQUIRE_TOOLS=1 and %s", why)
	}
	t.Skip("skipping: " + why)
}

var staleLab = regexp.MustCompile(`^` + labPrefix + `(\d+)-\d+-[cri]$`)

// sweepStaleLabs deletes namespaces left by test processes that were killed
// before their cleanups ran.
func sweepStaleLabs(t *testing.T, ipBin string) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		m := staleLab.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		extools.Run(t, nil, ipBin, "netns", "del", e.Name())
		os.RemoveAll(filepath.Join("/etc/netns", e.Name()))
	}
}

func TestNetns(t *testing.T) {
	ipBin := extools.Require(t, "ip")
	requireNetns(t, ipBin)
	sweepStaleLabs(t, ipBin)
	daeu := newTestPKI(t, "test DAEU CA")
	registerID := daeu.issue(t, registerHost)
	client := daeu.issue(t, "node.seos.test")
	short := daeu.ExpiringIn(t, "node.seos.test", 10*24*time.Hour)

	vpn := defaults()
	vpn.Mode, vpn.Interface, vpn.Prefixes, vpn.Timeout = ModeVPN, "wgt0", []netip.Prefix{netip.MustParsePrefix(seosPrefix)}, 3*time.Second
	eesmdans := func(nextHop string) Options {
		c := defaults()
		c.Mode, c.Prefixes, c.Timeout = ModeEESMDANS, []netip.Prefix{netip.MustParsePrefix(seosPrefix)}, 3*time.Second
		if nextHop != "" {
			c.NextHop = netip.MustParseAddr(nextHop)
		}
		return c
	}
	prefixItem := CheckRoute + " " + seosPrefix
	// moveToInternet routes the register through eth-test, the Internet uplink.
	moveToInternet := func(l *lab) {
		l.ip("-n", l.c, "route", "replace", "10.231.9.0/24", "via", "10.231.2.2", "dev", "eth-test")
		if l.v6 {
			l.ip("-n", l.c, "-6", "route", "replace", "fd00:231:9::/64", "via", "fd00:231:2::2", "dev", "eth-test")
		}
	}

	cases := []struct {
		name   string
		cfg    Options
		break_ func(l *lab)
		id     *pki.Identity
		url    string // "" is the lab's register
		want   map[string]string
	}{
		{name: "vpn up", cfg: vpn},
		{name: "vpn interface down", cfg: vpn,
			break_: func(l *lab) { l.ip("-n", l.c, "link", "set", "wgt0", "down") },
			want:   map[string]string{CheckInterface: "fail", CheckRoute: "skip", prefixItem: "skip", CheckTCP: "skip", CheckTLS: "skip"}},
		{name: "vpn without carrier", cfg: vpn,
			break_: func(l *lab) {
				l.ip("-n", l.r, "link", "set", "wgt0p", "down")
				l.waitOperstate("wgt0", "down")
			},
			want: map[string]string{CheckInterface: "fail", CheckRoute: "skip", prefixItem: "skip", CheckTCP: "skip", CheckTLS: "skip"}},
		{name: "vpn register routed through the wrong interface", cfg: vpn, break_: moveToInternet,
			want: map[string]string{CheckRoute: "fail", CheckTCP: "skip", CheckTLS: "skip"}},
		{name: "vpn prefix routed by the default route", cfg: vpn,
			break_: func(l *lab) { l.ip("-n", l.c, "route", "del", seosPrefix) },
			want:   map[string]string{prefixItem: "fail"}},
		{name: "certificate expires in 10 days", cfg: vpn, id: short,
			want: map[string]string{CheckCertificate: "fail"}},
		{name: "register name does not resolve", cfg: vpn, url: "https://missing.seos.test:" + registerPort + "/service/",
			want: map[string]string{CheckDNS: "fail", CheckRoute: "skip", CheckTCP: "skip", CheckTLS: "skip"}},
		{name: "eesmdans by next hop", cfg: eesmdans("10.231.1.2")},
		{name: "eesmdans wrong next hop", cfg: eesmdans("10.231.2.2"),
			want: map[string]string{CheckRoute: "fail", prefixItem: "fail", CheckTCP: "skip", CheckTLS: "skip"}},
		{name: "eesmdans not the default route", cfg: eesmdans("")},
		{name: "eesmdans register on the default route", cfg: eesmdans(""), break_: moveToInternet,
			want: map[string]string{CheckRoute: "fail", CheckTCP: "skip", CheckTLS: "skip"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, daeu, registerID)
			if tc.break_ != nil {
				tc.break_(l)
			}
			id, url := tc.id, tc.url
			if id == nil {
				id = client
			}
			if url == "" {
				url = l.registerURL
			}
			rep := l.preflight(tc.cfg, url, id, daeu)
			wantItems(t, rep, tc.want)
			if rep.OK() != (len(tc.want) == 0) {
				t.Errorf("OK() = %v", rep.OK())
			}
		})
	}
}
