package ais

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// RequestHash is the SHA-256 of the request's JSON, however the contents
// are hashed.
func TestRequestHashIsTheJSONs(t *testing.T) {
	for _, in := range []*Outgoing{
		{Recipient: "x", Kind: "Писмо", Comment: "<&>", Attachments: []Attachment{{FileName: "a", MIMEType: "b", Content: "QUJD"}, {FileName: "c", MIMEType: "d", Content: ""}}},
		{Recipient: "x", Kind: "k", Attachments: []Attachment{{FileName: "a", MIMEType: "b", Content: "QU\nJD"}}},
		{Recipient: "x", Kind: "k"},
	} {
		b, _ := json.Marshal(in)
		sum := sha256.Sum256(b)
		got, err := RequestHash(in)
		if err != nil || got != hex.EncodeToString(sum[:]) {
			t.Errorf("%+v: %s %v, want %x", in, got, err, sum)
		}
		// With a tee: the same hash, and each content as it is.
		tees := make([]strings.Builder, len(in.Attachments))
		got, err = RequestHashTee(in, func(i int) io.Writer { return &tees[i] })
		if err != nil || got != hex.EncodeToString(sum[:]) {
			t.Errorf("%+v teed: %s %v, want %x", in, got, err, sum)
		}
		for i := range tees {
			if tees[i].String() != in.Attachments[i].Content {
				t.Errorf("%+v: tee %d got %q", in, i, tees[i].String())
			}
		}
	}
}

// A large content is lifted out of the request and read from there: the
// queued document, and the request's hash, are those of the content
// decoded the usual way, whatever escapes the AIS's JSON used.
func TestLiftedContent(t *testing.T) {
	content := strings.Repeat("QUJDRA==", 1) // replaced below by a large one
	big := make([]byte, 3*liftMin)
	for i := range big {
		big[i] = byte(i * 7)
	}
	content = base64.StdEncoding.EncodeToString(big)
	// As PHP writes it (\/), with a line break and an escaped letter.
	plainEsc := content[:100] + "\n" + content[100:]
	escaped := strings.ReplaceAll(strings.ReplaceAll(plainEsc, "/", `\/`), "\n", `\n`)
	escaped = strings.Replace(escaped, "A", `\u0041`, 1)
	for name, body := range map[string]string{"plain": content, "escaped": escaped} {
		t.Run(name, func(t *testing.T) {
			req := `{"recipient":"x","kind":"Писмо","attachments":[{"fileName":"a.bin","mimeType":"application/octet-stream","content":"` + body + `"}]}`
			small, spans, err := liftContents([]byte(req), liftMin)
			if err != nil || len(spans) != 1 || len(small) > 300 {
				t.Fatalf("lift: %d spans, %d bytes left, %v", len(spans), len(small), err)
			}
			var in Outgoing
			if err := DecodeJSON(strings.NewReader(string(small)), &in, false); err != nil {
				t.Fatal(err)
			}
			n, ok := liftedIndex(in.Attachments[0].Content)
			if !ok || n != 0 {
				t.Fatalf("content %q", in.Attachments[0].Content)
			}
			in.Attachments[0].raw, in.Attachments[0].Content = spans[0], ""
			var usual Outgoing
			if err := json.Unmarshal([]byte(req), &usual); err != nil {
				t.Fatal(err)
			}
			if name == "escaped" && usual.Attachments[0].Content != plainEsc {
				t.Fatal("the test's escapes do not mean what it thinks")
			}
			want, _ := RequestHash(&usual)
			if got, err := RequestHash(&in); err != nil || got != want {
				t.Errorf("hash %s %v, want %s", got, err, want)
			}
			got, err := io.ReadAll(in.Attachments[0].contentReader())
			if err != nil || strings.Map(func(r rune) rune {
				if r == '\n' {
					return -1
				}
				return r
			}, string(got)) != strings.ReplaceAll(usual.Attachments[0].Content, "\n", "") {
				t.Errorf("content read back differs: %v", err)
			}
		})
	}
	// What encoding/json refuses in a string is refused lifted too.
	for _, bad := range []string{"QUJD\x01", `QUJD\q`, `QUJD\u00G1`} {
		req := `{"attachments":[{"content":"` + bad + strings.Repeat("A", liftMin) + `"}]}`
		if _, _, err := liftContents([]byte(req), liftMin); err == nil {
			t.Errorf("%q lifted", bad)
		}
	}
}
