// Package buildinfo says which seosgw this is: the version, commit and
// build date stamped by the Makefile (-ldflags -X), falling back to what
// the Go toolchain records in the binary (module version, VCS revision).
package buildinfo

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Set by the Makefile:
//
//	-ldflags "-X github.com/seosgw/seosgw/gateway/buildinfo.version=1.2.0 ..."
//
// Variables, not constants, so the linker can write them.
var (
	version string
	commit  string
	date    string
)

// Info is one binary's identity.
type Info struct {
	Version   string `json:"version"`   // e.g. 1.2.0, or "devel" for an unstamped build
	Revision  string `json:"revision"`  // the VCS commit, "unknown" when not recorded
	Date      string `json:"date"`      // build (or, unstamped, commit) time, RFC 3339
	GoVersion string `json:"goVersion"` // the toolchain that built it
	Modified  bool   `json:"modified"`  // built from a work tree with uncommitted changes
}

// Get returns this binary's Info: stamped values first, then the build
// information the Go toolchain embedded.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, date, bi)
}

// resolve is Get with its inputs given, for tests.
func resolve(stampedVersion, stampedCommit, stampedDate string, bi *debug.BuildInfo) Info {
	in := Info{Version: stampedVersion, Revision: stampedCommit, Date: stampedDate}
	if bi != nil {
		in.GoVersion = bi.GoVersion
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Revision == "" {
					in.Revision = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if strings.HasSuffix(in.Version, "-dirty") {
		in.Modified = true
	}
	for _, f := range []*string{&in.Version, &in.Revision, &in.Date, &in.GoVersion} {
		if *f == "" {
			*f = "unknown"
		}
	}
	if in.Version == "unknown" {
		in.Version = "devel"
	}
	return in
}

// String is the one-line form the start log and `seosgw version` use.
func (i Info) String() string {
	mod := ""
	if i.Modified && !strings.HasSuffix(i.Version, "-dirty") {
		mod = " (modified)"
	}
	return fmt.Sprintf("seosgw %s%s, commit %s, built %s, %s", i.Version, mod, i.Revision, i.Date, i.GoVersion)
}

// Write prints the fields one per line.
func (i Info) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "version:    %s\ncommit:     %s\nbuilt:      %s\ngo:         %s\nmodified:   %t\n",
		i.Version, i.Revision, i.Date, i.GoVersion, i.Modified)
	return err
}

// Register exports seosgw_build_info{version,revision,goversion} = 1, so
// dashboards show which version each node runs.
func Register(reg prometheus.Registerer, i Info) error {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "seosgw_build_info",
		Help:        "Always 1; the labels say which seosgw build runs (version, VCS revision, Go version).",
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion}})
	g.Set(1)
	return reg.Register(g)
}
