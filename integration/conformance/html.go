package conformance

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"

	"github.com/seosgw/seosgw/gateway/translit"
)

// The HTML pages are self-contained (inline style, no scripts, no external
// assets), so a report can be mailed, archived or printed as one file;
// html/template escapes everything that came from the participant.
//
//go:embed templates/*
var templateFS embed.FS

// pages are parsed once with placeholder language functions; each page is
// executed on a clone whose functions speak the report's language.
var pages = template.Must(template.New("").Funcs(langFuncs(Bulgarian)).ParseFS(templateFS, "templates/*.tmpl"))

func langFuncs(l Lang) template.FuncMap {
	return template.FuncMap{
		"css": func() template.CSS {
			b, _ := templateFS.ReadFile("templates/style.css")
			return template.CSS(b)
		},
		// t picks the page's language; both texts sit side by side in the template.
		"t": func(en, bg string) string {
			if l == English {
				return en
			}
			return bg
		},
		"when":    l.when,
		"date":    l.date,
		"verdict": l.verdict,
		"ms":      func(ms int64) string { return l.duration(time.Duration(ms) * time.Millisecond) },
		"build":   func(b Build) string { return b.Text(l) },
		"size": func(n int) string {
			switch {
			case n >= 1<<20:
				return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
			case n >= 1<<10:
				return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
			}
			return l.pick("%d bytes", "%d байта", n)
		},
		"inc": func(i int) int { return i + 1 },
		"participantName": func(r *Report) string {
			if r.Setup.Entry != nil {
				return r.Setup.Entry.AdministrativeBodyName
			}
			return r.Participant
		},
		// latin is the name as the Transliteration Act writes it, for
		// English readers; "" when it reads the same.
		"latin": func(name string) string {
			if l != English {
				return ""
			}
			if lat := translit.String(name); lat != name {
				return lat
			}
			return ""
		},
		"caseState": func(s string) string {
			switch s {
			case "open":
				return l.pick("open", "открита")
			case "activated":
				return l.pick("activated", "участникът е активиран")
			case "withdrawn":
				return l.pick("withdrawn", "оттеглена")
			}
			return s
		},
		"newestFirst": func(runs []HistoryEntry) []HistoryEntry {
			out := slices.Clone(runs)
			slices.Reverse(out)
			return out
		},
	}
}

func execPage(w io.Writer, name string, l Lang, data any) error {
	t, err := pages.Clone()
	if err != nil {
		return err
	}
	return t.Funcs(langFuncs(l)).ExecuteTemplate(w, name, data)
}

func writeHTML(w io.Writer, r *Report) error {
	l := r.Lang
	if l == "" {
		l = Bulgarian
	}
	return execPage(w, "report.html.tmpl", l, r)
}

// writeIndex writes the history page in l.
func writeIndex(w io.Writer, h *History, l Lang) error {
	return execPage(w, "index.html.tmpl", l, h)
}
