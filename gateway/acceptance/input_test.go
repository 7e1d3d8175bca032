package acceptance_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/seos"
)

// TestBase64Reader reads random ranges of plain and line-wrapped base64
// and compares them with the data.
func TestBase64Reader(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 4, 3071, 3072, 3073, 100000} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		enc := base64.StdEncoding.EncodeToString(data)
		var wrapped strings.Builder
		for i := 0; i < len(enc); i += 76 {
			wrapped.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
		}
		for _, text := range []string{enc, wrapped.String(), " \n" + enc + "\n "} {
			r, err := acceptance.NewBase64Reader(text)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != int64(n) {
				t.Fatalf("size %d, want %d", r.Size(), n)
			}
			all, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
			if err != nil || !bytes.Equal(all, data) {
				t.Fatalf("n=%d: whole read differs (%v)", n, err)
			}
			for k := 0; k < 50 && n > 0; k++ {
				off := rng.IntN(n)
				buf := make([]byte, rng.IntN(n-off)+1)
				m, err := r.ReadAt(buf, int64(off))
				if m != len(buf) || !bytes.Equal(buf, data[off:off+len(buf)]) {
					t.Fatalf("n=%d ReadAt(%d, %d) = %d %v", n, len(buf), off, m, err)
				}
			}
		}
	}
	for _, bad := range []string{"abc", "ab=c", "a===", "ab!d", "ab==cd=="} {
		if _, err := acceptance.NewBase64Reader(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzBase64Reader(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, wrap uint16) {
		enc := base64.StdEncoding.EncodeToString(data)
		if w := int(wrap%80) + 1; w > 4 {
			var b strings.Builder
			for i := 0; i < len(enc); i += w {
				b.WriteString(enc[i:min(i+w, len(enc))] + "\n")
			}
			enc = b.String()
		}
		r, err := acceptance.NewBase64Reader(enc)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		if !bytes.Equal(got, data) {
			t.Fatal("round trip differs")
		}
	})
}

func TestFromMessage(t *testing.T) {
	about, egn := "Относно кораб", "7501010010"
	kind := seos.CorrApplicant
	m := &seos.Message{Header: seos.Header{Sender: seos.Entity{Identifier: "000695089", AdministrativeBodyName: "ИАМА", GUID: "{11111111-2222-3333-4444-555555555555}"}},
		Body: seos.Body{RegistrationRequest: &seos.RegistrationRequest{Comment: "коментар", Document: seos.Document{
			Kind: "Писмо", About: &about,
			Correspondents: []seos.Correspondent{{Name: "Мария", City: "Варна", EGN: &egn, Kind: &kind}},
			Attachments:    []seos.Attachment{{FileName: "писмо.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF-1.4 x"))}},
		}}}}
	in, err := acceptance.FromMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if in.DocKind != "Писмо" || in.DocAbout != about || in.Comment != "коментар" || in.Sender.EIK != "000695089" || !in.NaturalPerson() {
		t.Fatalf("%+v", in)
	}
	b := make([]byte, in.Attachments[0].Size)
	in.Attachments[0].Content.ReadAt(b, 0)
	if string(b) != "%PDF-1.4 x" || in.Attachments[0].DeclaredMIME != "application/pdf" {
		t.Fatalf("attachment %q", b)
	}
	m.Body.RegistrationRequest.Document.Attachments[0].Body = "!!"
	if _, err := acceptance.FromMessage(m); err == nil {
		t.Error("bad base64 accepted")
	}
}
