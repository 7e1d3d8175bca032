package acceptance

import (
	"fmt"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/translit"
)

// RejectionReason is the text for DocumentStatusResponse/RejectionReason:
// every enforced problem, first in Bulgarian Cyrillic, then in the
// official Latin transliteration, as the agency's rules require
// ("информация за отказ за регистрация, изписана на кирилица и латиница").
// It is empty when nothing was refused.
func (v *Verdict) RejectionReason() string {
	problems := v.Problems()
	if len(problems) == 0 {
		return ""
	}
	var bg []string
	for _, c := range problems {
		bg = append(bg, c.line(func(t Text) string { return t.BG }))
	}
	cyr := "Отказ от регистрация: " + strings.Join(bg, "; ") + "."
	return cyr + "\n" + translit.String(cyr)
}

// Registration is what the AIS reports when it registers a document.
type Registration struct {
	Number     string    // registration number
	Date       time.Time // registration date
	ReceivedAt time.Time // when the document was received
}

// Receipt is the confirmation of receipt sent with DS_REGISTERED, in
// Cyrillic and Latin. ok is false when the sender declined confirmation
// ("не желая потвърждаване"): then nothing is to be sent.
func (v *Verdict) Receipt(r Registration) (text string, ok bool) {
	t, ok := v.ReceiptText(r)
	if !ok {
		return "", false
	}
	return t.BG + "\n" + t.Latin, true
}

// ReceiptText is the confirmation of receipt in its three spellings, for
// channels that carry the Cyrillic and Latin texts apart (SEOS's
// DocAddData); ok is false when the sender declined confirmation.
func (v *Verdict) ReceiptText(r Registration) (t Text, ok bool) {
	if v.DeclinedReceipt {
		return Text{}, false
	}
	received, date := r.ReceivedAt.In(clock.Sofia).Format("02.01.2006 15:04"), r.Date.In(clock.Sofia).Format("02.01.2006")
	// The registration number is an identifier: the Latin text carries it
	// as written, not transliterated.
	const bg = "Потвърждаваме получаването на Вашия електронен документ на %s ч. Документът е регистриран с рег. № %s от %s."
	return Text{BG: fmt.Sprintf(bg, received, r.Number, date), Latin: fmt.Sprintf(translit.String(bg), received, r.Number, date),
		EN: fmt.Sprintf("We confirm receipt of your electronic document on %s. It is registered as No %s of %s.", received, r.Number, date)}, true
}
