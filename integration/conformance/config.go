package conformance

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/seos"
)

// MinLargeAttachment is the smallest attachment the large-attachment check
// may send: the issue requires at least 8 MiB, and known peers allow 10.
const MinLargeAttachment = 8 << 20

// Config is the harness's file (configs/conformance.example.yaml documents
// every field). Relative paths start at the file's folder.
type Config struct {
	// TestParticipant is DAEU's test participant: the harness's identity.
	TestParticipant Identity `yaml:"test_participant"`
	// CA is the DAEU CA bundle every transport certificate chains to.
	CA       string   `yaml:"ca"`
	Register Register `yaml:"register"`
	// Inactive is a second DAEU-issued identity that the register lists as
	// Inactive, for the inactive-sender check.
	Inactive Identity `yaml:"inactive_participant"`
	// WrongCertificate optionally names a DAEU-issued certificate that is not
	// the test participant's; without it the wrong-certificate check signs
	// with the inactive identity's certificate.
	WrongCertificate KeyPair  `yaml:"wrong_certificate"`
	Listen           Listen   `yaml:"listen"`
	Timeouts         Timeouts `yaml:"timeouts"`
	// LargeAttachment is the attachment size of the large-attachment check.
	LargeAttachment config.ByteSize `yaml:"large_attachment"`
	// ClockSkew is how far the participant's MessageDate may be from ours.
	ClockSkew config.Duration `yaml:"clock_skew"`
	// SchemaValidator: "auto" (xmllint when installed), "xmllint" (required),
	// "off", or the path of an xmllint binary. seosgw's own validator always runs.
	SchemaValidator string `yaml:"schema_validator"`
	// ReportDir holds one folder per run and the history (index.html, history.json).
	ReportDir string `yaml:"report_dir"`
	// Language of the reports: bg (DAEU files them in Bulgarian) or en.
	Language Lang    `yaml:"language"`
	Joining  Joining `yaml:"joining"`

	dir string
}

// KeyPair is a certificate and its private key (PEM files).
type KeyPair struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Identity is a participant with its transport certificate.
type Identity struct {
	GUID    string `yaml:"guid"`
	EIK     string `yaml:"eik"`
	Name    string `yaml:"name"`
	KeyPair `yaml:",inline"`
}

// Entity is the identity as a message header names it.
func (i Identity) Entity() seos.Entity {
	return seos.Entity{Identifier: i.EIK, AdministrativeBodyName: i.Name, GUID: i.GUID}
}

// Register is the DAEU register the harness looks the participant up in.
type Register struct {
	URL     string          `yaml:"url"`
	Timeout config.Duration `yaml:"timeout"`
}

// Listen is the harness's own SEOS endpoint for the asynchronous checks.
type Listen struct {
	Address   string `yaml:"address"`    // host:port to listen on
	PublicURL string `yaml:"public_url"` // as the register lists it for the test participant
}

// Timeouts bound the harness's waits.
type Timeouts struct {
	Request config.Duration `yaml:"request"` // one request to the participant, connect to last byte; a later answer fails
	// SlowReply: an answer slower than this is a warning in the report.
	SlowReply config.Duration `yaml:"slow_reply"`
	Async     config.Duration `yaml:"async"` // how long to wait for the asynchronous messages
}

// Joining ties runs to the participant's joining case in the test register.
type Joining struct {
	RegisterDB string `yaml:"register_db"` // the test register's SQLite file
	Record     bool   `yaml:"record"`      // record every run's verdict on the case
	Holidays   string `yaml:"holidays"`    // working-day overrides (decree days) for the deadline
}

// Defaults are what a field left out means.
func Defaults() *Config {
	return &Config{
		Register:        Register{Timeout: config.Duration(30 * time.Second)},
		Timeouts:        Timeouts{Request: config.Duration(2 * time.Minute), SlowReply: config.Duration(30 * time.Second), Async: config.Duration(30 * time.Minute)},
		LargeAttachment: MinLargeAttachment,
		ClockSkew:       config.Duration(10 * time.Minute),
		SchemaValidator: "auto",
		ReportDir:       "conformance-reports",
		Language:        Bulgarian,
	}
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conformance config: %w", err)
	}
	c, err := ParseConfig(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("conformance config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig reads YAML over the defaults; dir resolves relative paths.
func ParseConfig(b []byte, dir string) (*Config, error) {
	c := Defaults()
	if err := config.DecodeStrict(b, c, "configs/conformance.example.yaml"); err != nil {
		return nil, err
	}
	c.dir = dir
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Path resolves a configured path against the config file's folder.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Validate checks every field and reports all problems at once, naming the
// field and the fix. Files are opened later, with errors that name the field.
func (c *Config) Validate() error {
	var p config.Problems
	add := func(field, format string, args ...any) {
		p = append(p, field+": "+fmt.Sprintf(format, args...))
	}
	identity := func(field string, id Identity) {
		if !seos.IsGUID(id.GUID) {
			add(field+".guid", "%q is not a register GUID in braces, e.g. {7060efa8-f1fa-4938-8b2b-12a78c86988f}", id.GUID)
		}
		if strings.TrimSpace(id.EIK) == "" {
			add(field+".eik", "empty; the EIK/BULSTAT as the register lists it")
		}
		if strings.TrimSpace(id.Name) == "" {
			add(field+".name", "empty; the administrative body name as the register lists it")
		}
		keyPair(add, field, id.KeyPair, true)
	}
	identity("test_participant", c.TestParticipant)
	identity("inactive_participant", c.Inactive)
	if seos.EqualGUID(c.TestParticipant.GUID, c.Inactive.GUID) && c.TestParticipant.GUID != "" {
		add("inactive_participant.guid", "is the test participant's GUID; give the second, Inactive identity")
	}
	keyPair(add, "wrong_certificate", c.WrongCertificate, false)
	if c.CA == "" {
		add("ca", "empty; give the DAEU CA bundle (PEM)")
	}
	if u, err := url.Parse(c.Register.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		add("register.url", "%q must be the https URL of the DAEU register service", c.Register.URL)
	}
	if c.Register.Timeout <= 0 {
		add("register.timeout", "must be a positive duration such as 30s")
	}
	if _, _, err := net.SplitHostPort(c.Listen.Address); err != nil {
		add("listen.address", "%q is not host:port, e.g. 0.0.0.0:4443", c.Listen.Address)
	}
	if u, err := url.Parse(c.Listen.PublicURL); err != nil || u.Scheme != "https" || u.Host == "" || !strings.HasPrefix(u.Path, "/") {
		add("listen.public_url", "%q must be the https URL with a path that the register lists as the test participant's document-exchange service URI", c.Listen.PublicURL)
	}
	if c.Timeouts.Request <= 0 {
		add("timeouts.request", "must be a positive duration such as 2m")
	}
	if c.Timeouts.SlowReply <= 0 || c.Timeouts.SlowReply >= c.Timeouts.Request && c.Timeouts.Request > 0 {
		add("timeouts.slow_reply", "must be a positive duration below timeouts.request (%s), such as 30s", c.Timeouts.Request.D())
	}
	if c.Timeouts.Async <= 0 {
		add("timeouts.async", "must be a positive duration such as 30m")
	}
	if c.LargeAttachment < MinLargeAttachment {
		add("large_attachment", "%d bytes is below the 8MiB the joining test requires; use 8MiB or more", c.LargeAttachment)
	}
	if c.ClockSkew <= 0 {
		add("clock_skew", "must be a positive duration such as 10m")
	}
	switch v := c.SchemaValidator; {
	case v == "auto", v == "xmllint", v == "off":
	case strings.Contains(v, "/"):
	default:
		add("schema_validator", "%q; use auto, xmllint, off or the path of an xmllint binary", v)
	}
	if _, err := ParseLang(string(c.Language)); err != nil || c.Language == "" {
		add("language", "%q; use bg (Bulgarian, as DAEU files the reports) or en (English)", c.Language)
	}
	if strings.TrimSpace(c.ReportDir) == "" {
		add("report_dir", "empty; give a folder for the reports")
	}
	if c.Joining.Record && c.Joining.RegisterDB == "" {
		add("joining.record", "needs joining.register_db, the test register's database")
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

func keyPair(add func(string, string, ...any), field string, kp KeyPair, required bool) {
	switch {
	case kp.Cert == "" && kp.Key == "" && !required:
	case kp.Cert == "":
		add(field+".cert", "empty; give the certificate (PEM)")
	case kp.Key == "":
		add(field+".key", "empty; give the certificate's private key (PEM)")
	}
}
