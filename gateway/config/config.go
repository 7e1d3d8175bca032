// Package config is seosgw's one configuration file (YAML): the fields, their
// defaults (which suit the local demo), and validation at start with
// messages that name the field and the fix. configs/seosgw.example.yaml
// documents every field.
//
// It is plain data and imports no other seosgw package: each part of the
// gateway takes its own options, and gateway/node maps this file to them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole file.
type Config struct {
	Participant Participant `yaml:"participant"`
	TLS         TLS         `yaml:"tls"`
	Endpoint    Endpoint    `yaml:"endpoint"`
	Register    Register    `yaml:"register"`
	Database    Database    `yaml:"database"`
	Outbound    Outbound    `yaml:"outbound"`
	AIS         AIS         `yaml:"ais"`
	Network     Network     `yaml:"network"`
	Acceptance  Acceptance  `yaml:"acceptance"`
	Mail        Mail        `yaml:"mail"`
	Ops         Ops         `yaml:"ops"`
	Console     Console     `yaml:"console"`
	Log         Log         `yaml:"log"`

	// dir is the folder of the file; relative paths are resolved from it.
	dir string
}

// Participant is who this node is in the register.
type Participant struct {
	GUID string `yaml:"guid"`
	EIK  string `yaml:"eik"`
	Name string `yaml:"name"`
}

// TLS is the transport identity and the trust it checks peers with.
type TLS struct {
	Cert string   `yaml:"cert"` // transport certificate (PEM), also the signing certificate
	Key  string   `yaml:"key"`
	CA   string   `yaml:"ca"`  // DAEU CA bundle (PEM)
	CRLs []string `yaml:"crl"` // CRL files, reloaded when they change
	// CRLPolicy says what to do when a CRL is missing, unreadable or past
	// its next update: "fail-closed" refuses peers (and refuses to start
	// without one), "fail-open" lets them in and raises seosgw_crl_stale.
	// Never "revoked" when only the CRL failed; at runtime a file that
	// breaks keeps its last good list until that list's NextUpdate.
	CRLPolicy string `yaml:"crl_policy"`
	// Digest is the signature hash: sha256, or sha1 for older .NET peers.
	Digest string `yaml:"digest"`
	// MinRSABits is the smallest RSA key accepted in a peer's TLS or
	// signing certificate, the register's, and our own at start.
	MinRSABits int `yaml:"min_rsa_bits"`
	// RotationGrace is how long after our register entry's CertificateSN
	// changed a peer's Error that blames our certificate is retried rather
	// than final: the time peers' register copies take to follow a renewal.
	// 0 turns the rule off.
	RotationGrace Duration `yaml:"rotation_grace"`
}

// Endpoint is the SEOS Submit endpoint this node serves.
type Endpoint struct {
	Listen    string `yaml:"listen"`
	Path      string `yaml:"path"`
	PublicURL string `yaml:"public_url"` // as registered with DAEU; put into ?wsdl
	// MaxAttachmentBytes is the largest file a document may carry, in
	// either direction; the message limit follows from it.
	MaxAttachmentBytes ByteSize `yaml:"max_attachment_bytes"`
	// MaxMessageBytes caps a whole request; 0 derives it from
	// MaxAttachmentBytes (MessageLimit).
	MaxMessageBytes ByteSize `yaml:"max_message_bytes"`
	MaxConcurrent   int      `yaml:"max_concurrent"`
	// MaxConcurrentPerPeer caps the requests of one client certificate.
	MaxConcurrentPerPeer int `yaml:"max_concurrent_per_peer"`
	// MinBodyRate is the slowest average a request body may arrive at
	// (bytes/s) once MinBodyRateGrace has passed; 0 turns the check off.
	MinBodyRate      ByteSize `yaml:"min_body_rate"`
	MinBodyRateGrace Duration `yaml:"min_body_rate_grace"`
	ClockSkew        Duration `yaml:"clock_skew"`
	ReadTimeout      Duration `yaml:"read_timeout"`
	WriteTimeout     Duration `yaml:"write_timeout"`
	IdleTimeout      Duration `yaml:"idle_timeout"`
}

// envelopeAllowance is what a message holds besides its attachment's
// base64: envelope, header, metadata, signature, line breaks in the
// base64 of peers that wrap it.
const envelopeAllowance = 4 << 20

// MessageLimit is the request size limit: max_message_bytes, or derived
// from max_attachment_bytes (its base64 plus the envelope).
func (e Endpoint) MessageLimit() int64 {
	if e.MaxMessageBytes > 0 {
		return int64(e.MaxMessageBytes)
	}
	return Base64Len(int64(e.MaxAttachmentBytes)) + envelopeAllowance
}

// Base64Len is the size of n bytes in base64.
func Base64Len(n int64) int64 { return (n + 2) / 3 * 4 }

// Register is the DAEU register and how its copy is kept fresh.
type Register struct {
	URL              string   `yaml:"url"`
	Refresh          Duration `yaml:"refresh"`     // GetNewRecords period
	FullSync         Duration `yaml:"full_sync"`   // GetAllRecords period
	StaleAfter       Duration `yaml:"stale_after"` // readiness fails past this
	Timeout          Duration `yaml:"timeout"`
	MaxResponseBytes ByteSize `yaml:"max_response_bytes"`
	// TestParticipant is DAEU's test participant GUID, allowed to exchange
	// with us while we are still inactive (joining procedure).
	TestParticipant string `yaml:"test_participant"`
}

// Database is the SQLite file and what it keeps how long.
type Database struct {
	Path         string   `yaml:"path"`
	LogRetention Duration `yaml:"message_log_retention"`
	// AttachmentRetention is how long the attachments of a received
	// document stay after the AIS registered, rejected, closed or stopped
	// it; the document and its attachment list stay.
	AttachmentRetention Duration `yaml:"received_attachment_retention"`
}

// Outbound is how the outbox is delivered.
type Outbound struct {
	RetryFirst    Duration `yaml:"retry_first"` // first retry delay; doubles (15m × 2^n)
	Retries       int      `yaml:"retries"`     // retries after the first attempt
	Workers       int      `yaml:"workers"`
	PerPeer       int      `yaml:"per_peer"` // of the workers, how many may deliver to one recipient at once
	Timeout       Duration `yaml:"timeout"`  // one attempt
	MaxReplyBytes ByteSize `yaml:"max_reply_bytes"`
	StatusAfter   Duration `yaml:"status_after"` // ask about documents waiting registration this long
	// StatusMaxInterval caps the gap between two questions about one
	// document; the gap starts at StatusAfter and doubles after each.
	StatusMaxInterval Duration        `yaml:"status_max_interval"`
	Poll              Duration        `yaml:"poll"`
	Peers             map[string]Peer `yaml:"peers"` // per participant GUID
}

// Peer overrides settings for one participant.
type Peer struct {
	Digest string `yaml:"digest"` // sha1 for peers that cannot verify sha256
}

// AIS is how the legacy records system talks to seosgw.
type AIS struct {
	Listen    string `yaml:"listen"`     // HTTP API; loopback unless you know better
	TokenFile string `yaml:"token_file"` // bearer token the AIS presents
	Spool     Spool  `yaml:"spool"`
}

// Spool is the folder interface for an AIS that can only write files.
type Spool struct {
	Dir       string   `yaml:"dir"`     // empty: no spool
	Mapping   string   `yaml:"mapping"` // legacy XML mapping file; empty: JSON envelopes only
	ScanEvery Duration `yaml:"scan_every"`
}

// Ops is the operations listener: /healthz, /readyz, /metrics.
type Ops struct {
	Listen string `yaml:"listen"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json, text, or auto (text on a terminal)
}

// DefaultOpsListen is where /metrics listens unless configured: not 9090,
// which is Prometheus's own, nor the exporters' range 9100-9999.
const DefaultOpsListen = "127.0.0.1:7360"

// PerPeerLimit is outbound.per_peer as delivery applies it: below
// outbound.workers, so that one recipient that hangs never holds every
// worker (with one worker there is nothing to share).
func (o Outbound) PerPeerLimit() int {
	if o.Workers <= 1 {
		return 1
	}
	return min(max(o.PerPeer, 1), o.Workers-1)
}

// Defaults returns a configuration whose values suit the local demo.
func Defaults() *Config {
	return &Config{
		TLS: TLS{CRLPolicy: "fail-closed", Digest: "sha256", MinRSABits: 2048, RotationGrace: Duration(24 * time.Hour)},
		Endpoint: Endpoint{
			Listen: "127.0.0.1:4443", Path: "/seos/endpoint",
			MaxAttachmentBytes: 64 << 20, MaxConcurrent: 32, MaxConcurrentPerPeer: 8,
			MinBodyRate: 16 << 10, MinBodyRateGrace: Duration(10 * time.Second), ClockSkew: Duration(10 * time.Minute),
			ReadTimeout: Duration(2 * time.Minute), WriteTimeout: Duration(2 * time.Minute), IdleTimeout: Duration(2 * time.Minute),
		},
		Register: Register{
			Refresh: Duration(10 * time.Minute), FullSync: Duration(24 * time.Hour), StaleAfter: Duration(24 * time.Hour),
			Timeout: Duration(30 * time.Second), MaxResponseBytes: 64 << 20,
		},
		Database: Database{Path: "seosgw.db", LogRetention: Duration(365 * 24 * time.Hour), AttachmentRetention: Duration(90 * 24 * time.Hour)},
		Outbound: Outbound{RetryFirst: Duration(15 * time.Minute), Retries: 10, Workers: 4, PerPeer: 2, Timeout: Duration(2 * time.Minute),
			MaxReplyBytes: 64 << 20, StatusAfter: Duration(72 * time.Hour), StatusMaxInterval: Duration(7 * 24 * time.Hour), Poll: Duration(time.Minute)},
		AIS:        AIS{Listen: "127.0.0.1:8080", Spool: Spool{ScanEvery: Duration(5 * time.Second)}},
		Network:    NetworkDefaults(),
		Acceptance: acceptanceDefaults(),
		Mail:       mailDefaults(),
		Ops:        Ops{Listen: DefaultOpsListen},
		Console:    consoleDefaults(),
		Log:        Log{Level: "info", Format: "auto"},
	}
}

// Load reads path over the defaults and validates the result.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads YAML over the defaults; dir resolves relative paths.
func Parse(b []byte, dir string) (*Config, error) {
	c := Defaults()
	if err := DecodeStrict(b, c, "configs/seosgw.example.yaml"); err != nil {
		return nil, err
	}
	c.dir = dir
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeStrict reads YAML into v (already holding the defaults): a
// misspelt field must not silently keep its default, and an empty file
// is no error. example names the file that lists the fields. A value
// that is not a duration or a size is named by its field and line.
func DecodeStrict(b []byte, v any, example string) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		fields := fieldsByPosition(b)
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = nameField(e, fields)
		}
		return fmt.Errorf("%s (field names are listed in %s)", strings.Join(msgs, "; "), example)
	}
	return fmt.Errorf("%w (field names are listed in %s)", err, example)
}

// Path resolves a configured path against the config file's folder.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Problems is every validation failure, one per line.
type Problems []string

func (p Problems) Error() string {
	return "invalid configuration:\n  " + strings.Join(p, "\n  ")
}

// Validate checks every field and reports all problems at once.
func (c *Config) Validate() error {
	var p Problems
	add := func(field, format string, args ...any) {
		p = append(p, field+": "+fmt.Sprintf(format, args...))
	}
	if !isGUID(c.Participant.GUID) {
		add("participant.guid", "%q is not a register GUID; copy it from your register entry, e.g. {7060efa8-f1fa-4938-8b2b-12a78c86988f}", c.Participant.GUID)
	}
	if strings.TrimSpace(c.Participant.EIK) == "" {
		add("participant.eik", "empty; set your EIK/BULSTAT as the register lists it")
	}
	if strings.TrimSpace(c.Participant.Name) == "" {
		add("participant.name", "empty; set the administrative body name as the register lists it")
	}
	for field, path := range map[string]string{"tls.cert": c.TLS.Cert, "tls.key": c.TLS.Key, "tls.ca": c.TLS.CA} {
		if path == "" {
			add(field, "empty; give the path of a PEM file")
		} else if st, err := os.Stat(c.Path(path)); err != nil {
			add(field, "%v; check the path (relative paths start at the config file's folder)", err)
		} else if field == "tls.key" && st.Mode().Perm()&0o077 != 0 {
			// The key signs every message as this administration: like the
			// AIS token, it must be readable by seosgw's user alone.
			add(field, "%s is readable by others (mode %o); chmod 600 it (and chown it to the user seosgw runs as)", path, st.Mode().Perm())
		}
	}
	for i, crl := range c.TLS.CRLs {
		if crl == "" {
			add(fmt.Sprintf("tls.crl[%d]", i), "empty path; remove the entry or give a CRL file")
		}
	}
	if c.TLS.CRLPolicy != "fail-closed" && c.TLS.CRLPolicy != "fail-open" {
		add("tls.crl_policy", "%q; use fail-closed (refuse peers while the CRL is unusable) or fail-open", c.TLS.CRLPolicy)
	}
	if c.TLS.MinRSABits < 1024 || c.TLS.MinRSABits > 16384 {
		add("tls.min_rsa_bits", "%d; use 2048 (the default; DAEU issues 2048-bit keys) or more, at most 16384", c.TLS.MinRSABits)
	}
	if c.TLS.Digest != "sha256" && c.TLS.Digest != "sha1" {
		add("tls.digest", "%q; use sha256, or sha1 only for peers that need it", c.TLS.Digest)
	}
	if g := c.TLS.RotationGrace.D(); g < 0 || g > 30*24*time.Hour {
		add("tls.rotation_grace", "%s; give how long peers' register copies may lag a renewal, e.g. 24h (0 turns the rule off, at most 30d)", g)
	}
	checkListen(add, "endpoint.listen", c.Endpoint.Listen)
	if !strings.HasPrefix(c.Endpoint.Path, "/") {
		add("endpoint.path", "%q must start with /, e.g. /seos/endpoint", c.Endpoint.Path)
	}
	if u, err := url.Parse(c.Endpoint.PublicURL); c.Endpoint.PublicURL != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
		add("endpoint.public_url", "%q must be the https URL DAEU registered for you, e.g. https://you.obmen.local:4443/seos/endpoint", c.Endpoint.PublicURL)
	}
	if c.Endpoint.MaxAttachmentBytes < 1<<20 {
		add("endpoint.max_attachment_bytes", "%d is too small; peers send files of 10 MiB and more (the default is 64MiB); at least 1MiB", c.Endpoint.MaxAttachmentBytes)
	}
	if c.Endpoint.MaxMessageBytes != 0 && c.Endpoint.MaxMessageBytes < 1<<20 {
		add("endpoint.max_message_bytes", "%d is too small; leave it out (it follows from max_attachment_bytes) or give at least 1MiB", c.Endpoint.MaxMessageBytes)
	} else if c.Endpoint.MaxMessageBytes != 0 && int64(c.Endpoint.MaxMessageBytes) < Base64Len(int64(c.Endpoint.MaxAttachmentBytes)) {
		add("endpoint.max_message_bytes", "%d cannot carry a file of max_attachment_bytes (%d, %d in base64); leave it out to derive it", c.Endpoint.MaxMessageBytes,
			c.Endpoint.MaxAttachmentBytes, Base64Len(int64(c.Endpoint.MaxAttachmentBytes)))
	}
	if c.Endpoint.MaxConcurrent < 1 {
		add("endpoint.max_concurrent", "must be at least 1")
	}
	if c.Endpoint.MaxConcurrentPerPeer < 1 || c.Endpoint.MaxConcurrentPerPeer > c.Endpoint.MaxConcurrent {
		add("endpoint.max_concurrent_per_peer", "%d; give 1 to max_concurrent (%d), so that one peer cannot take every slot (default 8)",
			c.Endpoint.MaxConcurrentPerPeer, c.Endpoint.MaxConcurrent)
	}
	positive(add, "endpoint.min_body_rate_grace", c.Endpoint.MinBodyRateGrace)
	positive(add, "endpoint.clock_skew", c.Endpoint.ClockSkew)
	positive(add, "endpoint.read_timeout", c.Endpoint.ReadTimeout)
	positive(add, "endpoint.write_timeout", c.Endpoint.WriteTimeout)
	positive(add, "endpoint.idle_timeout", c.Endpoint.IdleTimeout)
	if u, err := url.Parse(c.Register.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		add("register.url", "%q must be the https URL of the DAEU register service", c.Register.URL)
	}
	positive(add, "register.refresh", c.Register.Refresh)
	positive(add, "register.full_sync", c.Register.FullSync)
	positive(add, "register.timeout", c.Register.Timeout)
	if c.Register.StaleAfter.D() < c.Register.Refresh.D() {
		add("register.stale_after", "%s is shorter than register.refresh (%s); readiness would flap", c.Register.StaleAfter.D(), c.Register.Refresh.D())
	}
	if c.Register.MaxResponseBytes < 1<<20 {
		add("register.max_response_bytes", "too small for a full register listing (the default is 64MiB); at least 1MiB")
	}
	if c.Register.TestParticipant != "" && !isGUID(c.Register.TestParticipant) {
		add("register.test_participant", "%q is not a GUID in braces", c.Register.TestParticipant)
	}
	if c.Database.Path == "" {
		add("database.path", "empty; give the SQLite file, e.g. /var/lib/seosgw/seosgw.db")
	}
	if c.Database.LogRetention.D() < 24*time.Hour {
		add("database.message_log_retention", "%s; keep the message log at least a day (e.g. 365d)", c.Database.LogRetention.D())
	}
	if c.Database.AttachmentRetention.D() < 24*time.Hour {
		add("database.received_attachment_retention", "%s; keep received attachments at least a day after the AIS acted on them (the default is 90d)", c.Database.AttachmentRetention.D())
	}
	positive(add, "outbound.retry_first", c.Outbound.RetryFirst)
	if c.Outbound.Retries < 0 || c.Outbound.Retries > 20 {
		add("outbound.retries", "%d; the protocol retries 10 times (after 15m … 128h)", c.Outbound.Retries)
	} else if c.Outbound.RetryFirst > 0 && c.Outbound.RetryFirst.D() > (365*24*time.Hour)>>c.Outbound.Retries {
		add("outbound.retry_first", "%s doubled %d times is over a year; shorten it or lower outbound.retries", c.Outbound.RetryFirst.D(), c.Outbound.Retries)
	}
	if c.Outbound.Workers < 1 {
		add("outbound.workers", "must be at least 1")
	}
	if c.Outbound.PerPeer < 1 {
		add("outbound.per_peer", "%d; give at least 1 (the default is 2; it is used up to outbound.workers - 1)", c.Outbound.PerPeer)
	}
	positive(add, "outbound.timeout", c.Outbound.Timeout)
	positive(add, "outbound.status_after", c.Outbound.StatusAfter)
	if c.Outbound.StatusMaxInterval < c.Outbound.StatusAfter {
		add("outbound.status_max_interval", "%s is shorter than outbound.status_after (%s); the gap between status questions starts at status_after and doubles up to this cap (default 7d)",
			c.Outbound.StatusMaxInterval.D(), c.Outbound.StatusAfter.D())
	}
	positive(add, "outbound.poll", c.Outbound.Poll)
	if c.Outbound.MaxReplyBytes < 1<<20 {
		add("outbound.max_reply_bytes", "too small (the default is 64MiB); at least 1MiB")
	}
	for guid, peer := range c.Outbound.Peers {
		if !isGUID(guid) {
			add("outbound.peers", "key %q is not a participant GUID in braces", guid)
		}
		if peer.Digest != "" && peer.Digest != "sha256" && peer.Digest != "sha1" {
			add("outbound.peers."+guid+".digest", "%q; use sha256 or sha1", peer.Digest)
		}
	}
	checkListen(add, "ais.listen", c.AIS.Listen)
	if host, _, err := net.SplitHostPort(c.AIS.Listen); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			add("ais.listen", "%q is not a loopback address: the AIS API is plain HTTP with a bearer token; keep it on 127.0.0.1 and put a TLS proxy in front if the AIS runs on another host", c.AIS.Listen)
		}
	}
	if c.AIS.TokenFile == "" {
		add("ais.token_file", "empty; the AIS API needs a bearer token: write a long random string to a file (e.g. openssl rand -hex 32 > /etc/seosgw/ais-token)")
	} else if st, err := os.Stat(c.Path(c.AIS.TokenFile)); err != nil {
		add("ais.token_file", "%v; create it, e.g. openssl rand -hex 32 > %s", err, c.AIS.TokenFile)
	} else if st.Mode().Perm()&0o077 != 0 {
		add("ais.token_file", "%s is readable by others (mode %o); chmod 600 it", c.AIS.TokenFile, st.Mode().Perm())
	}
	if c.AIS.Spool.Dir != "" {
		positive(add, "ais.spool.scan_every", c.AIS.Spool.ScanEvery)
		if c.AIS.Spool.Mapping != "" {
			if _, err := os.Stat(c.Path(c.AIS.Spool.Mapping)); err != nil {
				add("ais.spool.mapping", "%v", err)
			}
		}
	}
	p = append(p, c.Network.Validate()...)
	c.validateAcceptance(add)
	c.validateMail(add)
	checkListen(add, "ops.listen", c.Ops.Listen)
	c.validateConsole(add)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q; use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text", "auto":
	default:
		add("log.format", "%q; use json, text or auto", c.Log.Format)
	}
	if len(p) > 0 {
		sort.Strings(p) // by field: the same file gives the same message
		return p
	}
	return nil
}

// guid is the SEOS GUID pattern, braces included (gateway/seos.IsGUID;
// TestGUIDPatternIsSeos keeps the two the same).
var guid = regexp.MustCompile(`^\{[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}\}$`)

func isGUID(s string) bool { return guid.MatchString(s) }

func positive(add func(string, string, ...any), field string, d Duration) {
	if d <= 0 {
		add(field, "must be a positive duration such as 30s or 10m")
	}
}

func checkListen(add func(string, string, ...any), field, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		add(field, "%q is not host:port, e.g. 127.0.0.1:7360 or :4443", addr)
	}
}
