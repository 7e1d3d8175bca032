package conformance

import (
	"fmt"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

// Lang is the language a report is written in. DAEU files the report in
// Bulgarian; English is for readers abroad and for the operator's logs.
type Lang string

const (
	Bulgarian Lang = "bg"
	English   Lang = "en"
)

// ParseLang reads a --lang or language: value.
func ParseLang(s string) (Lang, error) {
	switch Lang(s) {
	case Bulgarian, English:
		return Lang(s), nil
	case "":
		return Bulgarian, nil
	}
	return "", fmt.Errorf("%q is not a report language; use bg (Bulgarian) or en (English)", s)
}

// pick returns the text in l; each call site carries both languages, so a
// text can never lack its translation.
func (l Lang) pick(en, bg string, args ...any) string {
	if l == English {
		return fmt.Sprintf(en, args...)
	}
	return fmt.Sprintf(bg, args...)
}

// when writes an instant as a Bulgarian reader expects it: in Europe/Sofia
// whatever the machine's zone, with the zone's name (EET or EEST).
func (l Lang) when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.In(clock.Sofia)
	if l == English {
		return t.Format("2006-01-02 15:04:05 MST")
	}
	return t.Format("02.01.2006 15:04:05 MST")
}

// date rewrites a YYYY-MM-DD date for the reader.
func (l Lang) date(iso string) string {
	d, err := time.Parse("2006-01-02", iso)
	if err != nil || l == English {
		return iso
	}
	return d.Format("02.01.2006") + " г."
}

// duration writes a wait for people (1.5 s, 2 min 3 s).
func (l Lang) duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return l.pick("%d ms", "%d мс", d.Milliseconds())
	case d < time.Minute:
		return l.pick("%.1f s", "%.1f с", d.Seconds())
	}
	d = d.Round(time.Second)
	m, sec := int(d/time.Minute), int(d%time.Minute/time.Second)
	if sec == 0 {
		return l.pick("%d min", "%d мин", m)
	}
	return l.pick("%d min %d s", "%d мин %d с", m, sec)
}

// verdict names a run's or a check's verdict.
func (l Lang) verdict(v Verdict) string {
	switch v {
	case Pass:
		return l.pick("passed", "успешно")
	case Fail:
		return l.pick("failed", "неуспешно")
	case Skip:
		return l.pick("skipped", "пропусната")
	case Incomplete:
		return l.pick("incomplete", "незавършено")
	case Error:
		return l.pick("could not test", "изпитването не можа да се проведе")
	}
	return string(v)
}
