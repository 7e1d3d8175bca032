// Package docsig judges a document signer the way the agency's rules ask:
// the signature's integrity (from cms), the certificate's validity at
// signing time and now, its revocation status, a chain to a qualified
// provider, and whether the signer is the author — the sending
// administration or a person it authorised.
package docsig

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/cms"
	"github.com/seosgw/seosgw/gateway/acceptance/revocation"
	"github.com/seosgw/seosgw/gateway/clock"
)

// Status of one aspect.
type Status string

// Statuses.
const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	Unknown       Status = "unknown"
	NotApplicable Status = "not-applicable"
)

// Finding is one aspect's result with its reason in Bulgarian and English.
type Finding struct {
	Status Status
	BG, EN string
}

func pass(bg, en string, a ...any) Finding {
	return Finding{Pass, fmt.Sprintf(bg, a...), fmt.Sprintf(en, a...)}
}
func fail(bg, en string, a ...any) Finding {
	return Finding{Fail, fmt.Sprintf(bg, a...), fmt.Sprintf(en, a...)}
}
func unknown(bg, en string, a ...any) Finding {
	return Finding{Unknown, fmt.Sprintf(bg, a...), fmt.Sprintf(en, a...)}
}

// Report is the judgement of one signature.
type Report struct {
	Signer      string // the certificate's subject CN (or the whole subject)
	Cert        *x509.Certificate
	SigningTime time.Time
	TimeSource  string // "signed attribute", "PDF /M", or "" (unknown: now is used)
	Integrity   Finding
	Validity    Finding
	Revocation  Finding
	Trust       Finding
	Author      Finding
}

// Findings lists the aspects in a fixed order with their rule names.
func (r *Report) Findings() []struct {
	Aspect string
	F      Finding
} {
	return []struct {
		Aspect string
		F      Finding
	}{{"integrity", r.Integrity}, {"validity", r.Validity}, {"revocation", r.Revocation}, {"trust", r.Trust}, {"author", r.Author}}
}

// Score ranks reports: more passes, then fewer failures, is better.
func (r *Report) Score() int {
	s := 0
	for _, f := range r.Findings() {
		switch f.F.Status {
		case Pass:
			s += 10
		case Unknown, NotApplicable:
			s += 3
		}
	}
	return s
}

// Person is someone the administration authorised to sign for it.
type Person struct {
	Name string // as in the certificate's CN; used when ID is empty
	ID   string // the certificate's serialNumber attribute, e.g. PNOBG-7501010010
}

// Verifier holds what every signature is judged against.
type Verifier struct {
	Roots         *x509.CertPool // qualified providers' CA certificates
	Intermediates []*x509.Certificate
	// Anchors, when set, gives the anchors in force at each judgement
	// instead of Roots and Intermediates (a trusted list reloaded while
	// the node runs).
	Anchors     func() *Anchors
	Revocation  *revocation.Checker // nil: revocation is not checked (unknown)
	Clock       clock.Clock
	MatchSender bool     // the signer's organisation identifier must be the sender's EIK
	Persons     []Person // or one of these persons
}

var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// Anchors are trust anchors in force at one moment.
type Anchors struct {
	Roots         *x509.CertPool
	Intermediates []*x509.Certificate
	// Stale, when set, says why a chain's top can no longer be relied on
	// ("" when it can): the trusted list it came from is out of date.
	// Such a signature's trust is unknown, never passed.
	Stale func(top *x509.Certificate) (bg, en string)
}

// Judge builds the report for one verified (or failed) CMS signer.
// timeHint is the signing time from outside the CMS (a PDF's /M), used
// when the signature has no signingTime attribute.
func (v *Verifier) Judge(ctx context.Context, res cms.Result, certs []*x509.Certificate, senderEIK string, timeHint time.Time) Report {
	rep := Report{Cert: res.Cert}
	now := v.Clock.Now()
	rep.SigningTime, rep.TimeSource = res.SigningTime, "signed attribute"
	if rep.SigningTime.IsZero() && !timeHint.IsZero() {
		rep.SigningTime, rep.TimeSource = timeHint, "PDF /M"
	}
	if rep.SigningTime.IsZero() {
		rep.TimeSource = ""
	}
	if res.Cert == nil {
		rep.Signer = "?"
		rep.Integrity = fail("сертификатът на подписващия липсва в подписа", "the signer's certificate is not in the signature")
		na := Finding{NotApplicable, "няма сертификат", "no certificate"}
		rep.Validity, rep.Revocation, rep.Trust, rep.Author = na, na, na, na
		return rep
	}
	c := res.Cert
	rep.Signer = c.Subject.CommonName
	if rep.Signer == "" {
		rep.Signer = c.Subject.String()
	}
	if res.Err != nil {
		rep.Integrity = fail("подписът не е валиден: %s", "the signature does not verify: %s", res.Err)
	} else {
		rep.Integrity = pass("цялостта е потвърдена (%s)", "integrity verified (%s)", res.Hash)
	}
	rep.Validity = v.validity(c, rep.SigningTime, now)

	at := rep.SigningTime
	if at.IsZero() || at.After(now) {
		at = now
	}
	anchors := &Anchors{Roots: v.Roots, Intermediates: v.Intermediates}
	if v.Anchors != nil {
		anchors = v.Anchors()
	}
	inter := x509.NewCertPool()
	for _, x := range append(append([]*x509.Certificate(nil), anchors.Intermediates...), certs...) {
		inter.AddCert(x)
	}
	var chain []*x509.Certificate
	if anchors.Roots == nil {
		rep.Trust = unknown("не са настроени доверени доставчици", "no trusted providers are configured")
	} else if chains, err := c.Verify(x509.VerifyOptions{Roots: anchors.Roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		rep.Trust = fail("сертификатът не е издаден от доверен доставчик: %s", "the certificate does not chain to a trusted provider: %s", err)
	} else {
		chain = chains[0]
		top := chain[len(chain)-1]
		rep.Trust = pass("издаден от доверен доставчик (%s)", "issued under a trusted provider (%s)", top.Subject.CommonName)
		if anchors.Stale != nil {
			if bg, en := anchors.Stale(top); en != "" {
				cn := top.Subject.CommonName
				rep.Trust = Finding{Unknown, fmt.Sprintf("издаден от %s, но %s", cn, bg), fmt.Sprintf("issued under %s, but %s", cn, en)}
			}
		}
	}
	rep.Revocation = v.revocation(ctx, chain)
	rep.Author = v.author(c, senderEIK)
	return rep
}

func (v *Verifier) validity(c *x509.Certificate, signed, now time.Time) Finding {
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	if c.KeyUsage != 0 && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return fail("сертификатът не е за електронен подпис", "the certificate's key usage does not allow signing")
	}
	if !signed.IsZero() {
		if signed.Before(c.NotBefore) || signed.After(c.NotAfter) {
			return fail("сертификатът не е бил валиден към момента на подписване (%s; валиден %s – %s)",
				"the certificate was not valid when the document was signed (%s; valid %s to %s)", day(signed), day(c.NotBefore), day(c.NotAfter))
		}
		if signed.After(now.Add(10 * time.Minute)) {
			return fail("времето на подписване %s е в бъдещето (разлика в часовниците?)",
				"the signing time %s is in the future (clock skew?)", signed.UTC().Format(time.RFC3339))
		}
	}
	if now.Before(c.NotBefore) {
		return fail("сертификатът още не е валиден (от %s; разлика в часовниците?)", "the certificate is not valid yet (from %s; clock skew?)", day(c.NotBefore))
	}
	if now.After(c.NotAfter) {
		return fail("сертификатът е изтекъл на %s", "the certificate expired on %s", day(c.NotAfter))
	}
	if signed.IsZero() {
		return pass("сертификатът е валиден сега (до %s); времето на подписване не е посочено",
			"the certificate is valid now (until %s); the signature states no signing time", day(c.NotAfter))
	}
	return pass("сертификатът е валиден към момента на подписване и сега (до %s)", "the certificate was valid at signing and is now (until %s)", day(c.NotAfter))
}

func (v *Verifier) revocation(ctx context.Context, chain []*x509.Certificate) Finding {
	if v.Revocation == nil {
		return Finding{NotApplicable, "проверката за прекратяване е изключена", "revocation checking is switched off"}
	}
	if len(chain) < 2 {
		return unknown("няма верига до доставчик, за да се провери статусът", "no chain to a provider, so the status cannot be checked")
	}
	var unknowns []string
	var sources []string
	for i := 0; i+1 < len(chain); i++ {
		r := v.Revocation.Check(ctx, chain[i], chain[i+1])
		switch r.Status {
		case revocation.Revoked:
			return fail("сертификатът %q е прекратен (revoked) на %s (%s)", "certificate %q is revoked since %s (%s)",
				chain[i].Subject.CommonName, r.RevokedAt.UTC().Format("2006-01-02 15:04"), strings.ToUpper(r.Source))
		case revocation.Unknown:
			unknowns = append(unknowns, fmt.Sprintf("%q: %v", chain[i].Subject.CommonName, r.Err))
		default:
			if src := strings.ToUpper(r.Source); !slices.Contains(sources, src) {
				sources = append(sources, src)
			}
		}
	}
	if len(unknowns) > 0 {
		return unknown("статусът на сертификата не може да бъде установен (списъкът CRL/OCSP е недостъпен): %s",
			"revocation status unknown (CRL/OCSP unavailable): %s", strings.Join(unknowns, "; "))
	}
	return pass("сертификатът не е прекратен (%s)", "not revoked (%s)", strings.Join(sources, ", "))
}

// OrganizationIdentifier returns the certificate subject's
// organizationIdentifier (2.5.4.97), e.g. NTRBG-000695089.
func OrganizationIdentifier(c *x509.Certificate) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidOrganizationIdentifier) {
			if s, ok := n.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

func (v *Verifier) author(c *x509.Certificate, senderEIK string) Finding {
	if !v.MatchSender && len(v.Persons) == 0 {
		return Finding{NotApplicable, "не се изисква", "not required"}
	}
	org := OrganizationIdentifier(c)
	eik := strings.TrimSpace(senderEIK)
	if v.MatchSender && eik != "" && org != "" {
		id := strings.ToUpper(strings.ReplaceAll(org, " ", ""))
		for _, prefix := range []string{"NTRBG-", "VATBG-BG", "VATBG-"} {
			if rest, ok := strings.CutPrefix(id, prefix); ok && rest == eik {
				return pass("подписан от името на подателя (%s)", "signed on behalf of the sender (%s)", org)
			}
		}
	}
	for _, p := range v.Persons {
		switch {
		case p.ID != "" && strings.EqualFold(strings.TrimSpace(p.ID), strings.TrimSpace(c.Subject.SerialNumber)):
			return pass("подписан от оправомощено лице (%s)", "signed by an authorised person (%s)", p.ID)
		case p.ID == "" && p.Name != "" && sameName(p.Name, c.Subject.CommonName):
			return pass("подписан от оправомощено лице (%s)", "signed by an authorised person (%s)", p.Name)
		}
	}
	who := c.Subject.CommonName
	if org != "" {
		who += ", " + org
	}
	return fail("подписващият (%s) не е подателят (ЕИК %s), нито оправомощено лице",
		"the signer (%s) is neither the sender (EIK %s) nor an authorised person", who, eik)
}

func sameName(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}
