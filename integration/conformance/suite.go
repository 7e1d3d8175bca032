package conformance

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/textsafe"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

// Names of the checks, in the order they run.
const (
	CheckTLS               = "tls"
	CheckSOAPBinding       = "soap-binding"
	CheckWSDL              = "wsdl"
	CheckRegistration      = "registration"
	CheckDuplicateDocument = "duplicate-document"
	CheckDuplicateMessage  = "duplicate-message"
	CheckStatusRequest     = "status-request"
	CheckStatusUnknown     = "status-unknown"
	CheckMalformedXML      = "malformed-xml"
	CheckSchemaInvalid     = "schema-invalid"
	CheckUnsigned          = "unsigned"
	CheckTampered          = "tampered"
	CheckWrongCertificate  = "wrong-certificate"
	CheckInactiveSender    = "inactive-sender"
	CheckWrongRecipient    = "wrong-recipient"
	CheckLargeAttachment   = "large-attachment"
	CheckAsyncStatus       = "async-status"
	CheckAsyncDocument     = "async-document"
)

// CheckNames lists every check in run order.
var CheckNames = []string{CheckTLS, CheckSOAPBinding, CheckWSDL, CheckRegistration, CheckDuplicateDocument, CheckDuplicateMessage,
	CheckStatusRequest, CheckStatusUnknown, CheckMalformedXML, CheckSchemaInvalid, CheckUnsigned, CheckTampered, CheckWrongCertificate,
	CheckInactiveSender, CheckWrongRecipient, CheckLargeAttachment, CheckAsyncStatus, CheckAsyncDocument}

// AsyncChecks need the harness's listener and the participant's operator.
var AsyncChecks = []string{CheckAsyncStatus, CheckAsyncDocument}

// Options of one run.
type Options struct {
	Config      *Config
	Participant string // register GUID of the participant under test (required)
	// Target is the URL the checks are sent to; "" means the document-exchange
	// service URI the register lists for the participant.
	Target    string
	ReportDir string   // "" means Config.ReportDir
	Skip      []string // check names not to run (their verdict is skip)
	// Record puts the run's verdict on the participant's joining case in the
	// test register (as does Config.Joining.Record).
	Record bool
	// Lang is the report's language; "" means Config.Language.
	Lang Lang
	// PDF also prints report.pdf with Debian's chromium (FindChromium).
	PDF bool
	// TestedBy names the DAEU official for the report's sign-off block.
	TestedBy string
	// Build is the binary running the harness, named in the report.
	Build Build
	// Out gets progress lines and what the operator should do meanwhile.
	Out   io.Writer
	Clock clock.Clock
}

// ValidateSkip checks skip names.
func ValidateSkip(names []string) error {
	for _, n := range names {
		if !slices.Contains(CheckNames, n) {
			return fmt.Errorf("unknown check %q; the checks are %s", n, strings.Join(CheckNames, ", "))
		}
	}
	return nil
}

// suite is one run in progress.
type suite struct {
	cfg *Config
	opt Options
	clk clock.Clock
	out io.Writer
	log *slog.Logger
	// logFile is harness.log in the run's folder: the listener's and the
	// harness's own log lines.
	logFile *os.File
	rep     *Report
	lang    Lang
	runID   string
	dir     string // this run's folder

	roots                      *x509.CertPool
	harness, inactive, wrongID *pki.Identity
	wrongIsInactive            bool
	self, inactiveEntity       seos.Entity
	target                     *register.Entity
	targetEntity               seos.Entity // the participant as headers name it
	targetURL                  string
	registeredURL              string
	serverName                 string // TLS name the participant's certificate must carry
	// tlsProblem says why the participant's server cannot be trusted, once
	// the tls check found so; the checks that talk to it are then skipped.
	tlsProblem string

	validator *schemaValidator
	clients   sync.Map // *pki.Identity -> *http.Client
	listener  *listener
	docSeq    int

	// reg is the registration check's document once the participant accepted it.
	reg *sentDocument
	// regUnreadable says why the reply to it could not be read, when so.
	regUnreadable string
	// regOutboxID is its row in the listener's outbox (for async-status).
	regOutboxID int64
}

// sentDocument is a registration request the harness sent.
type sentDocument struct {
	msg      *seos.Message
	signed   []byte
	docGUID  string
	accepted bool
}

// Run performs one run of the suite against the participant, writes the
// report into a new folder under the report folder, and updates the run
// history there. The report is never nil; the error is for a report that
// could not be written.
func Run(ctx context.Context, opt Options) (*Report, error) {
	s, err := newSuite(opt)
	if err != nil {
		return nil, err
	}
	defer s.logFile.Close()
	s.run(ctx)
	return s.rep, s.writeReport(ctx)
}

func newSuite(opt Options) (*suite, error) {
	if opt.Config == nil {
		return nil, errors.New("conformance: no configuration")
	}
	if opt.Clock == nil {
		opt.Clock = clock.System
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if opt.ReportDir == "" {
		opt.ReportDir = opt.Config.Path(opt.Config.ReportDir)
	}
	if err := ValidateSkip(opt.Skip); err != nil {
		return nil, err
	}
	if opt.Lang == "" {
		opt.Lang = opt.Config.Language
	}
	lang, err := ParseLang(string(opt.Lang))
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	if opt.PDF {
		if _, err := FindChromium(); err != nil {
			return nil, fmt.Errorf("conformance: --pdf: %w", err)
		}
	}
	s := &suite{cfg: opt.Config, opt: opt, clk: opt.Clock, out: opt.Out, lang: lang}
	now := s.clk.Now()
	s.runID = newRunID(opt.ReportDir, now, opt.Participant)
	s.dir = filepath.Join(opt.ReportDir, s.runID)
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("conformance: report folder: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, "harness.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	s.logFile, s.log = logFile, slog.New(slog.NewJSONHandler(logFile, nil))
	s.rep = &Report{Tool: "seosgw conformance", RunID: s.runID, Participant: opt.Participant, StartedAt: now, Lang: lang,
		Harness: opt.Build, TestedBy: strings.TrimSpace(opt.TestedBy),
		Files: map[string]string{"json": s.runID + "/report.json", "html": s.runID + "/report.html", "log": s.runID + "/harness.log"}}
	if opt.PDF {
		s.rep.Files["pdf"] = s.runID + "/report.pdf"
	}
	return s, nil
}

// newRunID names a run's folder: its start time and the participant, unique
// within the report folder.
func newRunID(dir string, now time.Time, participant string) string {
	short := strings.Trim(strings.ToLower(participant), "{}")
	if i := strings.IndexByte(short, '-'); i > 0 {
		short = short[:i]
	}
	base := now.UTC().Format("20060102-150405") + "-" + short
	id := base
	for n := 2; ; n++ {
		if _, err := os.Stat(filepath.Join(dir, id)); errors.Is(err, os.ErrNotExist) {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// say prints progress; its arguments name what the participant and the
// register sent, so the line goes through the sanitiser.
func (s *suite) say(format string, args ...any) {
	fmt.Fprintln(s.out, textsafe.Text(fmt.Sprintf(format, args...)))
}

func (s *suite) skipped(name string) bool { return slices.Contains(s.opt.Skip, name) }

func (s *suite) asyncWanted() bool {
	return !s.skipped(CheckAsyncStatus) || !s.skipped(CheckAsyncDocument)
}

func (s *suite) run(ctx context.Context) {
	defer func() { s.rep.finish(s.clk.Now()) }()
	defer s.closeClients()
	defer func() {
		if s.validator != nil {
			s.validator.close()
		}
	}()
	if err := s.setup(ctx); err != nil {
		s.rep.Error = err.Error()
		s.say("conformance: cannot test: %v", err)
		s.log.Error("setup failed", "error", err)
		for _, name := range CheckNames {
			c := s.newCheck(name)
			c.skip(s.lang.pick("not run: the harness could not test", "не е изпълнена: изпитващата система не можа да проведе изпитването"))
		}
		return
	}
	if s.listener != nil {
		defer s.listener.close()
	}
	s.say("Testing %s %s at %s (run %s)", s.target.AdministrativeBodyName, s.target.GUID, s.targetURL, s.runID)
	steps := []struct {
		name string
		run  func(context.Context, *checkCtx)
	}{
		{CheckTLS, s.checkTLS},
		{CheckSOAPBinding, s.checkSOAPBinding},
		{CheckWSDL, s.checkWSDL},
		{CheckRegistration, s.checkRegistration},
		{CheckDuplicateDocument, s.checkDuplicateDocument},
		{CheckDuplicateMessage, s.checkDuplicateMessage},
		{CheckStatusRequest, s.checkStatusRequest},
		{CheckStatusUnknown, s.checkStatusUnknown},
		{CheckMalformedXML, s.checkMalformed},
		{CheckSchemaInvalid, s.checkSchemaInvalid},
		{CheckUnsigned, s.checkUnsigned},
		{CheckTampered, s.checkTampered},
		{CheckWrongCertificate, s.checkWrongCertificate},
		{CheckInactiveSender, s.checkInactiveSender},
		{CheckWrongRecipient, s.checkWrongRecipient},
		{CheckLargeAttachment, s.checkLargeAttachment},
	}
	for i, st := range steps {
		c := s.newCheck(st.name)
		switch {
		case s.skipped(st.name) || ctx.Err() != nil:
		case st.name != CheckTLS && s.tlsProblem != "":
			c.skip(s.needsTLS())
		default:
			st.run(ctx, c)
		}
		s.finishCheck(c, i+1)
	}
	s.runAsync(ctx, len(steps))
	if ctx.Err() != nil {
		// An interrupted run says nothing about the participant.
		s.rep.Error = s.lang.pick("interrupted before the suite finished", "прекъснато преди края на изпитването")
	}
}

// needsTLS is why a check that talks to the participant did not run.
func (s *suite) needsTLS() string {
	return s.lang.pick("needs tls: %s", "нужна е проверката tls: %s", s.tlsProblem)
}

// newCheck starts a check's record.
func (s *suite) newCheck(name string) *checkCtx {
	c := &checkCtx{s: s, Check: &Check{Name: name, Title: s.title(name), StartedAt: s.clk.Now(), Assertions: []Assertion{}, Exchanges: []*Exchange{}}}
	s.rep.Checks = append(s.rep.Checks, c.Check)
	return c
}

// finishCheck sets the verdict and prints the progress line.
func (s *suite) finishCheck(c *checkCtx, n int) {
	c.DurationMS = s.clk.Now().Sub(c.StartedAt).Milliseconds()
	switch {
	case s.skipped(c.Name):
		c.skip(s.lang.pick("skipped on request (--skip)", "пропусната по искане (--skip)"))
	case c.Verdict == Skip:
	case c.failed() != nil:
		c.Verdict, c.Reason = Fail, s.lang.failReason(c.failed())
	case len(c.Assertions) == 0:
		c.skip(s.lang.pick("did not run (interrupted)", "не е изпълнена (прекъсване)"))
	default:
		c.Verdict = Pass
	}
	line := fmt.Sprintf("[%2d/%d] %-19s %-4s %6d ms", n, len(CheckNames), c.Name, c.Verdict, c.DurationMS)
	if c.Reason != "" {
		line += "  " + c.Reason
	}
	s.say("%s", line)
	s.log.Info("check", "name", c.Name, "verdict", string(c.Verdict), "reason", c.Reason, "duration_ms", c.DurationMS)
}

// setup loads the identities, looks the participant and the harness up in
// the register and starts the listener. Its errors are the harness's, not
// the participant's.
func (s *suite) setup(ctx context.Context) error {
	cfg := s.cfg
	if !seos.IsGUID(s.opt.Participant) {
		return fmt.Errorf("--participant %q is not a register GUID in braces", s.opt.Participant)
	}
	cas, err := pki.LoadCertificates(cfg.Path(cfg.CA))
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	s.roots = pki.CertPool(cas)
	if s.harness, err = pki.LoadIdentity(cfg.Path(cfg.TestParticipant.Cert), cfg.Path(cfg.TestParticipant.Key)); err != nil {
		return fmt.Errorf("test_participant.cert/key: %w", err)
	}
	if s.inactive, err = pki.LoadIdentity(cfg.Path(cfg.Inactive.Cert), cfg.Path(cfg.Inactive.Key)); err != nil {
		return fmt.Errorf("inactive_participant.cert/key: %w", err)
	}
	s.wrongID, s.wrongIsInactive = s.inactive, true
	if cfg.WrongCertificate.Cert != "" {
		if s.wrongID, err = pki.LoadIdentity(cfg.Path(cfg.WrongCertificate.Cert), cfg.Path(cfg.WrongCertificate.Key)); err != nil {
			return fmt.Errorf("wrong_certificate.cert/key: %w", err)
		}
		s.wrongIsInactive = false
	}
	if pki.SerialHex(s.wrongID.Cert) == pki.SerialHex(s.harness.Cert) {
		return errors.New("wrong_certificate is the test participant's own certificate; give another DAEU-issued one")
	}
	s.self, s.inactiveEntity = cfg.TestParticipant.Entity(), cfg.Inactive.Entity()
	setup := &s.rep.Setup
	setup.RegisterURL, setup.ListenURL = cfg.Register.URL, cfg.Listen.PublicURL
	setup.HarnessSerial, setup.InactiveSerial, setup.WrongCertSerial = pki.SerialHex(s.harness.Cert), pki.SerialHex(s.inactive.Cert), pki.SerialHex(s.wrongID.Cert)
	for _, id := range []*pki.Identity{s.harness, s.inactive, s.wrongID} {
		if now := s.clk.Now(); now.After(id.Cert.NotAfter) || now.Before(id.Cert.NotBefore) {
			return fmt.Errorf("the harness's certificate %s (serial %s) is not valid now (%s to %s; clock skew?)",
				id.Cert.Subject.CommonName, pki.SerialHex(id.Cert), id.Cert.NotBefore.UTC().Format(time.RFC3339), id.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
	}

	if err := s.lookUp(ctx); err != nil {
		return err
	}
	if s.validator, setup.SchemaValidator, err = newSchemaValidator(cfg.SchemaValidator); err != nil {
		return fmt.Errorf("schema_validator: %w", err)
	}
	if err := s.readJoining(ctx); err != nil {
		return err
	}
	if s.asyncWanted() {
		if err := s.startListener(ctx); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	return nil
}

// lookUp reads the register: the participant's entry (its certificate
// serial, endpoint and status), and the harness's own two entries, which
// must be as the checks assume or every result would be misleading.
func (s *suite) lookUp(ctx context.Context) error {
	cfg := s.cfg
	client, err := daeu.NewClient(daeu.Options{URL: cfg.Register.URL, Identity: s.harness, RootCAs: s.roots,
		Timeout: cfg.Register.Timeout.D(), Log: s.log})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	defer client.CloseIdleConnections()
	get := func(guid, what string) (*register.Entity, error) {
		l, err := client.GetByGuid(ctx, guid)
		if err != nil {
			return nil, fmt.Errorf("register %s: GetByGuid(%s) for %s: %w", cfg.Register.URL, guid, what, err)
		}
		for i := range l.Entities {
			if seos.EqualGUID(l.Entities[i].GUID, guid) {
				return &l.Entities[i], nil
			}
		}
		return nil, fmt.Errorf("register %s does not list %s %s", cfg.Register.URL, what, guid)
	}
	setup := &s.rep.Setup
	l := s.lang
	l0, err := client.GetByGuid(ctx, s.opt.Participant)
	if err != nil {
		return fmt.Errorf("register %s: GetByGuid(%s) for the participant under test: %w", cfg.Register.URL, s.opt.Participant, err)
	}
	// The register snapshot the run rests on: when it was read, and the
	// register's own LastChange at that moment.
	setup.RegisterReadAt, setup.RegisterLastChange = s.clk.Now(), l0.LastChange
	for i := range l0.Entities {
		if seos.EqualGUID(l0.Entities[i].GUID, s.opt.Participant) {
			s.target = &l0.Entities[i]
		}
	}
	if s.target == nil {
		return fmt.Errorf("register %s does not list the participant under test %s", cfg.Register.URL, s.opt.Participant)
	}
	setup.Entry = s.target
	s.targetEntity = s.target.Node()
	if svc := s.target.ExchangeService(); svc != nil {
		s.registeredURL = strings.TrimSpace(svc.URI)
		if svc.Status != register.Active {
			setup.Warnings = append(setup.Warnings, l.pick("the participant's document-exchange service is %s in the register",
				"услугата за обмен на документи на участника е %s в регистъра", svc.Status))
		}
	}
	setup.RegisteredURL = s.registeredURL
	if s.target.Status == register.Active {
		setup.Warnings = append(setup.Warnings, l.pick("the participant is already Active in the register", "участникът вече е активен (Active) в регистъра"))
	}
	s.targetURL = s.opt.Target
	if s.targetURL == "" {
		s.targetURL = s.registeredURL
	}
	s.rep.Target = s.targetURL
	u, err := url.Parse(s.targetURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		if s.targetURL == "" {
			return fmt.Errorf("the register lists no document-exchange service URI for %s; give --target URL", s.target.GUID)
		}
		return fmt.Errorf("target %q is not an https URL", s.targetURL)
	}
	// The certificate must carry the host name DAEU assigned, which is the
	// registered URI's host; --target may reach the same endpoint otherwise
	// (an address over the VPN).
	s.serverName = u.Hostname()
	if r, err := url.Parse(s.registeredURL); err == nil && r.Hostname() != "" {
		s.serverName = r.Hostname()
		if !strings.EqualFold(strings.TrimRight(s.registeredURL, "/"), strings.TrimRight(s.targetURL, "/")) {
			setup.Notes = append(setup.Notes, l.pick("testing %s, while the register lists %s", "изпитва се %s, а в регистъра е вписан %s", s.targetURL, s.registeredURL))
		}
	}

	self, err := get(s.self.GUID, "the test participant (test_participant.guid)")
	if err != nil {
		return err
	}
	setup.TestParticipant = self
	switch {
	case self.Status != register.Active:
		return fmt.Errorf("the test participant %s is %s in the register; participants accept only Active senders, so it must be Active", self.GUID, self.Status)
	case !self.HasCertificate(pki.SerialHex(s.harness.Cert)):
		return fmt.Errorf("the register lists certificate %s for the test participant, test_participant.cert has serial %s", self.CertificateSN, pki.SerialHex(s.harness.Cert))
	}
	if s.asyncWanted() {
		svc := self.ExchangeService()
		switch {
		case svc == nil || svc.Status != register.Active:
			return fmt.Errorf("the test participant %s has no Active document-exchange service in the register, so the participant cannot send to it", self.GUID)
		case !sameURL(svc.URI, s.cfg.Listen.PublicURL):
			return fmt.Errorf("the register lists %s as the test participant's endpoint, listen.public_url is %s; the participant would send elsewhere", svc.URI, s.cfg.Listen.PublicURL)
		}
	}
	if !s.skipped(CheckInactiveSender) || s.wrongIsInactive && !s.skipped(CheckWrongCertificate) {
		in, err := get(s.inactiveEntity.GUID, "the inactive identity (inactive_participant.guid)")
		if err != nil {
			return err
		}
		setup.Inactive = in
		switch {
		case in.Status == register.Active:
			return fmt.Errorf("inactive_participant %s is Active in the register; the inactive-sender check needs an Inactive one", in.GUID)
		case !in.HasCertificate(pki.SerialHex(s.inactive.Cert)):
			return fmt.Errorf("the register lists certificate %s for inactive_participant, its cert has serial %s", in.CertificateSN, pki.SerialHex(s.inactive.Cert))
		}
	}
	return nil
}

func sameURL(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(strings.TrimSpace(a), "/"), strings.TrimRight(strings.TrimSpace(b), "/"))
}

// writeReport writes the report files, records the verdict when asked and
// updates the history.
func (s *suite) writeReport(ctx context.Context) error {
	if err := s.rep.writeFiles(s.dir); err != nil {
		return err
	}
	if s.opt.Record || s.cfg.Joining.Record {
		s.rep.Recorded = s.record(ctx)
		s.say("joining case: %s", s.rep.Recorded)
		if err := s.rep.writeFiles(s.dir); err != nil {
			return err
		}
	}
	if err := appendHistory(s.opt.ReportDir, s.rep); err != nil {
		return err
	}
	abs, _ := filepath.Abs(filepath.Join(s.dir, "report.html"))
	sum := s.rep.Summary
	s.say("verdict: %s (%d passed, %d failed, %d skipped; %d warnings, %d notes); report %s", s.rep.Verdict, sum.Pass, sum.Fail, sum.Skip, sum.Warnings, sum.Notes, abs)
	if s.opt.PDF {
		pdf := filepath.Join(s.dir, "report.pdf")
		if err := PrintPDF(ctx, filepath.Join(s.dir, "report.html"), pdf); err != nil {
			return err
		}
		abs, _ := filepath.Abs(pdf)
		s.say("printable report %s", abs)
	}
	return nil
}

// db of the listener, or nil.
func (s *suite) db() *sql.DB {
	if s.listener == nil {
		return nil
	}
	return s.listener.db
}
