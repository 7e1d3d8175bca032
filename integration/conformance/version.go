package conformance

import (
	"runtime/debug"
	"strings"
)

// Build identifies the harness that made a report, so a filed report says
// which code judged the participant.
type Build struct {
	Version  string `json:"version,omitempty"`  // a release's version, when one was stamped in
	Module   string `json:"module,omitempty"`   // the main module's version as Go recorded it
	Revision string `json:"revision,omitempty"` // VCS commit
	Time     string `json:"time,omitempty"`     // commit time
	Modified bool   `json:"modified,omitempty"` // built from a work tree with changes
	Go       string `json:"go,omitempty"`
}

// ReadBuild describes the running binary. version is what a release build
// stamps in (ldflags -X, for a later `seosgw version`); "" when none was.
func ReadBuild(version string) Build {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return buildOf(version, bi)
}

func buildOf(version string, bi *debug.BuildInfo) Build {
	b := Build{Version: version}
	if bi == nil {
		return b
	}
	b.Go = bi.GoVersion
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Module = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
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
	case b.Module != "":
		parts = append(parts, b.Module)
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
