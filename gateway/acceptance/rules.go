package acceptance

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/clamav"
	"github.com/seosgw/seosgw/gateway/acceptance/filetype"
	"github.com/seosgw/seosgw/gateway/config"
)

// Rules is the rules file (configs/acceptance.maritime.example.yaml
// documents every field).
type Rules struct {
	Name       string     `yaml:"name"`
	Kinds      Kinds      `yaml:"kinds"`
	Formats    Formats    `yaml:"formats"`
	Encryption Action     `yaml:"encryption"`
	Signatures Signatures `yaml:"signatures"`
	Virus      Virus      `yaml:"virus"`
	Requisites Requisites `yaml:"requisites"`

	dir string // the file's folder; relative paths start there
}

// Action is how a rule acts: enforce (its effect decides the outcome) or
// advise (annotate only), and the outcome a failed or undecidable check asks.
type Action struct {
	Mode      Mode    `yaml:"mode"`
	OnFail    Outcome `yaml:"on_fail"`
	OnUnknown Outcome `yaml:"on_unknown"`
}

// Label is a text in Bulgarian and English.
type Label struct {
	BG string `yaml:"bg"`
	EN string `yaml:"en"`
}

// Kinds is rule 1: which DocKind values are registrable.
type Kinds struct {
	Mode             Mode        `yaml:"mode"`
	OnUnknown        Outcome     `yaml:"on_unknown"`         // a kind on no list: hold (default) or reject
	OnNonRegistrable Outcome     `yaml:"on_non_registrable"` // a non-registrable kind: reject (default) or hold
	Transliterated   bool        `yaml:"transliterated"`     // also match kinds written in Latin letters
	Registrable      []KindGroup `yaml:"registrable"`
	NonRegistrable   []KindGroup `yaml:"non_registrable"`
}

// KindGroup is a named group of kinds: exact names (with synonyms) and
// RE2 patterns over the normalised kind.
type KindGroup struct {
	Group    Label    `yaml:"group"`
	Names    []string `yaml:"names"`
	Patterns []string `yaml:"patterns"`
}

// Formats is rule 2: the formats an attachment may have, by content.
type Formats struct {
	Action  `yaml:",inline"`
	Allowed []string `yaml:"allowed"`
}

// Signatures is rule 4: the author's signature on each document.
type Signatures struct {
	Required                 bool        `yaml:"required"` // every document attachment must be signed
	Presence                 Action      `yaml:"presence"`
	Integrity                Action      `yaml:"integrity"`
	Validity                 Action      `yaml:"validity"`
	Revocation               Action      `yaml:"revocation"`
	Trust                    Action      `yaml:"trust"`
	Author                   Action      `yaml:"author"`
	TrustedCADir             string      `yaml:"trusted_ca_dir"`
	TrustedList              TrustedList `yaml:"trusted_list"`
	AllowChangesAfterSigning bool        `yaml:"allow_changes_after_signing"`
	Sources                  Sources     `yaml:"revocation_sources"`
	Authors                  Authors     `yaml:"authors"`
}

// TrustedList is an EU-format trusted list (ETSI TS 119 612) whose
// qualified CA services become trust anchors.
type TrustedList struct {
	File        string `yaml:"file"`
	SignerCerts string `yaml:"signer_certs"` // PEM file: the list operator's signing certificates
	// Refresh is how often the list is read and verified again when its
	// files have not changed (a change is taken at the next document).
	Refresh config.Duration `yaml:"refresh"`
}

// Sources says how revocation is looked up.
type Sources struct {
	OCSP       bool            `yaml:"ocsp"`
	CRL        bool            `yaml:"crl"`
	Timeout    config.Duration `yaml:"timeout"`
	MaxCRLSize config.ByteSize `yaml:"max_crl_size"`
	RetryAfter config.Duration `yaml:"retry_after"`
}

// Authors says who may sign for a sending administration.
type Authors struct {
	MatchSender bool     `yaml:"match_sender"`
	Persons     []Person `yaml:"persons"`
}

// Person is an authorised signer.
type Person struct {
	Name string `yaml:"name"`
	ID   string `yaml:"id"`
}

// DefaultVirusMaxSize is virus.max_size unless set: clamd's own default
// StreamMaxLength (25M in Debian's clamd.conf), so that a stock clamd scans
// everything seosgw sends it.
const DefaultVirusMaxSize = 25 << 20

// Virus is rule 5: every attachment is scanned by clamd.
type Virus struct {
	Mode          Mode            `yaml:"mode"`
	Clamd         string          `yaml:"clamd"`
	Timeout       config.Duration `yaml:"timeout"`
	MaxSize       config.ByteSize `yaml:"max_size"`
	OnInfected    Outcome         `yaml:"on_infected"`
	OnUnavailable Outcome         `yaml:"on_unavailable"`
	// OnTooLarge is the outcome for a file over max_size or clamd's
	// StreamMaxLength: not scanned, a verdict about the file (the scanner
	// is up), so never accepted.
	OnTooLarge Outcome `yaml:"on_too_large"`
}

// Requisites is rule 6: phrases the readable text must contain.
type Requisites struct {
	Sources []string        `yaml:"sources"` // doc_about, doc_comment, comment, attachments
	MaxText config.ByteSize `yaml:"max_text"`
	Rules   []PhraseRule    `yaml:"rules"`
}

// PhraseRule is one requisite: a statement made one way or the other.
type PhraseRule struct {
	ID        string   `yaml:"id"`
	Label     Label    `yaml:"label"`
	Mode      Mode     `yaml:"mode"`
	AppliesTo string   `yaml:"applies_to"` // all, natural_persons
	Affirm    []string `yaml:"affirm"`
	Deny      []string `yaml:"deny"`
	Ambiguous []string `yaml:"ambiguous"` // the template left unfilled, e.g. "желая/не желая"
	OnMissing Outcome  `yaml:"on_missing"`
	OnDeny    string   `yaml:"on_deny"` // "" or no_receipt
}

// Defaults fill what a rules file leaves out.
func defaultRules() *Rules {
	enforce := func(onFail Outcome) Action { return Action{Mode: Enforce, OnFail: onFail, OnUnknown: Hold} }
	return &Rules{
		Kinds:      Kinds{Mode: Enforce, OnUnknown: Hold, OnNonRegistrable: Reject, Transliterated: true},
		Formats:    Formats{Action: enforce(Reject)},
		Encryption: enforce(Reject),
		Signatures: Signatures{
			Presence: enforce(Reject), Integrity: enforce(Reject), Validity: enforce(Reject),
			Revocation: enforce(Reject), Trust: enforce(Reject), Author: enforce(Hold),
			Sources: Sources{OCSP: true, CRL: true, Timeout: config.Duration(10 * time.Second), MaxCRLSize: 32 << 20, RetryAfter: config.Duration(time.Minute)},
		},
		Virus:      Virus{Mode: Enforce, Timeout: config.Duration(60 * time.Second), MaxSize: DefaultVirusMaxSize, OnInfected: Reject, OnUnavailable: Hold, OnTooLarge: Hold},
		Requisites: Requisites{Sources: []string{"doc_about", "doc_comment", "comment", "attachments"}, MaxText: 1 << 20},
	}
}

// ParseRules reads a rules file over the defaults and validates it; dir
// resolves relative paths.
func ParseRules(b []byte, dir string) (*Rules, error) {
	r := defaultRules()
	if err := config.DecodeStrict(b, r, "configs/acceptance.maritime.example.yaml"); err != nil {
		return nil, err
	}
	for i := range r.Requisites.Rules {
		pr := &r.Requisites.Rules[i]
		if pr.Mode == "" {
			pr.Mode = Enforce
		}
		if pr.AppliesTo == "" {
			pr.AppliesTo = "all"
		}
		if pr.OnMissing == "" {
			pr.OnMissing = Hold
		}
	}
	r.dir = dir
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// Path resolves a configured path against the rules file's folder.
func (r *Rules) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || r.dir == "" {
		return p
	}
	return filepath.Join(r.dir, p)
}

// Validate reports every wrong field with its fix.
func (r *Rules) Validate() error {
	var p config.Problems
	add := func(field, format string, args ...any) { p = append(p, field+": "+fmt.Sprintf(format, args...)) }
	mode := func(field string, m Mode) {
		if m != Enforce && m != Advise {
			add(field, "%q; use enforce (decides the outcome) or advise (annotates only)", m)
		}
	}
	outcome := func(field string, o Outcome, allowed ...Outcome) {
		if !slices.Contains(allowed, o) {
			names := make([]string, len(allowed))
			for i, a := range allowed {
				names[i] = string(a)
			}
			add(field, "%q; use %s", o, strings.Join(names, " or "))
		}
	}
	action := func(field string, a Action, unknownToo bool) {
		mode(field+".mode", a.Mode)
		outcome(field+".on_fail", a.OnFail, Reject, Hold)
		if unknownToo {
			outcome(field+".on_unknown", a.OnUnknown, Hold, Reject, Accept)
		}
	}

	mode("kinds.mode", r.Kinds.Mode)
	outcome("kinds.on_unknown", r.Kinds.OnUnknown, Hold, Reject)
	outcome("kinds.on_non_registrable", r.Kinds.OnNonRegistrable, Reject, Hold)
	if len(r.Kinds.Registrable) == 0 {
		add("kinds.registrable", "empty; list at least one group of registrable kinds (names and/or patterns)")
	}
	seen := map[string]string{}
	for _, list := range []struct {
		field  string
		groups []KindGroup
	}{{"kinds.registrable", r.Kinds.Registrable}, {"kinds.non_registrable", r.Kinds.NonRegistrable}} {
		for i, g := range list.groups {
			f := fmt.Sprintf("%s[%d]", list.field, i)
			if strings.TrimSpace(g.Group.BG) == "" {
				add(f+".group.bg", "empty; name the group in Bulgarian (it appears in the reasons sent to the sender)")
			}
			if len(g.Names) == 0 && len(g.Patterns) == 0 {
				add(f, "group %q has neither names nor patterns; add names: [писмо, ...]", g.Group.BG)
			}
			for j, n := range g.Names {
				k := normalize(n)
				if k == "" {
					add(fmt.Sprintf("%s.names[%d]", f, j), "empty name; remove it")
					continue
				}
				if other, dup := seen[k]; dup {
					add(fmt.Sprintf("%s.names[%d]", f, j), "%q is also listed at %s; a kind belongs to one group", n, other)
				}
				seen[k] = fmt.Sprintf("%s.names[%d]", f, j)
			}
			for j, pat := range g.Patterns {
				if _, err := regexp.Compile(pat); err != nil {
					add(fmt.Sprintf("%s.patterns[%d]", f, j), "%v; write an RE2 expression over the lower-case kind, e.g. ^заповед\\b", err)
				}
			}
		}
	}

	action("formats", r.Formats.Action, false)
	if len(r.Formats.Allowed) == 0 {
		add("formats.allowed", "empty; list the formats to accept, e.g. [pdf, doc, xls, msg, p7s, p7m]")
	}
	for i, k := range r.Formats.Allowed {
		if !slices.Contains(knownKinds, filetype.Kind(k)) {
			add(fmt.Sprintf("formats.allowed[%d]", i), "%q is not a format seosgw recognises; use one of %s", k, kindList())
		}
		if filetype.Kind(k).Executable() || filetype.Kind(k) == filetype.CMSEncrypted || filetype.Kind(k) == filetype.EncryptedOOXML {
			add(fmt.Sprintf("formats.allowed[%d]", i), "%q would let programs or encrypted content in; remove it", k)
		}
	}
	action("encryption", r.Encryption, false)

	s := r.Signatures
	action("signatures.presence", s.Presence, true)
	action("signatures.integrity", s.Integrity, true)
	action("signatures.validity", s.Validity, true)
	action("signatures.revocation", s.Revocation, true)
	action("signatures.trust", s.Trust, true)
	action("signatures.author", s.Author, true)
	if s.Required {
		if s.TrustedCADir == "" && s.TrustedList.File == "" {
			add("signatures.trusted_ca_dir", "empty while signatures.required is true; give a folder of the qualified providers' CA certificates (PEM) or signatures.trusted_list")
		}
	}
	if s.TrustedCADir != "" {
		if st, err := os.Stat(r.Path(s.TrustedCADir)); err != nil || !st.IsDir() {
			add("signatures.trusted_ca_dir", "%q is not a folder; give a folder of PEM certificates (relative paths start at the rules file's folder)", s.TrustedCADir)
		}
	}
	if s.TrustedList.File != "" {
		if _, err := os.Stat(r.Path(s.TrustedList.File)); err != nil {
			add("signatures.trusted_list.file", "%v; give the trusted list XML file", err)
		}
		if s.TrustedList.Refresh < 0 {
			add("signatures.trusted_list.refresh", "must be a positive duration such as 1h (the default)")
		}
		if s.TrustedList.SignerCerts == "" {
			add("signatures.trusted_list.signer_certs", "empty; a trusted list is only believed when its XML signature verifies: give the PEM certificates of the list's operator")
		} else if _, err := os.Stat(r.Path(s.TrustedList.SignerCerts)); err != nil {
			add("signatures.trusted_list.signer_certs", "%v", err)
		}
	}
	if s.Sources.Timeout <= 0 {
		add("signatures.revocation_sources.timeout", "must be a positive duration such as 10s")
	}
	if s.Sources.MaxCRLSize < 1<<10 {
		add("signatures.revocation_sources.max_crl_size", "%d is too small for a CRL; e.g. 32MiB", s.Sources.MaxCRLSize)
	}
	if s.Sources.RetryAfter <= 0 {
		add("signatures.revocation_sources.retry_after", "must be a positive duration such as 1m")
	}
	for i, pr := range s.Authors.Persons {
		if strings.TrimSpace(pr.Name) == "" && strings.TrimSpace(pr.ID) == "" {
			add(fmt.Sprintf("signatures.authors.persons[%d]", i), "give an id (the certificate's serialNumber, e.g. PNOBG-7501010010) or a name")
		}
	}

	mode("virus.mode", r.Virus.Mode)
	if r.Virus.Clamd == "" {
		add("virus.clamd", "empty; give clamd's socket, e.g. unix:/run/clamav/clamd.ctl (Debian's clamav-daemon) or tcp:127.0.0.1:3310")
	} else if _, _, err := clamav.ParseAddress(r.Virus.Clamd); err != nil {
		add("virus.clamd", "%v", err)
	}
	if r.Virus.Timeout <= 0 {
		add("virus.timeout", "must be a positive duration such as 60s")
	}
	if r.Virus.MaxSize < 1<<20 {
		add("virus.max_size", "%d is too small; at least 1MiB, and no more than clamd's StreamMaxLength", r.Virus.MaxSize)
	}
	outcome("virus.on_infected", r.Virus.OnInfected, Reject, Hold)
	outcome("virus.on_unavailable", r.Virus.OnUnavailable, Hold, Reject) // never accept unscanned
	outcome("virus.on_too_large", r.Virus.OnTooLarge, Hold, Reject)      // never accept unscanned

	for i, src := range r.Requisites.Sources {
		if !slices.Contains([]string{"doc_about", "doc_comment", "comment", "attachments"}, src) {
			add(fmt.Sprintf("requisites.sources[%d]", i), "%q; use doc_about, doc_comment, comment or attachments", src)
		}
	}
	if r.Requisites.MaxText < 1<<10 {
		add("requisites.max_text", "%d is too small; e.g. 1MiB", r.Requisites.MaxText)
	}
	ids := map[string]bool{}
	for i, pr := range r.Requisites.Rules {
		f := fmt.Sprintf("requisites.rules[%d]", i)
		if !ruleIDRE.MatchString(pr.ID) {
			add(f+".id", "%q; use lower-case letters, digits and _ (it names the rule in metrics)", pr.ID)
		} else if ids[pr.ID] {
			add(f+".id", "%q is used twice", pr.ID)
		}
		ids[pr.ID] = true
		if pr.Label.BG == "" {
			add(f+".label.bg", "empty; say in Bulgarian what the requisite is (it goes into reasons)")
		}
		mode(f+".mode", pr.Mode)
		if pr.AppliesTo != "all" && pr.AppliesTo != "natural_persons" {
			add(f+".applies_to", "%q; use all or natural_persons", pr.AppliesTo)
		}
		if len(pr.Affirm) == 0 && len(pr.Deny) == 0 {
			add(f+".affirm", "give the phrase(s) that state the requisite")
		}
		for j, ph := range append(append(append([]string(nil), pr.Affirm...), pr.Deny...), pr.Ambiguous...) {
			if phraseKey(ph) == "" {
				add(fmt.Sprintf("%s.phrases[%d]", f, j), "empty phrase; remove it")
			}
		}
		outcome(f+".on_missing", pr.OnMissing, Hold, Reject)
		if pr.OnDeny != "" && pr.OnDeny != "no_receipt" {
			add(f+".on_deny", "%q; use no_receipt (the sender declined confirmation) or leave it empty", pr.OnDeny)
		}
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

var ruleIDRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

var knownKinds = []filetype.Kind{filetype.PDF, filetype.DOC, filetype.XLS, filetype.PPT, filetype.MSG, filetype.DOCX, filetype.DOCM,
	filetype.XLSX, filetype.XLSM, filetype.PPTX, filetype.ODT, filetype.ODS, filetype.ZIP, filetype.P7S, filetype.P7M,
	filetype.PNG, filetype.JPEG, filetype.GIF, filetype.TIFF, filetype.RTF, filetype.XML, filetype.HTML, filetype.Text,
	filetype.EXE, filetype.ELF, filetype.MachO, filetype.Script, filetype.JAR, filetype.CMSEncrypted, filetype.EncryptedOOXML}

func kindList() string {
	var out []string
	for _, k := range knownKinds {
		if !k.Executable() && k != filetype.CMSEncrypted && k != filetype.EncryptedOOXML {
			out = append(out, string(k))
		}
	}
	return strings.Join(out, ", ")
}
