package acceptance

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/seosgw/seosgw/gateway/translit"
)

// normalize prepares free text for comparison: Unicode case folding,
// one space for any run of white space, one kind of quote and dash, Latin
// look-alikes inside Cyrillic words turned Cyrillic (a "писмo" typed with a
// Latin o is still a letter), and outer punctuation trimmed.
func normalize(s string) string {
	var words []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\u00a0' || r == '\u200b' }) {
		rs := []rune(w)
		cyr := false
		for i, r := range rs {
			r = unicode.ToLower(unicode.ToUpper(r))
			switch r {
			case '„', '“', '”', '«', '»', '‟', '″':
				r = '"'
			case '‘', '’', '‚', '′':
				r = '\''
			case '–', '—', '‐', '‑', '−':
				r = '-'
			}
			rs[i] = r
			cyr = cyr || unicode.Is(unicode.Cyrillic, r)
		}
		if cyr {
			for i, r := range rs {
				if c, ok := homoglyphs[r]; ok {
					rs[i] = c
				}
			}
		}
		words = append(words, string(rs))
	}
	return strings.Trim(strings.Join(words, " "), " .,;:!?\"'()")
}

// homoglyphs are Latin letters that look like Cyrillic ones (after case
// folding: B, H, M, K, T are capitals that look like В, Н, М, К, Т).
var homoglyphs = map[rune]rune{'a': 'а', 'e': 'е', 'o': 'о', 'p': 'р', 'c': 'с', 'x': 'х', 'y': 'у', 'k': 'к', 'm': 'м', 't': 'т', 'b': 'в', 'h': 'н'}

// phraseKey is normalize without spaces and punctuation (except '/'), so
// that phrases are found in text extracted from PDFs, whose spacing is
// unreliable. Without spaces there are no words, so Latin look-alikes are
// made Cyrillic across the whole key when it holds any Cyrillic letter.
func phraseKey(s string) string {
	cyr := false
	key := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '/' {
			cyr = cyr || unicode.Is(unicode.Cyrillic, r)
			return r
		}
		return -1
	}, normalize(s))
	if !cyr {
		return key
	}
	return strings.Map(func(r rune) rune {
		if c, ok := homoglyphs[r]; ok {
			return c
		}
		return r
	}, key)
}

// kindMatcher decides rule 1.
type kindMatcher struct {
	names    []kindName
	patterns []kindPattern
	translit bool
}

type kindName struct {
	key, latin  string
	group       Label
	registrable bool
}

type kindPattern struct {
	re          *regexp.Regexp
	group       Label
	registrable bool
}

func newKindMatcher(k Kinds) *kindMatcher {
	m := &kindMatcher{translit: k.Transliterated}
	// Non-registrable groups first: their patterns are the more specific
	// ("молба за назначаване на работа" before "молба").
	for _, list := range []struct {
		groups []KindGroup
		reg    bool
	}{{k.NonRegistrable, false}, {k.Registrable, true}} {
		for _, g := range list.groups {
			for _, n := range g.Names {
				key := normalize(n)
				m.names = append(m.names, kindName{key: key, latin: translit.String(key), group: g.Group, registrable: list.reg})
			}
			for _, p := range g.Patterns {
				m.patterns = append(m.patterns, kindPattern{re: regexp.MustCompile(p), group: g.Group, registrable: list.reg})
			}
		}
	}
	return m
}

// match finds the group of a kind: an exact name, else the longest name
// the kind starts with (as whole words), else the first pattern.
func (m *kindMatcher) match(kind string) (kindName, string, bool) {
	k := normalize(kind)
	if k == "" {
		return kindName{}, "", false
	}
	lat := translit.String(k)
	var best kindName
	how := ""
	for _, n := range m.names {
		switch {
		case k == n.key:
			return n, "name", true
		case m.translit && lat == n.latin:
			return n, "transliterated name", true
		case (strings.HasPrefix(k, n.key+" ") || m.translit && strings.HasPrefix(lat, n.latin+" ")) && len(n.key) > len(best.key):
			best, how = n, "leading words"
		}
	}
	if how != "" {
		return best, how, true
	}
	for _, p := range m.patterns {
		if p.re.MatchString(k) || m.translit && p.re.MatchString(lat) {
			return kindName{group: p.group, registrable: p.registrable}, "pattern " + p.re.String(), true
		}
	}
	return kindName{}, "", false
}

func (p *Policy) checkKind(kind string) Check {
	c := Check{Rule: "kind", Mode: p.rules.Kinds.Mode}
	n, how, ok := p.kinds.match(kind)
	q := fmt.Sprintf("%q", strings.TrimSpace(kind))
	switch {
	case !ok:
		c.Status, c.Effect = Unknown, p.rules.Kinds.OnUnknown
		c.Reason = text(fmt.Sprintf("видът на документа %s не е в списъците на подлежащите и неподлежащите на регистрация документи", q),
			fmt.Sprintf("document kind %s is on neither the registrable nor the non-registrable list", q))
	case n.registrable:
		c.Status, c.Effect = Pass, Accept
		c.Reason = text(fmt.Sprintf("видът %s подлежи на регистрация (%s)", q, n.group.BG),
			fmt.Sprintf("kind %s is registrable (%s; matched by %s)", q, orBG(n.group), how))
	default:
		c.Status, c.Effect = Fail, p.rules.Kinds.OnNonRegistrable
		c.Reason = text(fmt.Sprintf("документи от вида %s не подлежат на регистрация (%s)", q, n.group.BG),
			fmt.Sprintf("kind %s is not registrable (%s; matched by %s)", q, orBG(n.group), how))
	}
	return c
}

func orBG(l Label) string {
	if l.EN != "" {
		return l.EN
	}
	return l.BG
}
