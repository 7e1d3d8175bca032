package console

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// A conformance report is a report.html (or any .html) in reports_dir or
// one folder down, as `seosgw conformance run` leaves them. Only files
// the listing found are served, opened through os.Root, so no path a
// request makes up — "..", an absolute path, a symbolic link out of the
// folder — reaches another file.

type report struct {
	Path    string // relative to reports_dir, with /
	Size    int64
	ModTime time.Time
}

// maxReports bounds the listing.
const maxReports = 1000

func (c *Console) listReports() ([]report, error) {
	root, err := os.OpenRoot(c.opt.ReportsDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var out []report
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable folder is left out
		}
		if d.IsDir() {
			if p != "." && strings.Count(p, "/") >= 1 {
				return fs.SkipDir // reports_dir and one folder down
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(strings.ToLower(p), ".html") || len(out) >= maxReports {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		out = append(out, report{Path: p, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ModTime.After(out[j].ModTime) })
	return out, err
}

func (c *Console) reports(w http.ResponseWriter, r *http.Request) {
	if c.opt.ReportsDir == "" {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, "No reports folder is configured (console.reports_dir).")
		return
	}
	list, err := c.listReports()
	if err != nil {
		c.internal(w, r, err)
		return
	}
	c.render(w, r, sessionOf(r), http.StatusOK, "reports", "Conformance reports", list)
}

// errNoReport is a path the listing does not hold.
var errNoReport = errors.New("no such report")

func (c *Console) reportFile(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	if c.opt.ReportsDir == "" || !fs.ValidPath(p) || path.Clean(p) != p || !strings.HasSuffix(strings.ToLower(p), ".html") {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, "No such report.")
		return
	}
	list, err := c.listReports()
	if err != nil {
		c.internal(w, r, err)
		return
	}
	found := false
	for _, rep := range list {
		found = found || rep.Path == p
	}
	if !found {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, "No such report.")
		return
	}
	root, err := os.OpenRoot(c.opt.ReportsDir)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	defer root.Close()
	f, err := root.Open(p)
	if err != nil {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, "No such report.")
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The report's own inline styles, nothing else; sandboxed, so even a
	// report with a script could neither run it nor reach the console.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
	io.Copy(w, f)
}
