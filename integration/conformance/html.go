package conformance

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"
)

// The HTML pages are self-contained (inline style, no scripts, no external
// assets), so a report can be mailed or archived as one file; html/template
// escapes everything that came from the participant.
//
//go:embed templates/*
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"css": func() template.CSS {
		b, _ := templateFS.ReadFile("templates/style.css")
		return template.CSS(b)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("2006-01-02 15:04:05 -07:00")
	},
	"ms": func(ms int64) string {
		if ms < 1000 {
			return fmt.Sprintf("%d ms", ms)
		}
		return fmt.Sprintf("%.1f s", float64(ms)/1000)
	},
	"size": func(n int) string {
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d bytes", n)
	},
	"inc": func(i int) int { return i + 1 },
	"participantName": func(r *Report) string {
		if r.Setup.Entry != nil {
			return r.Setup.Entry.AdministrativeBodyName
		}
		return r.Participant
	},
	"newestFirst": func(runs []HistoryEntry) []HistoryEntry {
		out := slices.Clone(runs)
		slices.Reverse(out)
		return out
	},
}).ParseFS(templateFS, "templates/*.tmpl"))

func writeHTML(w io.Writer, r *Report) error {
	return pages.ExecuteTemplate(w, "report.html.tmpl", r)
}

func writeIndex(w io.Writer, h *History) error {
	return pages.ExecuteTemplate(w, "index.html.tmpl", h)
}
