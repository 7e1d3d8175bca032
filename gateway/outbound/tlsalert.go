package outbound

import (
	"crypto/tls"
	"errors"
	"net"
	"reflect"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
)

// A recipient that refuses us in the TLS handshake sends an alert saying
// why. Each that an operator can act on is a failure reason of its own
// (seosgw_outbound_failures_total{reason="tls_peer_..."}) with the text
// that says what to do; the attempt is retried on the schedule, as the
// recipient's side may be what gets fixed (a stale CRL, a missing CA).

// TLS alert numbers (RFC 8446 §6): crypto/tls does not export them.
const (
	alertHandshakeFailure     = 40
	alertBadCertificate       = 42
	alertUnsupportedCert      = 43
	alertCertificateRevoked   = 44
	alertCertificateExpired   = 45
	alertCertificateUnknown   = 46
	alertUnknownCA            = 48
	alertAccessDenied         = 49
	alertProtocolVersion      = 70
	alertInsufficientSecurity = 71
	alertCertificateRequired  = 116
)

// peerAlertReasons are the reasons tlsRefusal gives, for the metric.
var peerAlertReasons = []string{"tls_peer_bad_certificate", "tls_peer_certificate_revoked", "tls_peer_unknown_ca",
	"tls_peer_certificate_expired", "tls_peer_no_common_suite", "tls_peer_alert"}

// tlsRefusal reads a TLS alert from the recipient out of a failed request:
// from the error itself (TLS 1.2, or an alert read before we wrote), else
// from the connection, where crypto/tls keeps an alert read while the
// write failed. ok is false when the failure was no alert.
func tlsRefusal(err error, conn *tls.Conn, us *pki.Identity) (result, string, bool) {
	code, ok := remoteAlert(err)
	if !ok && conn != nil {
		// The transport has closed the connection; an alert read before
		// that stays the connection's error. A deadline in the past keeps
		// the read from waiting if there is none.
		conn.SetReadDeadline(time.Now())
		_, rerr := conn.Read(make([]byte, 1))
		code, ok = remoteAlert(rerr)
	}
	if !ok {
		return result{}, "", false
	}
	serial := pki.SerialHex(us.Cert)
	say := func(reason, format string, args ...any) (result, string, bool) {
		return retry(format, args...), reason, true
	}
	switch code {
	case alertBadCertificate, alertCertificateUnknown, alertUnsupportedCert, alertCertificateRequired, alertAccessDenied:
		return say("tls_peer_bad_certificate", "TLS: the recipient refused our transport certificate (alert %q): it must be the certificate the register lists for us (serial %s) and chain to the DAEU CA; after a renewal DAEU must register the new serial, and the recipient must have synced its register", alertName(code), serial)
	case alertCertificateRevoked:
		return say("tls_peer_certificate_revoked", "TLS: the recipient says our transport certificate is revoked (alert %q): its CRL lists serial %s, or its CRL is stale and it refuses everyone; ask DAEU whether our certificate is revoked, and the recipient's administrator to refresh its CRL", alertName(code), serial)
	case alertUnknownCA:
		return say("tls_peer_unknown_ca", "TLS: the recipient does not know the CA of our transport certificate (alert %q): its DAEU CA bundle is missing or outdated; tell its administrator", alertName(code))
	case alertCertificateExpired:
		return say("tls_peer_certificate_expired", "TLS: the recipient says our transport certificate has expired (alert %q): check it with `seosgw preflight` (serial %s, until %s) and ask the recipient to check its clock", alertName(code), serial, us.Cert.NotAfter.UTC().Format("2006-01-02"))
	case alertHandshakeFailure, alertProtocolVersion, alertInsufficientSecurity:
		return say("tls_peer_no_common_suite", "TLS: the recipient and we share no TLS version or cipher suite (alert %q): seosgw offers TLS 1.3, and TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305 only; the recipient's server must enable one of them", alertName(code))
	}
	return say("tls_peer_alert", "TLS: the recipient ended the connection with alert %q", alertName(code))
}

// remoteAlert finds the alert a peer sent in err: crypto/tls reports it as
// a *net.OpError "remote error" around its (unexported) alert number.
func remoteAlert(err error) (uint8, bool) {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "remote error" || oe.Err == nil {
		return 0, false
	}
	if v := reflect.ValueOf(oe.Err); v.Kind() == reflect.Uint8 {
		return uint8(v.Uint()), true
	}
	return 0, false
}

// alertName is how crypto/tls names an alert ("bad certificate").
func alertName(code uint8) string {
	s := tls.AlertError(code).Error() // "tls: bad certificate"
	if len(s) > 5 && s[:5] == "tls: " {
		return s[5:]
	}
	return s
}
