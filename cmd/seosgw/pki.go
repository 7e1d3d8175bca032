package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/pki"
)

func pkiVerbs() map[string]command {
	return map[string]command{
		"csr": {args: "[--config FILE] [--out DIR] [--name BASE] [--bits 2048|3072|4096]",
			summary: "make a new key and a certificate request for DAEU to renew the transport certificate", run: pkiCSR, help: pkiCSRHelp},
	}
}

const pkiCSRHelp = `The request asks for what the certificate in force (tls.cert) has: its subject byte for byte and
its host names, plus the host of endpoint.public_url if the certificate lacks it. The new key is
written with mode 0600 (owned like tls.key when run as root) and never over an existing file; the
node goes on with the old pair. Send the request to DAEU; when the new certificate comes, follow
"Certificate renewal" in the operations guide (configs/README.md).`

func pkiCSR(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	out := fs.String("out", "", "folder for the new key and request (default: tls.key's folder)")
	name := fs.String("name", "", "base name of the files: BASE-key.pem and BASE.csr (default transport-YYYYMMDD)")
	bits := enumFlag(fs, "bits", "2048", "RSA key size", "2048", "3072", "4096")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	keyFile := cfg.Path(cfg.TLS.Key)
	cur, err := pki.LoadIdentity(cfg.Path(cfg.TLS.Cert), keyFile)
	if err != nil {
		return fail(io, "%s: tls.cert / tls.key: %v", io.name, err)
	}
	var hosts []string
	if u, err := url.Parse(cfg.Endpoint.PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	r, err := pki.RenewalOf(cur.Cert, hosts...)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	dir, base := *out, *name
	if dir == "" {
		dir = filepath.Dir(keyFile)
	}
	if base == "" {
		base = "transport-" + time.Now().Format("20060102")
	}
	keyPath, csrPath := filepath.Join(dir, base+"-key.pem"), filepath.Join(dir, base+".csr")
	for _, p := range []string{keyPath, csrPath} {
		if _, err := os.Lstat(p); err == nil {
			return fail(io, "%s: %s exists already; nothing was written (a key is never overwritten: choose another --name)", io.name, p)
		}
	}
	n, _ := strconv.Atoi(*bits)
	if n < cfg.TLS.MinRSABits {
		// The reload would refuse the certificate made for such a key.
		return fail(io, "%s: --bits %d is under tls.min_rsa_bits (%d): use --bits %d or more", io.name, n, cfg.TLS.MinRSABits, cfg.TLS.MinRSABits)
	}
	keyPEM, csrPEM, err := r.Request(n)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	if err := pki.WriteNewFile(keyPath, keyPEM, 0o600, keyFile); err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	if err := pki.WriteNewFile(csrPath, csrPEM, 0o644, ""); err != nil {
		return fail(io, "%s: %v (the new key %s is written; remove it before trying again)", io.name, err, keyPath)
	}
	var names []string
	names = append(names, r.DNSNames...)
	for _, ip := range r.IPs {
		names = append(names, ip.String())
	}
	fmt.Fprintf(io.out, "new key:      %s (RSA %d bits, mode 0600)\n", keyPath, n)
	fmt.Fprintf(io.out, "request:      %s\n", csrPath)
	fmt.Fprintf(io.out, "subject:      %s\n", r.Subject)
	fmt.Fprintf(io.out, "names:        %s\n", strings.Join(names, ", "))
	fmt.Fprintf(io.out, "replaces:     serial %s, valid until %s\n", pki.SerialHex(cur.Cert), cur.Cert.NotAfter.UTC().Format("2006-01-02"))
	fmt.Fprintln(io.out, "next: send the request to DAEU; keep the new key where it is. When DAEU has issued the certificate and")
	fmt.Fprintln(io.out, "entered it in the register, follow \"Certificate renewal\" in the operations guide.")
	return 0
}
