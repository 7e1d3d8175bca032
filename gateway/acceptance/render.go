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
// ("не желая потвърждаване"): then nothing is to be sent. Times are written
// in Bulgarian civil time, the agency's.
func (v *Verdict) Receipt(r Registration) (text string, ok bool) {
	if v.DeclinedReceipt {
		return "", false
	}
	cyr := fmt.Sprintf("Потвърждаваме получаването на Вашия електронен документ на %s ч. Документът е регистриран с рег. № %s от %s.",
		r.ReceivedAt.In(clock.Sofia).Format("02.01.2006 15:04"), r.Number, r.Date.In(clock.Sofia).Format("02.01.2006"))
	return cyr + "\n" + translit.String(cyr), true
}
