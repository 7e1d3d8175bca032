package seos

import (
	"fmt"
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

// BenchmarkHostileAddData: shapes that once made parsing quadratic or worse
// (many siblings under DocAddData; many namespaces in scope of many
// children). ns/op for n and 2n should about double, not quadruple.
func BenchmarkHostileAddData(b *testing.B) {
	base, err := fullMessage().Marshal()
	if err != nil {
		b.Fatal(err)
	}
	for _, shape := range []string{"siblings", "namespaces"} {
		for _, n := range []int{1000, 2000, 4000} {
			var add, decls strings.Builder
			if shape == "namespaces" {
				for p := 0; p < 60; p++ {
					fmt.Fprintf(&decls, ` xmlns:p%d="urn:p%d"`, p, p)
				}
			}
			for i := 0; i < n; i++ {
				switch shape {
				case "siblings":
					add.WriteString("<a/>")
				case "namespaces":
					fmt.Fprintf(&add, `<p%d:e/>`, i%60)
				}
			}
			doc := strings.Replace(string(base), "<DocAddData>", "<DocAddData"+decls.String()+">"+add.String(), 1)
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, _, err := Parse([]byte(doc)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
