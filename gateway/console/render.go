package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/textsafe"
)

// funcs are the templates' helpers. Every value that came from outside
// (peers, the register, the AIS) is shown through safe or text: the same
// sanitiser as the CLI, on top of html/template's escaping, so control
// characters and bidi overrides show as escapes instead of reordering
// what the operator reads.
var funcs = template.FuncMap{
	"safe": textsafe.Field,
	"text": textsafe.Text,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(clock.Sofia).Format("2006-01-02 15:04:05")
	},
	"size": func(n int64) string {
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
	"int64": func(n int) int64 { return int64(n) },
	// query marks a query string filter.encode made (url.Values.Encode:
	// every byte escaped) as one, so the escaper keeps its = and &.
	"query": func(s string) template.URL { return template.URL(s) },
}

// parseTemplates makes one template set per page: the layout and the page.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		out[base] = t
	}
	return out, nil
}

// view is what the layout gets: the page's data in Data.
type view struct {
	Title    string
	Page     string
	User     string
	Role     Role
	Operator bool
	CSRF     string
	Self     string
	Reports  bool
	Now      time.Time
	Data     any
}

// render writes a page; it is made in memory first so that a template
// error never leaves half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, ss *session, status int, page, title string, data any) {
	v := view{Title: title, Page: page, Self: c.opt.Self, Reports: c.opt.ReportsDir != "", Now: c.opt.Clock.Now(), Data: data}
	if ss != nil {
		v.User, v.Role, v.Operator, v.CSRF = ss.User, ss.Role, ss.Role == Operator, ss.CSRF
	}
	t := c.pages[page]
	var buf bytes.Buffer
	if t == nil {
		c.opt.Log.Error("console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.opt.Log.Error("console: render", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// localPath is next as a path on this console, or "/": a login never
// sends the browser elsewhere. Control characters are refused too:
// browsers drop a tab inside a URL, so "/\t/evil" would become "//evil".
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return "/"
		}
	}
	return next
}
