package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/textsafe"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// FILE omitted (or "-") reads standard input.
func messageVerbs() map[string]command {
	return map[string]command{
		"validate": {args: "[FILE]", summary: "check a message against the SEOS schema; exit 1 names the first violation", run: messageValidate},
		"sign": {args: "--cert CERT.pem --key KEY.pem [--digest sha256|sha1] [FILE]", summary: "sign a message, re-serialised compactly as .NET peers verify it",
			run: messageSign},
		"verify": {args: "[--ca CA.pem] [--serial HEX] [FILE]", summary: "verify the message signature", run: messageVerify},
		"show":   {args: "[FILE]", summary: "print a readable summary", run: messageShow},
	}
}

func messageValidate(_ context.Context, args []string, io stdio) int {
	fs := io.flags()
	pos, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	b, name, err := readInput(pos, io)
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
	fs := io.flags()
	certPath := fs.String("cert", "", "transport certificate (PEM)")
	keyPath := fs.String("key", "", "its private key (PEM)")
	digest := enumFlag(fs, "digest", "sha256", "signature hash; sha1 only for older .NET peers", "sha256", "sha1")
	pos, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	if *certPath == "" || *keyPath == "" {
		return io.usageError(fs, "--cert and --key are required")
	}
	hash, _ := xmldsig.ParseHash(*digest)
	id, err := pki.LoadIdentity(*certPath, *keyPath)
	if err != nil {
		return fail(io, "sign: %v", err)
	}
	open, name, err := openInput(pos, io)
	if err != nil {
		return fail(io, "%s: %v", name, err)
	}
	r, err := open()
	if err != nil {
		return fail(io, "%s: %v", name, err)
	}
	defer r.Close()
	files, remove, err := tempFiles()
	if err != nil {
		return fail(io, "sign: %v", err)
	}
	defer remove()
	m, err := readMessage(r, files)
	if err != nil {
		return fail(io, "sign: %s is not a valid SEOS message: %v", name, err)
	}
	if m.Signed {
		return fail(io, "sign: %s is already signed", name)
	}
	// Re-serialised compactly: .NET peers verify with whitespace stripped.
	out := bufio.NewWriterSize(io.out, 64<<10)
	if err := (&xmldsig.Signer{Key: id.Key, Cert: id.Cert, Hash: hash}).WriteSigned(out, m, storeOpener(files)); err != nil {
		return fail(io, "sign: %v", err)
	}
	if err := out.Flush(); err != nil {
		return fail(io, "sign: %v", err)
	}
	return 0
}

func messageVerify(_ context.Context, args []string, io stdio) int {
	fs := io.flags()
	caPath := fs.String("ca", "", "CA bundle (PEM) the signer certificate must chain to")
	serial := fs.String("serial", "", "certificate serial (hex) the signer must have, e.g. the register's CertificateSN")
	pos, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	open, name, err := openInput(pos, io)
	if err != nil {
		return fail(io, "%s: %v", name, err)
	}
	// Read as a stream: only the signature is kept of the message.
	res, err := xmldsig.VerifyReader(open, xmldsig.Options{})
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
	fs := io.flags()
	pos, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	b, name, err := readInput(pos, io)
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
	fmt.Fprintf(io.out, "%-16s %s\n", "signature:", textsafe.Field(sig))
	return 0
}
