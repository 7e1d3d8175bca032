// Package schemas holds the SEOS XSDs (the message, the document URI segment and its
// value types, and the W3C XML-DSig schema), embedded so the gateway can serve them
// and tests can validate against them with xmllint and the .NET peer.
package schemas

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Namespaces of the SEOS message, the document URI segment and XML-DSig.
const (
	MessagingNS   = "http://schemas.egov.bg/messaging/v1"
	DocumentURINS = "http://ereg.egov.bg/segment/0009-000001"
	DSigNS        = "http://www.w3.org/2000/09/xmldsig#"
)

// Entry is the schema to validate a Message against; its imports name the other files.
const Entry = "EGovMessaging.xsd"

// FS holds every schema file at its root.
//
//go:embed *.xsd
var FS embed.FS

// WriteDir writes all embedded schema files into dir, which must exist. The imports
// are relative, so dir/Entry is a complete schema for xmllint; the .NET peer loads
// every *.xsd in dir instead.
func WriteDir(dir string) error {
	files, err := fs.Glob(FS, "*.xsd")
	if err != nil {
		return fmt.Errorf("list embedded schemas: %w", err)
	}
	for _, name := range files {
		b, err := FS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read embedded schema %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("write schema: %w", err)
		}
	}
	return nil
}
