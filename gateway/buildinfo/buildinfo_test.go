package buildinfo

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	module := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}
	for _, c := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"stamped wins", "1.2.0", "deadbeef", "2026-03-01T00:00:00Z", vcs,
			Info{Version: "1.2.0", Revision: "deadbeef", Date: "2026-03-01T00:00:00Z", GoVersion: "go1.26.8", Modified: true}},
		{"from VCS stamps", "", "", "", vcs,
			Info{Version: "devel", Revision: "abc123", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.26.8", Modified: true}},
		{"go install of a tagged module", "", "", "", module,
			Info{Version: "v1.4.0", Revision: "unknown", Date: "unknown", GoVersion: "go1.26.8"}},
		{"dirty describe", "1.2.0-3-gabc-dirty", "abc", "", nil,
			Info{Version: "1.2.0-3-gabc-dirty", Revision: "abc", Date: "unknown", GoVersion: "unknown", Modified: true}},
		{"nothing known", "", "", "", nil, Info{Version: "devel", Revision: "unknown", Date: "unknown", GoVersion: "unknown"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := resolve(c.version, c.commit, c.date, c.bi); got != c.want {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// The test binary is built by the go tool, which records its version.
func TestGetKnowsTheToolchain(t *testing.T) {
	i := Get()
	if !strings.HasPrefix(i.GoVersion, "go1.") {
		t.Errorf("GoVersion %q", i.GoVersion)
	}
	var b bytes.Buffer
	if err := i.Write(&b); err != nil || !strings.Contains(b.String(), "version:    "+i.Version) {
		t.Errorf("Write: %q %v", b.String(), err)
	}
	if !strings.HasPrefix(i.String(), "seosgw "+i.Version) {
		t.Errorf("String: %q", i.String())
	}
}

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := Register(reg, Info{Version: "1.2.0", Revision: "abc", GoVersion: "go1.26.8"}); err != nil {
		t.Fatal(err)
	}
	want := `# HELP seosgw_build_info Always 1; the labels say which seosgw build runs (version, VCS revision, Go version).
# TYPE seosgw_build_info gauge
seosgw_build_info{goversion="go1.26.8",revision="abc",version="1.2.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "seosgw_build_info"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
