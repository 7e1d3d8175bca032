package config_test

import (
	"go/build"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/seos"
)

// TestConfigIsALeaf keeps config plain data: the packages of the gateway
// take their own options, and gateway/node maps the file to them.
func TestConfigIsALeaf(t *testing.T) {
	pkg, err := build.Default.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/seosgw/seosgw/") {
			t.Errorf("gateway/config imports %s", imp)
		}
	}
}

// TestGUIDPatternIsSeos: config checks GUIDs without importing seos; the
// two must agree.
func TestGUIDPatternIsSeos(t *testing.T) {
	for _, g := range []string{seos.NewGUID(), "{7060EFA8-F1FA-4938-8B2B-12A78C86988F}", "7060efa8-f1fa-4938-8b2b-12a78c86988f",
		"{7060efa8-f1fa-4938-8b2b-12a78c86988}", "{7060efa8-f1fa-4938-8b2b-12a78c86988g}", "{7060efa8f1fa-4938-8b2b-12a78c86988f0}",
		"{7060efa8-f1fa-4938-8b2b-12a78c86988f}\n", "", "{}"} {
		yaml := "participant: {guid: \"" + strings.ReplaceAll(g, "\n", `\n`) + "\"}\n"
		_, err := config.Parse([]byte(yaml), t.TempDir())
		ours := err == nil || !strings.Contains(err.Error(), "participant.guid")
		if ours != seos.IsGUID(g) {
			t.Errorf("%q: config says GUID %v, seos %v", g, ours, seos.IsGUID(g))
		}
	}
}
