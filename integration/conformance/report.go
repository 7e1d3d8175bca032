package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seosgw/seosgw/register"
)

// Verdict is a check's outcome.
type Verdict string

const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
	Skip Verdict = "skip"
)

// Overall verdicts of a run besides Pass and Fail.
const (
	// Incomplete: nothing failed, but checks were skipped; not a passing result.
	Incomplete Verdict = "incomplete"
	// Error: the harness could not test (configuration, register, its own
	// listener); says nothing about the participant and is never recorded.
	Error Verdict = "error"
)

// Report is one run of the suite against one participant.
type Report struct {
	Tool        string    `json:"tool"`
	RunID       string    `json:"runId"`
	Participant string    `json:"participant"` // GUID under test
	Target      string    `json:"target"`      // the URL the checks were sent to
	StartedAt   time.Time `json:"startedAt"`
	FinishedAt  time.Time `json:"finishedAt"`
	DurationMS  int64     `json:"durationMs"`
	Verdict     Verdict   `json:"verdict"`
	// Lang is the language of the report's texts (assertions, notes, the HTML).
	Lang Lang `json:"lang"`
	// Harness is the build of the harness that made the report.
	Harness Build `json:"harness"`
	// TestedBy is the DAEU official who ran the test, for the sign-off block.
	TestedBy string `json:"testedBy,omitempty"`
	// Error says why a run ended with the Error verdict.
	Error   string   `json:"error,omitempty"`
	Summary Summary  `json:"summary"`
	Setup   Setup    `json:"setup"`
	Checks  []*Check `json:"checks"`
	// Joining is the participant's joining case when a test register is configured.
	Joining *JoiningInfo `json:"joining,omitempty"`
	// Recorded says whether and how the verdict went onto the joining case.
	Recorded string `json:"recorded,omitempty"`
	// Files of this run, relative to the report folder.
	Files map[string]string `json:"files,omitempty"`
}

// Summary counts checks by verdict, and the warnings and notes of the run
// (the setup's and every check's).
type Summary struct {
	Pass     int `json:"pass"`
	Fail     int `json:"fail"`
	Skip     int `json:"skip"`
	Warnings int `json:"warnings"`
	Notes    int `json:"notes"`
}

// Setup is what the harness worked with: the register entries it used and
// its own identities.
type Setup struct {
	RegisterURL string `json:"registerUrl"`
	// RegisterReadAt is when the harness read the participant's entry (the
	// register snapshot the run rests on); RegisterLastChange is the
	// LastChange the register reported with it.
	RegisterReadAt     time.Time `json:"registerReadAt"`
	RegisterLastChange time.Time `json:"registerLastChange"`
	// Entry is the participant's register entry, as GetByGuid returned it.
	Entry *register.Entity `json:"entry,omitempty"`
	// RegisteredURL is the document-exchange service URI of Entry.
	RegisteredURL string `json:"registeredUrl,omitempty"`
	// TestParticipant and Inactive are the harness's own entries.
	TestParticipant *register.Entity `json:"testParticipant,omitempty"`
	Inactive        *register.Entity `json:"inactiveParticipant,omitempty"`
	HarnessSerial   string           `json:"harnessSerial,omitempty"`
	InactiveSerial  string           `json:"inactiveSerial,omitempty"`
	WrongCertSerial string           `json:"wrongCertificateSerial,omitempty"`
	ListenURL       string           `json:"listenUrl,omitempty"`
	SchemaValidator string           `json:"schemaValidator,omitempty"`
	// Warnings looked wrong in the register without stopping the run;
	// Notes are plain observations.
	Warnings []string `json:"warnings,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// JoiningInfo is the case the run belongs to.
type JoiningInfo struct {
	State           string `json:"state"`
	Status          string `json:"status"`
	AppliedOn       string `json:"appliedOn"`
	CertIssuedOn    string `json:"certIssuedOn,omitempty"`
	Deadline        string `json:"deadline,omitempty"`
	WorkingDaysLeft *int   `json:"workingDaysLeft,omitempty"`
}

// Check is one named check of the suite.
type Check struct {
	Name  string `json:"name"`
	Title string `json:"title"` // what it asserts, one line
	// Verdict is fail when any assertion failed, skip with Reason when it
	// did not run. A failed check's Reason is its first failed assertion,
	// "expected … / got …".
	Verdict    Verdict     `json:"verdict"`
	Reason     string      `json:"reason,omitempty"`
	Assertions []Assertion `json:"assertions"`
	// Warnings looked wrong but do not fail the check (a slow reply, a
	// certificate close to expiry); Notes are harmless observations (the
	// ErrorDescription a refusal carried).
	Warnings   []string    `json:"warnings,omitempty"`
	Notes      []string    `json:"notes,omitempty"`
	Exchanges  []*Exchange `json:"exchanges"`
	StartedAt  time.Time   `json:"startedAt"`
	DurationMS int64       `json:"durationMs"`
}

// Assertion is one thing a check asserted and whether it held: Text says
// what was expected, Got what the participant did.
type Assertion struct {
	OK   bool   `json:"ok"`
	Text string `json:"text"`
	Got  string `json:"got,omitempty"`
}

// Exchange is one request to the participant (or from it, for the
// asynchronous checks) and its answer. Bodies are kept as text with long
// base64 runs (attachments) elided.
type Exchange struct {
	Label      string    `json:"label"`
	Direction  string    `json:"direction"` // "to participant" or "from participant"
	Method     string    `json:"method,omitempty"`
	URL        string    `json:"url,omitempty"`
	SOAPAction string    `json:"soapAction,omitempty"`
	As         string    `json:"as,omitempty"` // TLS client identity used
	At         time.Time `json:"at"`
	DurationMS int64     `json:"durationMs"`
	// Sent is the SEOS message (or other body) sent; SentBytes its full size.
	Sent      string `json:"sent,omitempty"`
	SentBytes int    `json:"sentBytes"`
	// HTTPStatus and Received describe the answer: the SEOS message carried
	// in SubmitResult, else the whole HTTP body.
	HTTPStatus    int    `json:"httpStatus,omitempty"`
	Received      string `json:"received,omitempty"`
	ReceivedBytes int    `json:"receivedBytes"`
	Error         string `json:"error,omitempty"`
}

func (r *Report) finish(now time.Time) {
	r.FinishedAt = now
	r.DurationMS = now.Sub(r.StartedAt).Milliseconds()
	r.Summary = Summary{Warnings: len(r.Setup.Warnings), Notes: len(r.Setup.Notes)}
	for _, c := range r.Checks {
		r.Summary.Warnings += len(c.Warnings)
		r.Summary.Notes += len(c.Notes)
		switch c.Verdict {
		case Pass:
			r.Summary.Pass++
		case Fail:
			r.Summary.Fail++
		case Skip:
			r.Summary.Skip++
		}
	}
	switch {
	case r.Error != "":
		r.Verdict = Error
	case r.Summary.Fail > 0:
		r.Verdict = Fail
	case r.Summary.Skip > 0:
		r.Verdict = Incomplete
	default:
		r.Verdict = Pass
	}
}

// Failed lists the names of failed checks.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Verdict == Fail {
			out = append(out, c.Name)
		}
	}
	return out
}

// Check returns the named check, or nil.
func (r *Report) Check(name string) *Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ExitCode is the command's exit status for the verdict: 0 pass, 1 fail,
// 2 the harness could not test, 3 incomplete (checks skipped).
func (v Verdict) ExitCode() int {
	switch v {
	case Pass:
		return 0
	case Fail:
		return 1
	case Incomplete:
		return 3
	}
	return 2
}

// writeFiles writes report.json and report.html into dir.
func (r *Report) writeFiles(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, "report.json"), append(b, '\n')); err != nil {
		return err
	}
	var h strings.Builder
	if err := writeHTML(&h, r); err != nil {
		return fmt.Errorf("report: HTML: %w", err)
	}
	return writeAtomic(filepath.Join(dir, "report.html"), []byte(h.String()))
}

// ReadReport reads a report.json.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Elision of bodies kept in reports.
const (
	// elideRun is the shortest base64 run that is elided: longer than a
	// certificate in KeyInfo (which people want to see), shorter than any
	// attachment worth eliding.
	elideRun = 4096
	// elideKeep is how much of an elided run stays, to recognise the file.
	elideKeep = 64
	// maxBodyText bounds a body kept in a report after elision.
	maxBodyText = 512 << 10
)

// Elide shortens base64 runs longer than elideRun to a short prefix and
// their size, and caps the text at maxBodyText, so a report of an 8 MiB
// exchange stays readable.
func Elide(b []byte) string {
	var out strings.Builder
	i := 0
	for i < len(b) {
		if !isB64(b[i]) {
			out.WriteByte(b[i])
			i++
			continue
		}
		j := i
		for j < len(b) && isB64(b[j]) {
			j++
		}
		if n := j - i; n > elideRun {
			fmt.Fprintf(&out, "%s…[%d base64 characters elided, about %d bytes]…", b[i:i+elideKeep], n, n/4*3)
		} else {
			out.Write(b[i:j])
		}
		i = j
		if out.Len() > maxBodyText {
			break
		}
	}
	s := out.String()
	if len(s) > maxBodyText || i < len(b) {
		s = strings.ToValidUTF8(s[:min(len(s), maxBodyText)], "") + fmt.Sprintf("…[truncated; %d bytes in all]", len(b))
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func isB64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}
