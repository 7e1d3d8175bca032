package conformance

import (
	"context"
	"encoding/base64"
	"github.com/seosgw/seosgw/gateway/buildinfo"
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
	if err := writeIndex(&idx, h, Bulgarian); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(idx.String(), "<script") || strings.Index(idx.String(), "b/report.html") > strings.Index(idx.String(), "a/report.html") {
		t.Error("index.html: escaped, newest first")
	}
}

// sampleReport is a failed run as a joining participant's first test
// often ends: a long name, warnings in the setup, every check recorded,
// the registration check failing on one of several assertions.
func sampleReport(l Lang) *Report {
	start := time.Date(2026, 3, 27, 8, 30, 0, 0, time.UTC) // 10:30 in Sofia (EET)
	s := &suite{lang: l, cfg: Defaults()}
	r := &Report{Tool: "seosgw conformance", RunID: "20260327-083000-1a2b3c4d", Participant: "{1a2b3c4d-1111-4111-8111-111111111111}",
		Target: "https://obshtina-testovo.obmen.local:4443/SEOS/EGovService.svc", StartedAt: start, Lang: l, TestedBy: "Мария Иванова",
		Harness: Build{Revision: "0123456789abcdef0123", Time: "2026-03-20T10:00:00Z", Go: "go1.26.8"},
		Setup: Setup{RegisterURL: "https://register.obmen.local/service/", RegisterReadAt: start, RegisterLastChange: start.Add(-26 * time.Hour),
			Entry: &register.Entity{GUID: "{1a2b3c4d-1111-4111-8111-111111111111}", Identifier: "000695089",
				AdministrativeBodyName: "Община Тестово – Дирекция „Административно-правно обслужване и деловодство“", Status: register.Inactive, CertificateSN: "4F1A2B"},
			Warnings: []string{l.pick("the participant's document-exchange service is Inactive in the register", "услугата за обмен на документи на участника е Inactive в регистъра")},
			Notes:    []string{"изпитва се https://10.1.2.3:4443/SEOS, а в регистъра е вписан https://obshtina-testovo.obmen.local:4443/SEOS"}},
		Joining: &JoiningInfo{State: "open", Status: "Inactive", AppliedOn: "2026-03-20", CertIssuedOn: "2026-03-23", Deadline: "2026-04-14", WorkingDaysLeft: ptr(11)},
		Files:   map[string]string{"json": "r/report.json", "html": "r/report.html", "pdf": "r/report.pdf"},
	}
	for i, name := range CheckNames {
		c := &Check{Name: name, Title: s.title(name), Verdict: Pass, StartedAt: start.Add(time.Duration(i) * time.Second), DurationMS: int64(40 * (i + 1)),
			Assertions: []Assertion{{OK: true, Text: l.pick("a SubmitResponse carrying a schema-valid SEOS message", "SubmitResponse със СЕОС съобщение, валидно по схемата"), Got: "HTTP 200"}}}
		switch name {
		case CheckRegistration:
			bad := Assertion{OK: false, Text: l.pick("the reply carries a valid message signature (enveloped, C14N 1.0)", "отговорът носи валиден подпис на съобщението (enveloped, C14N 1.0)"),
				Got: "xmldsig: the message has no Signature"}
			c.Assertions = append(c.Assertions, bad, Assertion{OK: true, Text: "DocRegStatus е DS_WAIT_REGISTRATION", Got: "DS_WAIT_REGISTRATION"})
			c.Verdict, c.Reason = Fail, l.failReason(&bad)
			c.Warnings = []string{"DocumentRegistrationRequest: отговорът дойде след 41.0 с, по-бавно от 30.0 с (timeouts.slow_reply)"}
			c.Exchanges = []*Exchange{{Label: "DocumentRegistrationRequest", Direction: "към участника", Method: "POST", URL: r.Target, At: start, DurationMS: 41000,
				Sent: "<Message>…</Message>", SentBytes: 4096, HTTPStatus: 200, Received: "<Message>…</Message>", ReceivedBytes: 2048}}
		case CheckMalformedXML:
			c.Notes = []string{"ErrorDescription: Неуспешен – Грешка при подателя. Съобщението не е валиден XML документ."}
		case CheckAsyncStatus, CheckAsyncDocument:
			c.Verdict, c.Reason, c.Assertions = Skip, l.pick("skipped on request (--skip)", "пропусната по искане (--skip)"), nil
		}
		r.Checks = append(r.Checks, c)
	}
	r.finish(start.Add(3 * time.Minute))
	return r
}

func TestReportSummaryCountsWarningsAndNotes(t *testing.T) {
	r := sampleReport(Bulgarian)
	want := Summary{Pass: 15, Fail: 1, Skip: 2, Warnings: 2, Notes: 2}
	if r.Summary != want || r.Verdict != Fail {
		t.Errorf("summary %+v (%s), want %+v", r.Summary, r.Verdict, want)
	}
}

// The report is written for the people who file it: in Bulgarian unless
// asked otherwise, times in Sofia, the harness's build, the register
// snapshot, a sign-off block, reasons as "expected … / got …", and no
// markdown.
func TestHTMLReportLanguages(t *testing.T) {
	for _, tc := range []struct {
		lang Lang
		want []string
	}{
		{Bulgarian, []string{`<html lang="bg">`, "Протокол от изпитване за съответствие", "неуспешно", "очаквано: отговорът носи валиден подпис на съобщението (enveloped, C14N 1.0) / получено: xmldsig: the message has no Signature",
			"27.03.2026 10:30:00 EET", "14.04.2026 г.", "остават работни дни: 11", "Изпитването проведе", "Мария Иванова", "Подпис", "Решение", "последна промяна в регистъра 26.03.2026 08:30:00 EET",
			"къмит 0123456789ab", "go1.26.8", "предупреждения: 2", "бележки: 2", "@page", "size: A4", "break-before: page"}},
		{English, []string{`<html lang="en">`, "Conformance test of a joining participant", "failed", "expected: the reply carries a valid message signature (enveloped, C14N 1.0) / got: xmldsig: the message has no Signature",
			"2026-03-27 10:30:00 EET", "2026-04-14", "working days left: 11", "Tested by", "Signature", "Decision", "commit 0123456789ab",
			"Obshtina Testovo – Direktsia „Administrativno-pravno obsluzhvane i delovodstvo“"}},
	} {
		var b strings.Builder
		if err := writeHTML(&b, sampleReport(tc.lang)); err != nil {
			t.Fatal(err)
		}
		html := b.String()
		for _, w := range tc.want {
			if !strings.Contains(html, w) {
				t.Errorf("%s: report.html lacks %q", tc.lang, w)
			}
		}
		if strings.Contains(html, "`") {
			t.Errorf("%s: report.html has a markdown backtick near %q", tc.lang, html[max(0, strings.Index(html, "`")-60):strings.Index(html, "`")+1])
		}
		if strings.Contains(html, "%!") {
			t.Errorf("%s: a formatting mistake: %q", tc.lang, html[strings.Index(html, "%!")-40:strings.Index(html, "%!")+20])
		}
	}
}

func TestFailReason(t *testing.T) {
	a := &Assertion{Text: "DocRegStatus е DS_NOT_FOUND", Got: "DS_CLOSED"}
	if got := Bulgarian.failReason(a); got != "очаквано: DocRegStatus е DS_NOT_FOUND / получено: DS_CLOSED" {
		t.Error(got)
	}
	if got := English.failReason(&Assertion{Text: "an answer"}); got != "expected: an answer" {
		t.Error(got)
	}
}

// A slow answer is a warning, one past the client's timeout a failure,
// whether the client gave up or the answer came late.
func TestClassifyTiming(t *testing.T) {
	slowAfter, timeout := 30*time.Second, 2*time.Minute
	for _, tc := range []struct {
		took     time.Duration
		timedOut bool
		want     timing
	}{
		{0, false, onTime},
		{30 * time.Second, false, onTime},
		{30*time.Second + time.Millisecond, false, slow},
		{2 * time.Minute, false, slow},
		{2*time.Minute + time.Millisecond, false, late},
		{time.Second, true, late},
	} {
		if got := classifyTiming(tc.took, tc.timedOut, slowAfter, timeout); got != tc.want {
			t.Errorf("%s (timed out %v): %d, want %d", tc.took, tc.timedOut, got, tc.want)
		}
	}
}

func TestBuildOf(t *testing.T) {
	dev := buildinfo.Info{Version: "devel", Revision: "f0c967c1234567890abc", Date: "2026-11-30T10:00:00Z", GoVersion: "go1.26.8", Modified: true}
	if got := BuildOf(dev).Text(English); got != "development build, commit f0c967c12345 with uncommitted changes (2026-11-30T10:00:00Z), go1.26.8" {
		t.Error(got)
	}
	rel := dev
	rel.Version = "v1.2.0"
	if got := BuildOf(rel).Text(Bulgarian); !strings.HasPrefix(got, "v1.2.0, къмит f0c967c12345") {
		t.Error(got)
	}
	none := buildinfo.Info{Version: "devel", Revision: "unknown", Date: "unknown", GoVersion: "unknown"}
	if got := BuildOf(none).Text(Bulgarian); got != "версия за разработка" {
		t.Error(got)
	}
}

func TestLangFormats(t *testing.T) {
	summer := time.Date(2026, 7, 1, 21, 30, 0, 0, time.UTC) // 00:30 the next day in Sofia
	if got := Bulgarian.when(summer); got != "02.07.2026 00:30:00 EEST" {
		t.Error(got)
	}
	if got := English.duration(125 * time.Second); got != "2 min 5 s" {
		t.Error(got)
	}
	if _, err := ParseLang("de"); err == nil {
		t.Error("de accepted")
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
