package testkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/schemas"
)

// Schemas is a folder of the SEOS schemas peers validate with — the
// reference ones from ../shared, else the project's own written out — and
// its entry file, for xmllint and the .NET peer's XmlSchemaSet.
func Schemas(t testing.TB) (dir, entry string) {
	t.Helper()
	if dir = extools.ReferenceSchemas(t); dir != "" {
		return dir, filepath.Join(dir, "seos-all.xsd")
	}
	dir = filepath.Join(t.TempDir(), "schemas")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := schemas.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, schemas.Entry)
}
