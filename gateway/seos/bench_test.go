package seos

import (
	"strings"
	"testing"
)

// BenchmarkParseValidate reads and schema-checks messages of the sizes the
// issue names (the attachment dominates the larger two).
func BenchmarkParseValidate(b *testing.B) {
	for _, s := range []struct {
		name string
		att  int
	}{{"2KiB", 600}, {"1MiB", 750 << 10}, {"10MiB", 7680 << 10}} {
		m := fullMessage()
		m.Body.RegistrationRequest.Document.Attachments = []Attachment{{FileName: "a.pdf", MIMEType: "application/pdf",
			Body: Base64Of([]byte(strings.Repeat("%PDF", s.att/4)))}}
		m.Body.RegistrationRequest.Document.AuthorSignature = nil
		raw, err := m.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
