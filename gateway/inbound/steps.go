package inbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/register"
)

// The steps, in order: size → TLS identity (cheap, before any parsing) →
// read (SOAP, message, attachments, digests: one pass) → recipient →
// sender → TLS certificate is the sender's → signature → EIKs are the
// register's → clock → dedupe/persist → reply.

// checkSize refuses a body announced larger than the limit at once,
// without reading it.
func (p *Pipeline) checkSize(_ context.Context, x *exchange) error {
	if x.req.Declared > p.MaxMessageBytes {
		return p.tooLarge()
	}
	return nil
}

// checkTLSIdentity refuses, before any parsing, a client whose certificate
// is no participant's: the DAEU CA issues certificates to more than SEOS
// participants, and parsing 64 MiB for a stranger is work we need not do.
func (p *Pipeline) checkTLSIdentity(ctx context.Context, x *exchange) error {
	if x.req.ClientCert == nil {
		return senderFault(TLSCertMismatch, "Липсва клиентски TLS сертификат.", "no TLS client certificate", nil)
	}
	es, err := p.Dir.BySerial(ctx, x.serial)
	if err != nil {
		return ourFault(Internal, "Регистърът на участниците е недостъпен.", "register lookup failed", err)
	}
	for _, e := range es {
		if !e.Removed {
			return nil
		}
	}
	return senderFault(TLSCertMismatch,
		"TLS сертификатът на клиента не е транспортен сертификат на участник в регистъра.",
		fmt.Sprintf("TLS client certificate serial %s is no participant's in the register", x.serial), nil)
}

func (p *Pipeline) checkRecipient(_ context.Context, x *exchange) error {
	if !seos.EqualGUID(x.msg.Header.Recipient.GUID, p.Self.GUID) {
		return senderFault(WrongRecipient,
			fmt.Sprintf("Получателят %s не е участникът, обслужван от тази точка за достъп (%s).", x.msg.Header.Recipient.GUID, p.Self.GUID),
			fmt.Sprintf("recipient %s is not this participant %s", x.msg.Header.Recipient.GUID, p.Self.GUID), nil)
	}
	return nil
}

func (p *Pipeline) checkSender(ctx context.Context, x *exchange) error {
	guid := x.msg.Header.Sender.GUID
	sender, err := p.Dir.ByGUID(ctx, guid)
	if err != nil {
		return ourFault(Internal, "Регистърът на участниците е недостъпен.", "register lookup failed", err)
	}
	self, err := p.Dir.ByGUID(ctx, p.Self.GUID)
	if err != nil {
		return ourFault(Internal, "Регистърът на участниците е недостъпен.", "register lookup failed", err)
	}
	x.sender, x.self = sender, self
	d := p.Policy.MayExchange(self, sender)
	if d.Allowed {
		return nil
	}
	if d.OurFault {
		return ourFault(NotAccepting, "Получателят не е активен участник в обмена.", d.Detail, nil)
	}
	return senderFault(SenderNotAllowed, senderRefusalBG(d.Reason, guid), "sender may not exchange: "+d.Detail, nil)
}

// checkEIKs compares the EIKs the signed header names with the register's:
// the GUID alone would let a peer present itself as another administration
// (the AIS shows the EIK and name). The name is not compared: the AIS is
// shown the register's, and the message keeps its own as sent.
func (p *Pipeline) checkEIKs(_ context.Context, x *exchange) error {
	h := x.msg.Header
	for _, c := range []struct {
		role, roleBG string
		said         seos.Entity
		reg          *register.Entity
	}{{"Sender", "подателя", h.Sender, x.sender}, {"Recipient", "получателя", h.Recipient, x.self}} {
		if said, listed := strings.TrimSpace(c.said.Identifier), strings.TrimSpace(c.reg.Identifier); said != listed {
			return senderFault(EIKMismatch,
				fmt.Sprintf("ЕИК на %s в съобщението (%s) се различава от вписания в регистъра на участниците за %s (%s).", c.roleBG, said, c.reg.GUID, listed),
				fmt.Sprintf("%s/Identifier %q is not the register's EIK %q of %s", c.role, said, listed, c.reg.GUID), nil)
		}
	}
	return nil
}

func senderRefusalBG(reason register.Reason, guid string) string {
	switch reason {
	case register.ReasonUnknown:
		return fmt.Sprintf("Подателят %s не е вписан в регистъра на участниците.", guid)
	case register.ReasonRemoved:
		return fmt.Sprintf("Подателят %s е отписан от регистъра на участниците.", guid)
	case register.ReasonTemporarilyInactive:
		return fmt.Sprintf("Подателят %s е временно неактивен в регистъра на участниците.", guid)
	case register.ReasonInactive:
		return fmt.Sprintf("Подателят %s не е активен участник в регистъра.", guid)
	}
	return fmt.Sprintf("Услугата за обмен на документи на подателя %s не е активна в регистъра.", guid)
}

func (p *Pipeline) checkTLSCertificate(_ context.Context, x *exchange) error {
	if x.req.ClientCert == nil || !x.sender.HasCertificate(x.serial) {
		return senderFault(TLSCertMismatch,
			"TLS сертификатът на клиента не е транспортният сертификат на подателя според регистъра.",
			fmt.Sprintf("TLS client certificate serial %q is not sender %s's register CertificateSN %q", x.serial, x.sender.GUID, x.sender.CertificateSN), nil)
	}
	return nil
}

func (p *Pipeline) checkSignature(_ context.Context, x *exchange) error {
	res, err := xmldsig.VerifyDigested(x.digester, messageSignature(x.tree), xmldsig.Options{Now: p.Clock.Now, Reread: x.reread})
	if err != nil {
		kind := otherSignatureFailure
		var ve *xmldsig.Error
		if errors.As(err, &ve) {
			kind = string(ve.Kind)
		}
		p.Metrics.signatureFailures.WithLabelValues(kind).Inc()
		return senderFault(SignatureInvalid, "Електронният подпис на съобщението е невалиден: "+err.Error(), "signature does not hold", err)
	}
	if !res.Cert.Equal(x.req.ClientCert) || !x.sender.HasCertificate(pki.SerialHex(res.Cert)) {
		p.Metrics.signatureFailures.WithLabelValues(signerMismatch).Inc()
		return senderFault(SignerMismatch,
			"Съобщението е подписано със сертификат, различен от транспортния сертификат на подателя.",
			fmt.Sprintf("signed with certificate serial %s, sender's register serial is %s", pki.SerialHex(res.Cert), x.sender.CertificateSN), nil)
	}
	if err := pki.CheckKey(res.Cert.PublicKey, p.MinRSABits); err != nil {
		// TLS refuses such a certificate already; a signature is judged on
		// its own all the same, whatever transport brought it.
		p.Metrics.signatureFailures.WithLabelValues(weakKey).Inc()
		return senderFault(WeakKey,
			"Съобщението е подписано с RSA ключ, по-къс от допустимия ("+fmt.Sprint(minBits(p.MinRSABits))+" бита).",
			fmt.Sprintf("signed with certificate serial %s: %v", pki.SerialHex(res.Cert), err), nil)
	}
	if p.PeerSeen != nil {
		p.PeerSeen(x.sender.GUID, res.Cert.NotAfter)
	}
	return nil
}

func minBits(n int) int {
	if n <= 0 {
		return pki.DefaultMinRSABits
	}
	return n
}

func (p *Pipeline) checkClock(_ context.Context, x *exchange) error {
	t, err := x.msg.Header.MessageDate.Time()
	if err != nil {
		return senderFault(SchemaInvalid, "Невалидна дата на съобщението.", "MessageDate does not parse", err)
	}
	now := p.Clock.Now()
	if d := now.Sub(t); d > p.Skew || d < -p.Skew {
		return senderFault(ClockSkew,
			fmt.Sprintf("Датата на съобщението (%s) се различава от часовника на получателя (%s) с повече от %s. Проверете часовника (clock skew).",
				x.msg.Header.MessageDate, now.UTC().Format(time.RFC3339), p.Skew),
			fmt.Sprintf("clock skew: MessageDate %s is %s away from our clock %s (limit %s)", x.msg.Header.MessageDate, d.Round(time.Second), now.UTC().Format(time.RFC3339), p.Skew), nil)
	}
	return nil
}

// headerGuess is what could be read from a message that failed validation.
type headerGuess struct {
	messageGUID string
	sender      *seos.Entity
}

// guessHeader reads Header/MessageGUID and Header/Sender by local name, so
// an Error can still name the message and go back to its sender.
func guessHeader(doc *etree.Document) headerGuess {
	var g headerGuess
	root := doc.Root()
	if root == nil {
		return g
	}
	h := childByLocal(root, "Header")
	if h == nil {
		return g
	}
	if m := childByLocal(h, "MessageGUID"); m != nil && seos.IsGUID(m.Text()) {
		g.messageGUID = m.Text()
	}
	if s := childByLocal(h, "Sender"); s != nil {
		e := seos.Entity{}
		if v := childByLocal(s, "Identifier"); v != nil {
			e.Identifier = v.Text()
		}
		if v := childByLocal(s, "AdministrativeBodyName"); v != nil {
			e.AdministrativeBodyName = v.Text()
		}
		if v := childByLocal(s, "GUID"); v != nil && seos.IsGUID(v.Text()) {
			e.GUID = v.Text()
			g.sender = &e
		}
	}
	return g
}

func childByLocal(e *etree.Element, local string) *etree.Element {
	for _, k := range e.ChildElements() {
		if k.Tag == local {
			return k
		}
	}
	return nil
}
