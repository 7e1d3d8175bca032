package conformance

import (
	"bytes"
	"context"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// firstScreen is the smallest screen DAEU staff read reports on (a 13"
// office laptop at 100 %), in CSS pixels.
const firstScreenWidth, firstScreenHeight = 1280, 720

// shown is what the browser says about an element of the first screen.
type shown struct {
	Found   bool    `json:"found"`
	Top     float64 `json:"top"`
	Bottom  float64 `json:"bottom"`
	Left    float64 `json:"left"`
	Right   float64 `json:"right"`
	Visible bool    `json:"visible"` // not hidden, and on top where it is drawn
	Text    string  `json:"text"`
}

// firstScreenJS measures each element against the viewport: inside it
// whole, with a size, not hidden by style, and the element itself at its
// centre (nothing drawn over it).
const firstScreenJS = `(() => {
  const out = {};
  for (const sel of ["#verdict", "#participant", "#deadline"]) {
    const el = document.querySelector(sel);
    if (!el) { out[sel] = {found: false}; continue; }
    const r = el.getBoundingClientRect();
    const st = getComputedStyle(el);
    const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    out[sel] = {found: true, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
      visible: st.visibility !== "hidden" && st.display !== "none" && r.width > 0 && r.height > 0 && !!hit && (hit === el || el.contains(hit)),
      text: el.innerText};
  }
  out.viewport = {found: true, bottom: innerHeight, right: innerWidth};
  return out;
})()`

// markColoursJS reads the colour of passed (✔) assertions inside a failing
// check and inside a passing one, text and mark.
const markColoursJS = `(() => {
  const pick = sel => { const li = document.querySelector(sel); return li ? [getComputedStyle(li).color, getComputedStyle(li, "::before").color] : null; };
  return {inFailing: pick(".check.fail li.ok"), inPassing: pick(".check.pass li.ok")};
})()`

// The HTML report, rendered by headless Chromium at the size of a small
// laptop screen, shows the verdict, the participant and the test deadline
// without scrolling, in both languages; a passed assertion inside a
// failing check is drawn like one in a passing check, not red. The
// screenshots are kept for people to look at.
func TestReportFirstScreenInChromium(t *testing.T) {
	b := extools.StartBrowser(t, firstScreenWidth, firstScreenHeight)
	artifacts := extools.ArtifactDir(t)
	for _, lang := range []Lang{Bulgarian, English} {
		t.Run(string(lang), func(t *testing.T) {
			rep := sampleReport(lang)
			dir := t.TempDir()
			if err := rep.writeFiles(dir); err != nil {
				t.Fatal(err)
			}
			b.Open(t, (&url.URL{Scheme: "file", Path: filepath.Join(dir, "report.html")}).String())

			var got map[string]shown
			b.Eval(t, firstScreenJS, &got)
			vp := got["viewport"]
			if vp.Right != firstScreenWidth || vp.Bottom != firstScreenHeight {
				t.Fatalf("viewport %+v, want %dx%d", vp, firstScreenWidth, firstScreenHeight)
			}
			want := map[string]string{
				"#verdict":     lang.verdict(Fail),
				"#participant": rep.Setup.Entry.AdministrativeBodyName,
				"#deadline":    lang.date(rep.Joining.Deadline),
			}
			for sel, text := range want {
				e := got[sel]
				switch {
				case !e.Found:
					t.Errorf("%s: no such element", sel)
				case !e.Visible || e.Top < 0 || e.Left < 0 || e.Bottom > vp.Bottom || e.Right > vp.Right:
					t.Errorf("%s is not wholly visible on the first screen: %+v", sel, e)
				case !strings.Contains(strings.ToLower(collapse(e.Text)), strings.ToLower(text)):
					t.Errorf("%s shows %q, want it to say %q", sel, e.Text, text)
				}
			}

			var colours struct {
				InFailing, InPassing []string
			}
			b.Eval(t, markColoursJS, &colours)
			if len(colours.InFailing) != 2 || len(colours.InPassing) != 2 || colours.InFailing[0] != colours.InPassing[0] || colours.InFailing[1] != colours.InPassing[1] {
				t.Errorf("a passed assertion in a failing check is drawn %v, in a passing one %v", colours.InFailing, colours.InPassing)
			}

			shot := b.Screenshot(t)
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatal(err)
			}
			if sz := img.Bounds().Size(); sz.X != firstScreenWidth || sz.Y != firstScreenHeight {
				t.Errorf("screenshot %v, want the viewport", sz)
			}
			path := filepath.Join(artifacts, "conformance-report-first-screen-"+string(lang)+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("first screen: %s", path)
		})
	}
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// report.pdf comes from Debian's Chromium printing the report's own A4
// layout: a cover page, then a page per check.
func TestReportPDF(t *testing.T) {
	extools.Require(t, ChromiumCommand)
	dir := t.TempDir()
	rep := sampleReport(Bulgarian)
	if err := rep.writeFiles(dir); err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(dir, "report.pdf")
	if err := PrintPDF(context.Background(), filepath.Join(dir, "report.html"), pdf); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page\b`).FindAll(b, -1))
	if !bytes.HasPrefix(b, []byte("%PDF-")) || pages <= len(rep.Checks) {
		t.Errorf("report.pdf: %d pages, want more than one per check (%d)", pages, len(rep.Checks))
	}
	// A4 is 595.28 × 841.89 points; Chromium rounds to its own units.
	if m := regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]`).FindSubmatch(b); m == nil ||
		!strings.HasPrefix(string(m[1]), "59") || !strings.HasPrefix(string(m[2]), "84") {
		t.Errorf("report.pdf is not A4: MediaBox %q", m)
	}
	path := filepath.Join(extools.ArtifactDir(t), "conformance-report.pdf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("printable report: %s", path)

	t.Setenv("PATH", t.TempDir())
	if err := PrintPDF(context.Background(), filepath.Join(dir, "report.html"), pdf); err == nil || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("without chromium: %v", err)
	}
}
