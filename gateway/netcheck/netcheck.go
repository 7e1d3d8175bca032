// Package netcheck checks that this node can reach the SEOS network the way
// it is configured to (the DAEU VPN, EESMDANS, or plainly), from the
// interface and route down to a mutual TLS handshake with the register, and
// reports each step with its fix: `seosgw preflight`, serve's start, /readyz
// and the seosgw_network_* metrics.
package netcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/trust"
)

// Resolver looks up host names; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Deps is what the checks use besides the network section.
type Deps struct {
	RegisterURL string        // register.url: the host every check is about
	Identity    *pki.Identity // our transport identity; nil when it did not load
	IdentityErr error         // why Identity is nil
	Trust       *trust.Store  // DAEU roots and CRLs the register is checked against
	TrustErr    error         // why Trust is nil
	Clock       clock.Clock   // nil: the system clock
	Resolver    Resolver      // nil: net.DefaultResolver
	Log         *slog.Logger  // nil: no logging (used by the Prober)
}

func (d Deps) clock() clock.Clock {
	if d.Clock == nil {
		return clock.System
	}
	return d.Clock
}

// maxAddrs bounds how many of the register's addresses are checked.
const maxAddrs = 8

// run is the state of one run of the checks.
type run struct {
	cfg  Options
	deps Deps
	rep  Report

	host, port string
	addrs      []netip.Addr
	ifi        *net.Interface
	ruleCache  *pathRule // computed once per run
	conn       net.Conn  // from the tcp check, handed to tls
}

// Run runs every check that applies to cfg.Mode, in order, and returns the
// checklist. A check whose prerequisite failed is reported as skipped rather
// than tried: in particular no connection is opened to the register while its
// route is wrong, so our client certificate (sent in clear text by TLS 1.2)
// never leaves outside the VPN or EESMDANS.
func Run(ctx context.Context, opt Options, deps Deps) Report {
	cfg := opt.withDefaults()
	r := &run{cfg: cfg, deps: deps}
	r.rep = Report{Mode: cfg.Mode, At: deps.clock().Now()}
	defer func() {
		if r.conn != nil {
			r.conn.Close()
		}
	}()
	r.parseURL()
	path := cfg.Mode == ModeVPN || cfg.Mode == ModeEESMDANS
	checkIf := cfg.Mode == ModeVPN || (cfg.Mode == ModeEESMDANS && cfg.Interface != "")
	if checkIf {
		r.add(r.checkInterface())
	}
	r.add(r.checkDNS(ctx))
	if path {
		var needs []string
		if checkIf {
			needs = append(needs, CheckInterface)
		}
		r.add(r.needs(CheckRoute, append(slices.Clone(needs), CheckDNS), r.checkRoute))
		for _, p := range cfg.Prefixes {
			r.add(r.needs(PrefixCheck(p), needs, func() Item { return r.checkPrefix(p) }))
		}
		r.add(r.needs(CheckTCP, []string{CheckDNS, CheckRoute}, func() Item { return r.checkTCP(ctx) }))
	} else {
		r.add(r.needs(CheckTCP, []string{CheckDNS}, func() Item { return r.checkTCP(ctx) }))
	}
	cert := r.checkCertificate()
	r.add(r.needs(CheckTLS, []string{CheckTCP}, func() Item { return r.checkTLS(ctx) }))
	r.add(cert)
	return r.rep
}

func (r *run) add(it Item) { r.rep.Items = append(r.rep.Items, it) }

// needs runs check unless one of the named items failed; then the item is
// skipped and points at the first failed one.
func (r *run) needs(name string, deps []string, check func() Item) Item {
	for _, d := range deps {
		if it, ok := r.rep.Item(d); ok && !it.OK {
			return Item{Name: name, Skipped: true, Detail: "not tried: needs " + d,
				Fix: "fix the " + d + " check first"}
		}
	}
	it := check()
	it.Name = name
	return it
}

func (r *run) parseURL() {
	u, err := url.Parse(r.deps.RegisterURL)
	if err != nil || u.Hostname() == "" {
		return
	}
	r.host, r.port = u.Hostname(), u.Port()
	if r.port == "" {
		r.port = "443"
	}
	r.rep.Register = net.JoinHostPort(r.host, r.port)
}

// fail is a failed item.
func fail(detail, fix string) Item { return Item{Detail: detail, Fix: fix} }

func pass(detail string) Item { return Item{OK: true, Detail: detail} }

func (r *run) checkInterface() Item {
	it := r.interfaceItem()
	it.Name = CheckInterface
	return it
}

func (r *run) interfaceItem() Item {
	name := r.cfg.Interface
	restart := "restart the VPN client (OpenVPN: systemctl restart openvpn-client@<name>; WireGuard: wg-quick up " + name + ")"
	if r.cfg.Mode == ModeEESMDANS {
		restart = "check the cable or link towards the EESMDANS router"
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return fail(fmt.Sprintf("no interface %s (this host has: %s)", name, interfaceNames()),
			"start the VPN client that creates "+name+", or set network.interface to the right name (`ip link` lists them)")
	}
	switch {
	case ifi.Flags&net.FlagUp == 0:
		return fail(name+" exists but is down", "bring it up (ip link set "+name+" up) or "+restart)
	case ifi.Flags&net.FlagRunning == 0:
		return fail(name+" is up but not running (no carrier: the VPN is not connected or the link is down)", restart+"; its log says why it is not connected")
	}
	r.ifi = ifi
	detail := fmt.Sprintf("%s is up and running (index %d, mtu %d", name, ifi.Index, ifi.MTU)
	if addrs, err := ifi.Addrs(); err == nil && len(addrs) > 0 {
		s := make([]string, len(addrs))
		for i, a := range addrs {
			s[i] = a.String()
		}
		detail += ", " + strings.Join(s, " ")
	}
	return pass(detail + ")")
}

func interfaceNames() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return "unknown: " + err.Error()
	}
	s := make([]string, len(ifs))
	for i, ifi := range ifs {
		s[i] = ifi.Name
	}
	return strings.Join(s, ", ")
}

func (r *run) checkDNS(ctx context.Context) Item {
	it := r.dnsItem(ctx)
	it.Name = CheckDNS
	return it
}

func (r *run) dnsItem(ctx context.Context) Item {
	if r.host == "" {
		return fail(fmt.Sprintf("register.url %q names no host", r.deps.RegisterURL),
			"set register.url to the https URL of the DAEU register")
	}
	if a, err := netip.ParseAddr(r.host); err == nil {
		r.addrs = []netip.Addr{a.Unmap()}
		return pass(r.host + " is an address; nothing to resolve")
	}
	res := r.deps.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	addrs, err := res.LookupNetIP(ctx, "ip", r.host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		fix := "make " + r.host + " resolvable: the VPN usually pushes the SEOS DNS servers, otherwise configure them (resolvectl, /etc/resolv.conf) or add the address DAEU gives you to /etc/hosts"
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsTimeout {
			fix = "the DNS server did not answer within network.timeout; check /etc/resolv.conf names a server reachable from here (over the VPN if it is SEOS's), or add the register's address to /etc/hosts"
		}
		return fail(fmt.Sprintf("%s does not resolve: %v", r.host, err), fix)
	}
	seen := map[netip.Addr]bool{}
	for _, a := range addrs {
		a = a.Unmap()
		if !seen[a] && len(r.addrs) < maxAddrs {
			seen[a] = true
			r.addrs = append(r.addrs, a)
		}
	}
	return pass(r.host + " resolves to " + joinAddrs(r.addrs))
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// rule is what the routes must look like in this configuration.
func (r *run) rule() (pathRule, error) {
	if r.ruleCache != nil {
		return *r.ruleCache, nil
	}
	p := pathRule{mode: r.cfg.Mode}
	if r.ifi != nil {
		p.ifIndex, p.ifName = r.ifi.Index, r.ifi.Name
	}
	if a := r.cfg.NextHop; a.IsValid() {
		p.nextHop = a.Unmap()
		rt, err := lookupRoute(p.nextHop)
		if err != nil {
			return p, fmt.Errorf("next hop %s (network.next_hop) is unreachable: %w", p.nextHop, err)
		}
		p.nextHopIndex, p.nextHopDev = rt.Index, rt.Dev
	}
	if r.cfg.Mode == ModeEESMDANS && p.ifIndex == 0 && !p.nextHop.IsValid() {
		p.internet = map[bool]Route{}
		for is4, a := range internetProbe {
			if rt, err := lookupRoute(a); err == nil {
				p.internet[is4] = rt
			}
		}
	}
	r.ruleCache = &p
	return p, nil
}

// routeFix is the advice when a SEOS destination takes the wrong path.
func (r *run) routeFix(dest string) string {
	switch {
	case r.cfg.Mode == ModeVPN:
		return fmt.Sprintf("route %s through %s: the VPN server should push it (OpenVPN `route`, WireGuard AllowedIPs); by hand: ip route add %s dev %s", dest, r.cfg.Interface, dest, r.cfg.Interface)
	case r.cfg.NextHop.IsValid() && r.cfg.Interface != "":
		return fmt.Sprintf("route %s through the EESMDANS gateway: ip route add %s via %s dev %s (make it permanent in the system's network configuration)", dest, dest, r.cfg.NextHop, r.cfg.Interface)
	case r.cfg.NextHop.IsValid():
		return fmt.Sprintf("route %s through the EESMDANS gateway: ip route add %s via %s (make it permanent in the system's network configuration)", dest, dest, r.cfg.NextHop)
	case r.cfg.Interface != "":
		return fmt.Sprintf("route %s through %s: ip route add %s via <EESMDANS gateway> dev %s (make it permanent in the system's network configuration)", dest, r.cfg.Interface, dest, r.cfg.Interface)
	}
	return fmt.Sprintf("route %s through EESMDANS, not the Internet uplink: ip route add %s via <EESMDANS gateway>; if this host has no Internet and EESMDANS is its default route, set network.interface or network.next_hop to say so", dest, dest)
}

func (r *run) checkRoute() Item {
	rule, err := r.rule()
	if err != nil {
		return fail(err.Error(), "network.next_hop must be the EESMDANS gateway on a network this host is on (`ip route` shows it after \"via\")")
	}
	var ok []string
	for _, a := range r.addrs {
		rt, err := lookupRoute(a)
		if err != nil {
			return fail(fmt.Sprintf("no route to %s (%s): %v", a, r.host, err), r.routeFix(hostPrefix(a)))
		}
		if good, why := rule.judge(rt); !good {
			return fail(why+" ("+r.host+")", r.routeFix(hostPrefix(a)))
		}
		ok = append(ok, rt.String())
	}
	return pass(strings.Join(ok, "; "))
}

func hostPrefix(a netip.Addr) string { return netip.PrefixFrom(a, a.BitLen()).String() }

func (r *run) checkPrefix(p netip.Prefix) Item {
	a := probeAddr(p)
	rt, err := lookupRoute(a)
	if err != nil {
		return fail(fmt.Sprintf("no route to %s: %v", p, err), r.routeFix(p.String()))
	}
	rule, err := r.rule()
	if err != nil {
		return fail(err.Error(), "network.next_hop must be the EESMDANS gateway on a network this host is on (`ip route` shows it after \"via\")")
	}
	if good, why := rule.judge(rt); !good {
		return fail(why, r.routeFix(p.String()))
	}
	return pass(p.String() + ": " + rt.String())
}

func (r *run) checkTCP(ctx context.Context) Item {
	d := net.Dialer{Timeout: r.cfg.Timeout}
	var errs []string
	for _, a := range r.addrs {
		addr := net.JoinHostPort(a.String(), r.port)
		start := time.Now()
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			r.conn = c
			return pass(fmt.Sprintf("connected to %s in %s", addr, time.Since(start).Round(time.Microsecond)))
		}
		errs = append(errs, err.Error())
	}
	fix := "check the register host is reachable from here: `ip route get <address>`, the VPN or EESMDANS link, and firewalls on the way; register.url's port must be the register's"
	all := strings.Join(errs, "; ")
	switch {
	case strings.Contains(all, "connection refused"):
		fix = "the host answered but nothing listens on port " + r.port + ": check register.url (host and port) against what DAEU gave you"
	case strings.Contains(all, "timeout"):
		fix = "no answer within network.timeout: a firewall drops the traffic or the VPN/EESMDANS link does not carry it; check `ip route get <address>` and the VPN status, then ask DAEU whether your address may reach the register"
	}
	return fail("cannot connect to "+r.host+" port "+r.port+": "+all, fix)
}

func (r *run) checkTLS(ctx context.Context) Item {
	switch {
	case r.deps.TrustErr != nil || r.deps.Trust == nil:
		err := r.deps.TrustErr
		if err == nil {
			err = errors.New("no DAEU CA configured")
		}
		return fail("cannot check the register's certificate: "+err.Error(), "set tls.ca to the DAEU CA bundle (PEM)")
	case r.deps.Identity == nil:
		return Item{Skipped: true, Detail: "not tried: needs our transport certificate (see certificate)", Fix: "fix the certificate check first"}
	case r.conn == nil:
		return Item{Skipped: true, Detail: "not tried: no connection", Fix: "fix the tcp check first"}
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	conn := tls.Client(r.conn, r.deps.Trust.ClientTLS(r.deps.Identity, r.host))
	r.conn = conn
	if err := conn.HandshakeContext(ctx); err != nil {
		return tlsFailure(r.host, r.deps.Identity, err)
	}
	st := conn.ConnectionState()
	srv := st.PeerCertificates[0]
	// With TLS 1.3 the client's handshake ends before the server has judged
	// our certificate; only its next message tells. An HTTP request is the
	// least a register must answer, and any answer means it took us in.
	status, err := headRequest(ctx, conn, r.host, r.deps.RegisterURL)
	if err != nil {
		return tlsFailure(r.host, r.deps.Identity, err)
	}
	return pass(fmt.Sprintf("%s with %s: its certificate %q (serial %s, issuer %q, until %s) verified against tls.ca; ours (serial %s) accepted, HTTP %s",
		tls.VersionName(st.Version), r.host, srv.Subject.CommonName, pki.SerialHex(srv), srv.Issuer.CommonName,
		srv.NotAfter.UTC().Format("2006-01-02"), pki.SerialHex(r.deps.Identity.Cert), status))
}

// headRequest sends HEAD for the register URL's path over conn and returns
// the response's status.
func headRequest(ctx context.Context, conn *tls.Conn, host, rawURL string) (string, error) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
		defer conn.SetDeadline(time.Time{})
	}
	path := "/"
	if u, err := url.Parse(rawURL); err == nil && u.RequestURI() != "" {
		path = u.RequestURI()
	}
	req := "HEAD " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: seosgw-preflight\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := readAtLeast(conn, buf, len("HTTP/1.1 200"))
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	proto, status, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/") {
		return "", fmt.Errorf("the register did not answer HTTP (%q)", line)
	}
	code, _, _ := strings.Cut(status, " ")
	return code, nil
}

func readAtLeast(c net.Conn, buf []byte, n int) (int, error) {
	got := 0
	for got < n {
		k, err := c.Read(buf[got:])
		got += k
		if err != nil {
			if got >= n {
				break
			}
			return got, err
		}
	}
	return got, nil
}

// takenWithoutRestart is how a running node takes a new transport
// certificate: it reloads, it is not restarted (preflight reads the files
// each run).
const takenWithoutRestart = "a running seosgw takes the new pair on systemctl reload seosgw (SIGHUP) or within 20 s of the files changing, without a restart"

// tlsFailure explains a failed handshake by whose side refused what.
func tlsFailure(host string, id *pki.Identity, err error) Item {
	var (
		hostErr    x509.HostnameError
		unknownCA  x509.UnknownAuthorityError
		invalid    x509.CertificateInvalidError
		certErr    *trust.CertError
		opErr      *net.OpError
		detail     = "TLS handshake with " + host + " failed: " + err.Error()
		serial     = pki.SerialHex(id.Cert)
		skewAdvice = "check this host's clock (timedatectl; clock skew makes valid certificates look expired)"
	)
	switch {
	case errors.As(err, &hostErr):
		return fail(detail, "the register's certificate is not for "+host+": register.url must use the host name DAEU gave for the register; if it does, the address reached is not the register (check DNS and routes)")
	case errors.As(err, &unknownCA):
		return fail(detail, "the register's certificate does not chain to the DAEU CA in tls.ca: install DAEU's CA bundle there and restart seosgw (tls.ca is read at start only); if it is right, the address reached is not the register (check DNS and routes)")
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fail(detail, "the register's certificate is expired or not yet valid at our time: "+skewAdvice+"; if the clock is right, tell DAEU")
	case errors.As(err, &certErr) && certErr.Reason == "weak_key":
		return fail(detail, "the register's certificate has an RSA key under tls.min_rsa_bits: tell DAEU; do not lower the floor to reach it")
	case errors.As(err, &certErr):
		return fail(detail, "the register's certificate is "+certErr.Reason+" per the CRLs in tls.crl: tell DAEU; if the CRL is stale, put DAEU's current CRL in the tls.crl file (seosgw reads a changed CRL file within 10 s, no restart)")
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return fail("the register refused our certificate (serial "+serial+"): "+err.Error(),
			"tls.cert and tls.key must be the transport certificate DAEU issued for this node and its key ("+takenWithoutRestart+"); if they are, ask DAEU whether it is registered and active")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fail(detail, "the register accepted the connection but did not finish TLS within network.timeout: check the MTU of the VPN path (large certificates stall on a too-large MTU) and ask DAEU whether the register is up")
	}
	return fail(detail, "check tls.cert, tls.key and tls.ca, and that "+host+" is the DAEU register")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (r *run) checkCertificate() Item {
	it := r.certificateItem()
	it.Name = CheckCertificate
	return it
}

func (r *run) certificateItem() Item {
	if r.deps.Identity == nil {
		err := r.deps.IdentityErr
		if err == nil {
			err = errors.New("not configured")
		}
		return fail("cannot load our transport certificate: "+err.Error(),
			"tls.cert and tls.key must be the transport certificate DAEU issued for this node and its unencrypted key (PEM)")
	}
	c := r.deps.Identity.Cert
	now := r.deps.clock().Now()
	name := fmt.Sprintf("%q (serial %s)", c.Subject.CommonName, pki.SerialHex(c))
	renew := "ask DAEU for a new transport certificate now (allow weeks: it is issued and tested in the joining procedure; seosgw pki csr makes the request), then put it in tls.cert and tls.key: " + takenWithoutRestart
	if now.Before(c.NotBefore) {
		return fail(fmt.Sprintf("our certificate %s is not valid before %s and our clock says %s", name, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)),
			"check this host's clock (timedatectl): clock skew, or a certificate issued for a later date")
	}
	left := c.NotAfter.Sub(now)
	days := int(math.Round(left.Hours() / 24))
	if left <= 0 {
		return fail(fmt.Sprintf("our certificate %s expired on %s", name, c.NotAfter.UTC().Format(time.RFC3339)), renew)
	}
	if left < time.Duration(r.cfg.CertMinDays)*24*time.Hour {
		it := fail(fmt.Sprintf("our certificate %s expires on %s, in %d days (network.cert_min_days is %d; serve still runs until it expires)",
			name, c.NotAfter.UTC().Format("2006-01-02"), days, r.cfg.CertMinDays), renew)
		it.Warning = true
		return it
	}
	if r.deps.Trust != nil {
		if _, err := c.Verify(x509.VerifyOptions{Roots: r.deps.Trust.Roots, Intermediates: pki.CertPool(r.deps.Identity.Chain),
			CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return fail(fmt.Sprintf("our certificate %s does not chain to the DAEU CA in tls.ca: %v", name, err),
				"tls.cert must be issued by DAEU and tls.ca must hold DAEU's CA bundle")
		}
	}
	return pass(fmt.Sprintf("our certificate %s is valid until %s (%d days)", name, c.NotAfter.UTC().Format("2006-01-02"), days))
}
