package testkit_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// TestOnlyTestsImportTheKit keeps the kit out of the binary: product code
// never imports it, only _test.go files do.
func TestOnlyTestsImportTheKit(t *testing.T) {
	const kit = "github.com/seosgw/seosgw/gateway/testkit"
	root := extools.RepoRoot()
	users := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "build") {
			return filepath.SkipDir
		}
		pkg, err := build.Default.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		if slices.Contains(pkg.Imports, kit) {
			t.Errorf("%s imports the test kit outside its tests", pkg.ImportPath)
		}
		if slices.Contains(pkg.TestImports, kit) || slices.Contains(pkg.XTestImports, kit) {
			users++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if users == 0 {
		t.Error("no test uses the kit: the walk saw nothing")
	}
}
