package acceptance

import (
	"fmt"
	"strings"

	"github.com/seosgw/seosgw/gateway/acceptance/filetype"
	"github.com/seosgw/seosgw/gateway/acceptance/ooxml"
	"github.com/seosgw/seosgw/gateway/acceptance/pdf"
)

// readableText gathers the text the requisites are looked for in, bounded
// by requisites.max_text: the request's texts and the text of PDF and DOCX
// attachments (own PDF reader, encoding/xml for DOCX).
func (p *Policy) readableText(in Input, files []*file) (string, []string) {
	budget := int(p.rules.Requisites.MaxText)
	var parts, notes []string
	add := func(s string) {
		if budget <= 0 || strings.TrimSpace(s) == "" {
			return
		}
		if len(s) > budget {
			s = strings.ToValidUTF8(s[:budget], "")
		}
		budget -= len(s)
		parts = append(parts, s)
	}
	for _, src := range p.rules.Requisites.Sources {
		switch src {
		case "doc_about":
			add(in.DocAbout)
		case "doc_comment":
			add(in.DocComment)
		case "comment":
			add(in.Comment)
		case "attachments":
			for _, f := range documents(files) {
				if budget <= 0 || f.docInfo.Encrypted {
					continue
				}
				var s string
				var err error
				switch f.docInfo.Kind {
				case filetype.PDF:
					var doc *pdf.File
					if doc, err = pdf.Open(f.doc, f.docSize); err == nil {
						s, err = doc.Text(budget)
					}
				case filetype.DOCX:
					s, err = ooxml.Text(f.doc, f.docSize, budget)
				default:
					continue
				}
				if err != nil {
					notes = append(notes, fmt.Sprintf("%s: %v", f.name(), err))
				}
				add(s)
			}
		}
	}
	return strings.Join(parts, "\n"), notes
}

func (p *Policy) checkRequisites(in Input, files []*file, v *Verdict) []Check {
	rules := p.rules.Requisites.Rules
	if len(rules) == 0 {
		return nil
	}
	txt, notes := p.readableText(in, files)
	key := phraseKey(txt)
	v.Requisites = map[string]string{}
	var out []Check
	for _, r := range rules {
		c := Check{Rule: "requisite." + r.ID, Mode: r.Mode}
		label := r.Label.BG
		labelEN := r.Label.EN
		if labelEN == "" {
			labelEN = r.ID
		}
		state := "missing"
		switch {
		case r.AppliesTo == "natural_persons" && !in.NaturalPerson():
			state = "not-applicable"
			c.Status, c.Effect = NotApplicable, Accept
			c.Reason = text(label+": не се изисква (подателят не е физическо лице)", labelEN+": not required (no natural person applies)")
		case containsAny(key, p.phrases[r.ID].ambiguous):
			state = "ambiguous"
			c.Status, c.Effect = Unknown, r.OnMissing
			c.Reason = text(label+": текстът е оставен непопълнен (и двата варианта)", labelEN+": the template was left unfilled (both choices present)")
		case containsAny(key, p.phrases[r.ID].deny):
			state = "denied"
			c.Status, c.Effect = Pass, Accept
			c.Reason = text(label+": подателят е отказал", labelEN+": the sender declined")
			if r.OnDeny == "no_receipt" {
				v.DeclinedReceipt = true
			}
		case containsAny(removeAll(key, p.phrases[r.ID].deny), p.phrases[r.ID].affirm):
			state = "affirmed"
			c.Status, c.Effect = Pass, Accept
			c.Reason = text(label+": заявено", labelEN+": stated")
		default:
			c.Status, c.Effect = Fail, r.OnMissing
			bg, en := label+": липсва задължителният реквизит", labelEN+": the mandatory requisite is missing"
			if len(notes) > 0 {
				en += " (text not read from " + strings.Join(notes, "; ") + ")"
			}
			c.Reason = text(bg, en)
		}
		v.Requisites[r.ID] = state
		out = append(out, c)
	}
	return out
}

// phraseKeys are a rule's phrases as keys, made once when the policy loads.
type phraseKeys struct{ affirm, deny, ambiguous []string }

func keysOf(phrases []string) []string {
	var out []string
	for _, ph := range phrases {
		if k := phraseKey(ph); k != "" {
			out = append(out, k)
		}
	}
	return out
}

func containsAny(key string, keys []string) bool {
	for _, k := range keys {
		if strings.Contains(key, k) {
			return true
		}
	}
	return false
}

func removeAll(key string, keys []string) string {
	for _, k := range keys {
		key = strings.ReplaceAll(key, k, "|")
	}
	return key
}
