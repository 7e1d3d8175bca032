package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

func runMessage(ctx context.Context, args []string, io stdio) int {
	return subcommands("message", map[string]command{
		"validate": {"check a message against the SEOS schema: validate [FILE]", messageValidate},
		"sign":     {"sign a message: sign --cert CERT.pem --key KEY.pem [--digest sha256|sha1] [FILE]", messageSign},
		"verify":   {"verify the signature: verify [--ca CA.pem] [--serial HEX] [FILE]", messageVerify},
		"show":     {"print a readable summary: show [FILE]", messageShow},
	})(ctx, args, io)
}

func newFlags(name string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("seosgw message "+name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	return fs
}

func fail(io stdio, format string, args ...any) int {
	fmt.Fprintf(io.err, format+"\n", args...)
	return 1
}

func messageValidate(_ context.Context, args []string, io stdio) int {
	fs := newFlags("validate", io)
	if fs.Parse(args) != nil {
		return 2
	}
	b, name, err := readInput(fs.Args(), io)
	if err != nil {
		return fail(io, "%s: %v", name, err)
	}
	m, _, err := seos.Parse(b)
	if err != nil {
		return fail(io, "INVALID %s: %v", name, err)
	}
	if len(m.Tolerated) > 0 {
		fmt.Fprintf(io.out, "OK %s is accepted as production peers send it; tolerated: %v (not schema-valid)\n", name, m.Tolerated)
		return 0
	}
	fmt.Fprintf(io.out, "OK %s is a valid SEOS message\n", name)
	return 0
}

func messageSign(_ context.Context, args []string, io stdio) int {
	fs := newFlags("sign", io)
	certPath := fs.String("cert", "", "transport certificate (PEM)")
	keyPath := fs.String("key", "", "its private key (PEM)")
	digest := fs.String("digest", "sha256", "sha256, or sha1 for older .NET peers")
	if fs.Parse(args) != nil {
		return 2
	}
	if *certPath == "" || *keyPath == "" {
		return fail(io, "sign: --cert and --key are required")
	}
	hash, ok := xmldsig.ParseHash(*digest)
	if !ok {
		return fail(io, "sign: --digest must be sha256 or sha1, not %q", *digest)
	}
	id, err := pki.LoadIdentity(*certPath, *keyPath)
	if err != nil {
		return fail(io, "sign: %v", err)
	}
	b, name, err := readInput(fs.Args(), io)
	if err != nil {
		return fail(io, "%s: %v", name, err)
	}
	m, _, err := seos.Parse(b)
	if err != nil {
		return fail(io, "sign: %s is not a valid SEOS message: %v", name, err)
	}
	if m.Signed {
		return fail(io, "sign: %s is already signed", name)
	}
	// Re-serialised compactly: .NET peers verify with whitespace stripped.
	out, err := (&xmldsig.Signer{Key: id.Key, Cert: id.Cert, Hash: hash}).SignMessage(m)
	if err != nil {
		return fail(io, "sign: %v", err)
	}
	io.out.Write(out)
	return 0
}

func messageVerify(_ context.Context, args []string, io stdio) int {
	fs := newFlags("verify", io)
	caPath := fs.String("ca", "", "CA bundle (PEM) the signer certificate must chain to")
	serial := fs.String("serial", "", "certificate serial (hex) the signer must have, e.g. the register's CertificateSN")
	if fs.Parse(args) != nil {
		return 2
	}
	b, name, err := readInput(fs.Args(), io)
	if err != nil {
		return fail(io, "%s: %v", name, err)
	}
	doc, err := xmldoc.Parse(b)
	if err != nil {
		return fail(io, "FAIL %s: %v", name, err)
	}
	res, err := xmldsig.Verify(doc, xmldsig.Options{})
	if err != nil {
		return fail(io, "FAIL %s: %v", name, err)
	}
	got := pki.SerialHex(res.Cert)
	if *serial != "" && pki.NormalizeSerial(*serial) != got {
		return fail(io, "FAIL %s: signed with certificate serial %s, expected %s", name, got, pki.NormalizeSerial(*serial))
	}
	if *caPath != "" {
		ts, err := trust.New(*caPath, nil, false, clock.System, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			return fail(io, "verify: %v", err)
		}
		if err := ts.Verify(res.Cert, x509.ExtKeyUsageAny); err != nil {
			return fail(io, "FAIL %s: signer certificate (serial %s) does not chain to %s: %v", name, got, *caPath, err)
		}
	}
	fmt.Fprintf(io.out, "OK serial=%s subject=%q signature=%s digest=%s\n", got, res.Cert.Subject.String(), res.SignatureMethod, res.DigestMethod)
	return 0
}

func messageShow(_ context.Context, args []string, io stdio) int {
	fs := newFlags("show", io)
	if fs.Parse(args) != nil {
		return 2
	}
	b, name, err := readInput(fs.Args(), io)
	if err != nil {
		return fail(io, "%s: %v", name, err)
	}
	m, doc, err := seos.Parse(b)
	if err != nil {
		return fail(io, "INVALID %s: %v", name, err)
	}
	if err := m.WriteSummary(io.out); err != nil {
		return fail(io, "show: %v", err)
	}
	sig := "unsigned"
	if m.Signed {
		res, err := xmldsig.Verify(doc, xmldsig.Options{})
		var ve *xmldsig.Error
		switch {
		case err == nil:
			sig = fmt.Sprintf("valid, certificate serial %s (%s), %s", pki.SerialHex(res.Cert), res.Cert.Subject.CommonName, res.SignatureMethod)
		case errors.As(err, &ve):
			sig = "INVALID: " + ve.Msg
		default:
			sig = "INVALID: " + err.Error()
		}
	}
	fmt.Fprintf(io.out, "%-16s %s\n", "signature:", sig)
	return 0
}
