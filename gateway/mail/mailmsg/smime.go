package mailmsg

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/seosgw/seosgw/gateway/acceptance/cms"
)

// Forms of S/MIME signature layers.
const (
	FormDetached = "S/MIME (multipart/signed)"
	FormOpaque   = "S/MIME (signed-data)"
)

// verifyDetached checks a multipart/signed layer (RFC 8551 3.5.3): the
// signature covers the first part exactly as it stands between the
// delimiters, header included.
func (ps *parser) verifyDetached(content, sig *Part) Signature {
	s := Signature{Form: FormDetached}
	der, err := ps.decodeBounded(sig, ps.o.MaxSignatureBytes)
	if err != nil {
		s.Err = fmt.Errorf("the signature part: %w", err)
		return s
	}
	sd, err := cms.Parse(bytes.NewReader(der), int64(len(der)))
	if err != nil {
		s.Err = fmt.Errorf("the signature part: %w", err)
		return s
	}
	s.Signed = sd
	if !sd.Detached() {
		s.Err = errors.New("the signature part of multipart/signed carries content of its own")
		return s
	}
	exact := &crlf{r: content.Raw(), keep: true}
	s.Results, s.Err = sd.Verify(exact)
	if s.Err == nil && !s.Valid() && exact.bare {
		// Stored with LF line ends by a mail store: what was signed is the
		// CRLF form (RFC 8551 3.1.1).
		res, err := sd.Verify(&crlf{r: content.Raw()})
		if err == nil {
			canon := Signature{Results: res}
			if canon.Valid() {
				s.Results, s.Canonicalized = res, true
			}
		}
	}
	return s
}

// opaque opens an application/pkcs7-mime body layer: signed-data is
// verified and its content parsed as the mail's body; enveloped data is
// marked encrypted and not looked into.
func (ps *parser) opaque(m *Mail, p *Part, depth int) error {
	smimeType := strings.ToLower(p.Params["smime-type"])
	if smimeType == "enveloped-data" || smimeType == "authenveloped-data" {
		m.encrypted(p)
		return nil
	}
	der, err := ps.decodeBounded(p, ps.o.MaxOpaqueBytes)
	if err != nil {
		m.Signatures = append(m.Signatures, Signature{Form: FormOpaque, Err: err})
		return nil
	}
	kind, err := cms.ContentKind(bytes.NewReader(der), int64(len(der)))
	if err != nil {
		m.Signatures = append(m.Signatures, Signature{Form: FormOpaque, Err: err})
		return nil
	}
	if kind.Encrypted() {
		m.encrypted(p)
		return nil
	}
	if kind != cms.KindSignedData {
		m.Problems = append(m.Problems, fmt.Sprintf("application/pkcs7-mime holding %s; kept as a file", kind))
		m.Attachments = append(m.Attachments, p)
		return nil
	}
	sd, err := cms.Parse(bytes.NewReader(der), int64(len(der)))
	if err != nil {
		m.Signatures = append(m.Signatures, Signature{Form: FormOpaque, Err: err})
		return nil
	}
	s := Signature{Form: FormOpaque, Signed: sd}
	if sd.Detached() {
		s.Err = errors.New("opaque signed-data without its content")
		m.Signatures = append(m.Signatures, s)
		return nil
	}
	s.Results, s.Err = sd.Verify(nil)
	m.Signatures = append(m.Signatures, s)
	inner, size := sd.ContentReaderAt()
	root, err := ps.entity(inner, 0, size, depth+1)
	if err != nil {
		return fmt.Errorf("the signed content: %w", err)
	}
	return ps.interpret(m, root, depth+1, true)
}

// decodeBounded reads a part's decoded body, refusing more than limit bytes.
func (ps *parser) decodeBounded(p *Part, limit int64) ([]byte, error) {
	r, err := p.Open()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooComplex, limit)
	}
	return b, nil
}

// encrypted records an enveloped-data layer; it is kept as an attachment
// too, so that the acceptance policy's encryption rule sees it.
func (m *Mail) encrypted(p *Part) {
	m.Encrypted = true
	if p.Filename == "" {
		p.Filename = "smime.p7m"
	}
	m.Attachments = append(m.Attachments, p)
}

// SignerEmails are the e-mail addresses a signature's signing
// certificates name (subject alternative names, else the emailAddress
// attribute), lower case.
func (s *Signature) SignerEmails() []string {
	var out []string
	for _, r := range s.Results {
		if r.Cert == nil {
			continue
		}
		for _, e := range r.Cert.EmailAddresses {
			out = append(out, strings.ToLower(e))
		}
		for _, n := range r.Cert.Subject.Names {
			if n.Type.Equal(oidEmailAddress) {
				if v, ok := n.Value.(string); ok {
					out = append(out, strings.ToLower(v))
				}
			}
		}
	}
	return out
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// SignedByFrom reports a valid signature whose certificate names the From
// address (RFC 8550 3): the signer is who the mail says sent it.
func (m *Mail) SignedByFrom() bool {
	if m.From == nil {
		return false
	}
	from := strings.ToLower(m.From.Address)
	for i := range m.Signatures {
		if m.Signatures[i].Valid() && slices.Contains(m.Signatures[i].SignerEmails(), from) {
			return true
		}
	}
	return false
}

// AutoSubmitted reports mail a program sent on its own — a bounce, an
// auto-reply (RFC 3834, RFC 3464) — which must not be answered, lest two
// automata answer each other for ever.
func (m *Mail) AutoSubmitted() bool {
	if v := strings.ToLower(strings.TrimSpace(m.Header.Get("Auto-Submitted"))); v != "" && v != "no" {
		return true
	}
	if m.Root != nil && m.Root.MediaType == "multipart/report" {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(m.Header.Get("Precedence"))) {
	case "bulk", "junk", "list":
		return true
	}
	return false
}
