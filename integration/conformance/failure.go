package conformance

import (
	"crypto/x509"
	"errors"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// The xmllint outcomes validate reports; the text after them is xmllint's.
var (
	errSchemaInvalid = errors.New("xmllint finds the message invalid")
	errLintNotRun    = errors.New("xmllint did not run")
)

// errNoCertificate: the reply's signature carried no certificate to judge.
var errNoCertificate = errors.New("no certificate")

// failure writes an error for a report's "got" column. The errors come from
// libraries and tools, in English; a reader of the Bulgarian report first
// gets the class of failure in Bulgarian, then the original text marked as
// technical detail, which is what a developer searches for.
func (l Lang) failure(err error) string {
	if err == nil {
		return ""
	}
	en, bg := failureClass(err)
	if l == English {
		return l.technical(en, err)
	}
	return l.technical(bg, err)
}

// technical puts an error's own text after a lead-in, marked as detail.
func (l Lang) technical(lead string, err error) string {
	return l.pick("%s (technical detail: %v)", "%s (техническа подробност: %v)", lead, err)
}

// failureClass names the kind of failure err is, in English and Bulgarian.
func failureClass(err error) (en, bg string) {
	var sig *xmldsig.Error
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var weak *pki.WeakKeyError
	switch {
	case errors.As(err, &weak):
		return "the key is shorter than the protocol's floor", "ключът е по-къс от допустимия минимум"
	case errors.As(err, &sig):
		return signatureClass(sig.Kind)
	case errors.Is(err, errSchemaInvalid):
		return "the message breaks the SEOS schemas", "съобщението не отговаря на схемите на СЕОС"
	case errors.Is(err, errLintNotRun):
		return "the schema validator xmllint could not be run", "валидаторът по схема xmllint не можа да бъде изпълнен"
	case errors.Is(err, errNoCertificate):
		return "there is no certificate to check", "липсва сертификат за проверка"
	case errors.As(err, &unknownCA):
		return "the certificate is not issued by the DAEU CA (untrusted issuer)", "сертификатът не е издаден от удостоверителя на ДАЕУ (недоверен издател)"
	case errors.As(err, &host):
		return "the certificate is not issued for this host name", "сертификатът не е издаден за това име на хост"
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return "the certificate is expired or not yet valid", "сертификатът е изтекъл или още не е валиден"
		case x509.IncompatibleUsage:
			return "the certificate is not issued for this use", "сертификатът не е издаден за тази употреба"
		}
		return "the certificate is invalid", "сертификатът е невалиден"
	}
	return "the check failed", "проверката не успя"
}

// signatureClass describes each class of XML signature failure.
func signatureClass(k xmldsig.Kind) (en, bg string) {
	switch k {
	case xmldsig.KindMissing:
		return "the message is not signed", "съобщението не е подписано"
	case xmldsig.KindWrapping:
		return "a signature where none belongs, or one that does not cover the whole message (signature wrapping)",
			"подпис на място, където не трябва, или подпис, който не покрива цялото съобщение (подмяна на подписаното съдържание)"
	case xmldsig.KindShape:
		return "the signature does not follow the SEOS signature profile", "подписът не следва профила на подписа в СЕОС"
	case xmldsig.KindAlgorithm:
		return "the signature uses an algorithm the profile does not allow", "подписът използва алгоритъм, който профилът не допуска"
	case xmldsig.KindCertificate:
		return "the signer's certificate in the signature is missing, unusable or not valid now",
			"сертификатът на подписващия в подписа липсва, неизползваем е или не е валиден в момента"
	case xmldsig.KindDigest:
		return "the signed content was changed after signing (digest mismatch)", "подписаното съдържание е променено след подписването (несъвпадащ хеш)"
	case xmldsig.KindSignature:
		return "the signature value does not verify with the certificate's key", "стойността на подписа не се потвърждава с ключа на сертификата"
	}
	return "the signature does not hold", "подписът е невалиден"
}
