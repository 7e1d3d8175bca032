package conformance

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seosgw/seosgw/register"
)

func TestElide(t *testing.T) {
	att := base64.StdEncoding.EncodeToString(make([]byte, 3<<20))
	cert := strings.Repeat("MIIC", 300) // a KeyInfo certificate stays readable
	msg := "<AttBody>" + att + "</AttBody><X509Certificate>" + cert + "</X509Certificate><Comment>текст</Comment>"
	got := Elide([]byte(msg))
	if len(got) > 2000 || !strings.Contains(got, att[:elideKeep]+"…[") || !strings.Contains(got, "base64 characters elided") {
		t.Errorf("attachment not elided: %d bytes", len(got))
	}
	if !strings.Contains(got, cert) || !strings.Contains(got, "<Comment>текст</Comment>") {
		t.Error("Elide changed what it should keep")
	}
	long := strings.Repeat("<a>б</a> ", maxBodyText)
	if got := Elide([]byte(long)); len(got) > maxBodyText+100 || !strings.Contains(got, "truncated") || !utf8.ValidString(got) {
		t.Errorf("a long body is capped (%d bytes)", len(got))
	}
}

func FuzzElide(f *testing.F) {
	f.Add([]byte("<a>" + strings.Repeat("QUJD", 2000) + "</a>"))
	f.Add([]byte("\xff\xfe<b>текст</b>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Elide(b)
		if !utf8.ValidString(got) {
			t.Error("not UTF-8")
		}
		if len(b) <= elideRun && utf8.Valid(b) && got != string(b) {
			t.Errorf("short valid text changed: %q -> %q", b, got)
		}
	})
}

// The HTML report escapes whatever the participant sent and needs nothing
// from outside the file.
func TestHTMLReportIsSelfContainedAndEscaped(t *testing.T) {
	evil := `<script>alert("x")</script><img src="https://evil.example/x.png">`
	r := &Report{RunID: "run-1", Participant: "{11111111-1111-4111-8111-111111111111}", StartedAt: time.Now(), Target: "https://p.obmen.local/seos",
		Setup: Setup{Entry: &register.Entity{GUID: "{11111111-1111-4111-8111-111111111111}", AdministrativeBodyName: evil}},
		Checks: []*Check{{Name: CheckRegistration, Title: "t", Verdict: Fail, Reason: evil, Assertions: []Assertion{{OK: false, Text: evil}},
			Notes: []string{evil}, Exchanges: []*Exchange{{Label: "x", Sent: evil, Received: evil, Error: evil}}}}}
	r.finish(time.Now())
	var b strings.Builder
	if err := writeHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"<script", "<img", "<link", "href=\"http", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;") || !strings.Contains(html, "registration") {
		t.Error("the participant's text should appear escaped")
	}
	if r.Verdict != Fail || r.Verdict.ExitCode() != 1 {
		t.Errorf("verdict %s", r.Verdict)
	}
	var idx strings.Builder
	h := &History{Runs: []HistoryEntry{{RunID: "a", Verdict: Pass, Report: "a/report.html"}, {RunID: "b", Verdict: Fail, Failed: []string{evil}, Report: "b/report.html"}}}
	if err := writeIndex(&idx, h); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(idx.String(), "<script") || strings.Index(idx.String(), "b/report.html") > strings.Index(idx.String(), "a/report.html") {
		t.Error("index.html: escaped, newest first")
	}
}

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		checks []Verdict
		err    string
		want   Verdict
		code   int
	}{
		{[]Verdict{Pass, Pass}, "", Pass, 0},
		{[]Verdict{Pass, Fail, Skip}, "", Fail, 1},
		{[]Verdict{Pass, Skip}, "", Incomplete, 3},
		{[]Verdict{Skip}, "register down", Error, 2},
	} {
		r := &Report{Error: tc.err}
		for _, v := range tc.checks {
			r.Checks = append(r.Checks, &Check{Verdict: v})
		}
		r.finish(time.Now())
		if r.Verdict != tc.want || r.Verdict.ExitCode() != tc.code {
			t.Errorf("%v %q: %s (exit %d), want %s (exit %d)", tc.checks, tc.err, r.Verdict, r.Verdict.ExitCode(), tc.want, tc.code)
		}
	}
}

func TestSchedule(t *testing.T) {
	var runs []time.Time
	start := time.Now()
	every := 40 * time.Millisecond
	rep, err := schedule(context.Background(), systemClock{}, every, start.Add(100*time.Millisecond), func(context.Context) (*Report, error) {
		runs = append(runs, time.Now())
		return &Report{RunID: time.Now().String(), Verdict: Pass}, nil
	}, nil)
	if err != nil || rep == nil {
		t.Fatal(err)
	}
	if len(runs) != 3 { // at 0, 40 and 80 ms; 120 ms is past --until
		t.Errorf("%d runs, want 3", len(runs))
	}
	for i := 1; i < len(runs); i++ {
		if d := runs[i].Sub(runs[i-1]); d < every-5*time.Millisecond {
			t.Errorf("runs %d and %d only %s apart", i-1, i, d)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	schedule(ctx, systemClock{}, time.Hour, time.Now().Add(24*time.Hour), func(context.Context) (*Report, error) {
		n++
		cancel()
		return &Report{}, nil
	}, nil)
	if n != 1 {
		t.Errorf("a cancelled schedule ran %d times", n)
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func TestParseUntil(t *testing.T) {
	u, err := ParseUntil("2026-12-15")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Format("2006-01-02 15:04 MST"); got != "2026-12-16 00:00 EET" {
		t.Errorf("a date means until the end of that Bulgarian day: %s", got)
	}
	if _, err := ParseUntil("2026-12-15T10:00:00+02:00"); err != nil {
		t.Error(err)
	}
	if _, err := ParseUntil("next week"); err == nil {
		t.Error("nonsense accepted")
	}
}
