package conformance

import (
	"strings"

	"github.com/seosgw/seosgw/gateway/buildinfo"
)

// Build identifies the harness that made a report, so a filed report says
// which code judged the participant.
type Build struct {
	Version  string `json:"version,omitempty"`  // a release's version, when one was stamped in
	Revision string `json:"revision,omitempty"` // VCS commit
	Time     string `json:"time,omitempty"`     // commit time
	Modified bool   `json:"modified,omitempty"` // built from a work tree with changes
	Go       string `json:"go,omitempty"`
}

// BuildOf describes the binary the harness runs in, from the identity
// gateway/buildinfo resolves (stamped by the Makefile, else Go's build info),
// so the report and `seosgw version` never disagree.
func BuildOf(i buildinfo.Info) Build {
	b := Build{Revision: i.Revision, Time: i.Date, Modified: i.Modified, Go: i.GoVersion}
	if i.Version != "devel" {
		b.Version = i.Version
	}
	if b.Revision == "unknown" {
		b.Revision = ""
	}
	if b.Time == "unknown" {
		b.Time = ""
	}
	if b.Go == "unknown" {
		b.Go = ""
	}
	return b
}

// String is one line for logs: version, commit, Go.
func (b Build) String() string { return b.Text(English) }

// Text is the line the report shows, in its language.
func (b Build) Text(l Lang) string {
	var parts []string
	switch {
	case b.Version != "":
		parts = append(parts, b.Version)
	default:
		parts = append(parts, l.pick("development build", "версия за разработка"))
	}
	if b.Revision != "" {
		rev := b.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if b.Modified {
			rev += l.pick(" with uncommitted changes", " с непубликувани промени")
		}
		if b.Time != "" {
			rev += " (" + b.Time + ")"
		}
		parts = append(parts, l.pick("commit %s", "къмит %s", rev))
	}
	if b.Go != "" {
		parts = append(parts, b.Go)
	}
	return strings.Join(parts, ", ")
}
