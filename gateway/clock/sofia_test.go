package clock_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// Sofia is the one zone: product code outside this package neither loads a
// zone nor makes a fixed-offset one (an "EET" fallback is an hour wrong in
// summer). Tests may build offsets to feed the code odd input.
func TestSofiaIsTheOneZone(t *testing.T) {
	root := extools.RepoRoot()
	self := filepath.Join(root, "gateway", "clock")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path == self || path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "build") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "time" && (sel.Sel.Name == "LoadLocation" || sel.Sel.Name == "FixedZone") {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s calls time.%s: use clock.Sofia", rel, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Error("the walk saw no Go files")
	}
}
