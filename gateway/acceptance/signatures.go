package acceptance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"fmt"
	"io"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/cms"
	"github.com/seosgw/seosgw/gateway/acceptance/docsig"
	"github.com/seosgw/seosgw/gateway/acceptance/filetype"
	"github.com/seosgw/seosgw/gateway/acceptance/pdf"
)

// candidate is one signature found for a document, verified or not.
type candidate struct {
	form    string // "PDF", "CAdES detached (x.p7s)", "CAdES attached (.p7m)"
	results []cms.Result
	sd      *cms.SignedData
	hint    time.Time
	problem *docsig.Finding // a fault outside the CMS (byte ranges, changes after signing)
}

// checkSignatures applies rule 4 to every document attachment.
func (p *Policy) checkSignatures(ctx context.Context, in Input, files []*file) []Check {
	s := p.rules.Signatures
	var out []Check
	// Detached signatures whose document is missing.
	targets := map[*file][]*file{}
	for _, f := range files {
		if !f.isSignature() {
			continue
		}
		t := detachedTarget(f, files)
		if t == nil {
			out = append(out, Check{Rule: "signature.presence", Subject: f.att.Name, Mode: s.Presence.Mode, Status: Fail, Effect: s.Presence.OnFail,
				Reason: text("отделеният подпис не съответства на нито един приложен файл (очаква се „файл“ и „файл.p7s“)",
					"detached signature with no matching document (expected file and file.p7s)")})
			continue
		}
		targets[t] = append(targets[t], f)
	}
	docs := documents(files)
	if len(docs) == 0 && len(in.EnvelopeSignatures) > 0 {
		// Nothing attached: the signed submission (a signed letter) is the document.
		return append(out, p.judge(ctx, in, "", p.envelopeCandidates(in))...)
	}
	if len(docs) == 0 && s.Required {
		// Nothing attached carries the author's signature; the request's own
		// texts are not a signed document (an XML signature inside Document
		// is not verified here).
		c := Check{Rule: "signature.presence", Mode: s.Presence.Mode, Status: Unknown, Effect: s.Presence.OnUnknown,
			Reason: text("към заявката няма приложен подписан документ", "no attached document carries the author's signature")}
		if in.AuthorXMLSignature {
			c.Reason = text("документът е подписан с XML подпис, който шлюзът не проверява; нужна е проверка от служител",
				"the Document carries an author's XML signature, which seosgw does not verify; a clerk must check it")
		}
		out = append(out, c)
	}
	for _, f := range docs {
		cands := append(p.candidates(f, targets[f]), p.envelopeCandidates(in)...)
		if len(cands) == 0 {
			out = append(out, p.unsigned(f))
			continue
		}
		out = append(out, p.judge(ctx, in, f.att.Name, cands)...)
	}
	return out
}

// envelopeCandidates are the signatures over the whole submission.
func (p *Policy) envelopeCandidates(in Input) []candidate {
	var out []candidate
	for _, e := range in.EnvelopeSignatures {
		c := candidate{form: e.Form, sd: e.Signed, results: e.Results}
		if e.Err != nil {
			c.problem = &docsig.Finding{Status: docsig.Fail, BG: "подписаното съдържание не може да бъде проверено", EN: e.Err.Error()}
		}
		if c.sd == nil {
			c.sd = &cms.SignedData{}
		}
		out = append(out, c)
	}
	return out
}

// judge reports the best of a document's signatures; subject is the
// attachment's name, or "" for the submission itself.
func (p *Policy) judge(ctx context.Context, in Input, subject string, cands []candidate) []Check {
	var best *docsig.Report
	var bestForm string
	for _, c := range cands {
		for _, r := range c.results {
			rep := p.verifier.Judge(ctx, r, c.sd.Certificates, in.Sender.EIK, c.hint)
			if c.problem != nil && rep.Integrity.Status == docsig.Pass {
				rep.Integrity = *c.problem
			}
			if best == nil || rep.Score() > best.Score() {
				best, bestForm = &rep, c.form
			}
		}
		if len(c.results) == 0 && best == nil {
			problem := c.problem
			if problem == nil {
				problem = &docsig.Finding{Status: docsig.Fail, BG: "подписът няма подписващ", EN: "the signature has no signer"}
			}
			na := docsig.Finding{Status: docsig.NotApplicable, BG: "подписът не може да бъде проверен", EN: "the signature cannot be checked"}
			best = &docsig.Report{Signer: "?", Integrity: *problem, Validity: na, Revocation: na, Trust: na, Author: na}
			bestForm = c.form
		}
	}
	out := []Check{{Rule: "signature.presence", Subject: subject, Mode: p.rules.Signatures.Presence.Mode, Status: Pass, Effect: Accept,
		Reason: text(fmt.Sprintf("подписан от %s (%s)", best.Signer, bestForm), fmt.Sprintf("signed by %s (%s)", best.Signer, bestForm))}}
	for _, a := range best.Findings() {
		out = append(out, p.signatureCheck(a.Aspect, subject, best.Signer, a.F))
	}
	return out
}

func (p *Policy) action(aspect string) Action {
	s := p.rules.Signatures
	switch aspect {
	case "integrity":
		return s.Integrity
	case "validity":
		return s.Validity
	case "revocation":
		return s.Revocation
	case "trust":
		return s.Trust
	case "author":
		return s.Author
	}
	return s.Presence
}

func (p *Policy) signatureCheck(aspect, subject, signer string, f docsig.Finding) Check {
	a := p.action(aspect)
	c := Check{Rule: "signature." + aspect, Subject: subject, Mode: a.Mode, Status: f.Status, Effect: Accept}
	switch f.Status {
	case docsig.Fail:
		c.Effect = a.OnFail
	case docsig.Unknown:
		c.Effect = a.OnUnknown
	}
	c.Reason = text(fmt.Sprintf("подпис на %s: %s", signer, f.BG), fmt.Sprintf("signature of %s: %s", signer, f.EN))
	return c
}

func (p *Policy) unsigned(f *file) Check {
	s := p.rules.Signatures
	c := Check{Rule: "signature.presence", Subject: f.att.Name, Mode: s.Presence.Mode}
	switch {
	case !s.Required:
		c.Status, c.Effect = NotApplicable, Accept
		c.Reason = text("документът не е подписан (не се изисква)", "not signed (not required)")
	case f.docInfo.OfficeSignature || f.info.OfficeSignature:
		c.Status, c.Effect = Unknown, s.Presence.OnUnknown
		c.Reason = text("документът съдържа вграден подпис на Office/S/MIME, който шлюзът не проверява; нужна е проверка от служител",
			"carries an embedded Office or S/MIME signature, which seosgw does not verify; a clerk must check it")
	default:
		c.Status, c.Effect = Fail, s.Presence.OnFail
		c.Reason = text("документът не е подписан с електронен подпис", "the document carries no electronic signature")
	}
	return c
}

// candidates finds the signatures of one document: inside a PDF, the
// .p7m's own, and detached .p7s files.
func (p *Policy) candidates(f *file, detached []*file) []candidate {
	var out []candidate
	if f.info.Kind == filetype.P7M && f.sd != nil {
		res, err := f.sd.Verify(nil)
		c := candidate{form: "CAdES attached (.p7m)", sd: f.sd, results: res}
		if err != nil {
			c.problem = &docsig.Finding{Status: docsig.Fail, BG: "подписаното съдържание не може да бъде прочетено", EN: err.Error()}
		}
		out = append(out, c)
	}
	if f.docInfo.Kind == filetype.PDF && !f.docInfo.Encrypted {
		out = append(out, p.pdfCandidates(f)...)
	}
	for _, d := range detached {
		if d.sd == nil {
			continue
		}
		res, err := d.sd.Verify(io.NewSectionReader(f.att.Content, 0, f.att.Size))
		c := candidate{form: "CAdES detached (" + d.att.Name + ")", sd: d.sd, results: res}
		if err != nil {
			c.problem = &docsig.Finding{Status: docsig.Fail, BG: "подписаният файл не може да бъде прочетен", EN: err.Error()}
		}
		out = append(out, c)
	}
	return out
}

func (p *Policy) pdfCandidates(f *file) []candidate {
	doc, err := pdf.Open(f.doc, f.docSize)
	if err != nil {
		return nil
	}
	sigs, _ := doc.Signatures()
	var out []candidate
	for i := range sigs {
		s := &sigs[i]
		if s.SubFilter == "ETSI.RFC3161" {
			continue // a document time-stamp, not a signature of the author
		}
		c := candidate{form: "PDF " + s.SubFilter, hint: s.Time}
		fault := func(bg, en string) { c.problem = &docsig.Finding{Status: docsig.Fail, BG: bg, EN: en} }
		sd, err := cms.Parse(bytes.NewReader(s.Contents), int64(len(s.Contents)))
		switch {
		case s.Problem != nil:
			fault("подписът не обхваща целия документ", "the signature's byte ranges are unsafe: "+s.Problem.Error())
		case err != nil:
			fault("подписът на PDF файла е повреден", "unreadable PDF signature: "+err.Error())
		}
		if sd != nil {
			c.sd = sd
			switch s.SubFilter {
			case "adbe.pkcs7.sha1":
				// The signed content is the SHA-1 digest of the byte ranges.
				h := sha1.New()
				io.Copy(h, doc.SignedData(s))
				c.results, err = sd.Verify(nil)
				inner, _ := io.ReadAll(io.LimitReader(sd.Content(), 64))
				if err == nil && !bytes.Equal(inner, h.Sum(nil)) {
					fault("документът е променен след подписването", "the document does not match the signed SHA-1 digest")
				}
			default:
				if sd.Detached() {
					var digests map[crypto.Hash][]byte
					digests, err = sd.Digests(doc.SignedData(s))
					if err == nil {
						c.results = sd.VerifyDigests(digests)
					}
				} else {
					fault("подписът на PDF файла не е отделен (detached)", "the PDF signature encapsulates content instead of signing the byte ranges")
				}
			}
			if err != nil && c.problem == nil {
				fault("подписаните данни не могат да бъдат прочетени", err.Error())
			}
		}
		if s.Appended > 0 && !p.rules.Signatures.AllowChangesAfterSigning && c.problem == nil {
			fault(fmt.Sprintf("документът е променен след подписването (добавени %d байта)", s.Appended),
				fmt.Sprintf("the file was changed after signing (%d bytes appended after the signed revision)", s.Appended))
		}
		if c.sd == nil {
			c.sd = &cms.SignedData{}
		}
		out = append(out, c)
	}
	return out
}
