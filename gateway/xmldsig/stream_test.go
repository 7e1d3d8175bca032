package xmldsig

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/seos"
)

// TestWriteSignedAsSignMessage: a message whose attachments are kept
// elsewhere, written as a stream, is byte for byte the message with the
// same attachments inline signed as a tree, and verifies (here, and with
// xmlsec1).
func TestWriteSignedAsSignMessage(t *testing.T) {
	p := getPKI(t)
	big := bytes.Repeat([]byte("%PDF-1.4 данни \x00\xff"), 20000) // several chunks, not whole quanta
	small := []byte("малък")
	files := map[string][]byte{"f1": big}
	open := func(s *seos.StoredBody) (io.ReadCloser, error) {
		b, ok := files[s.Blob]
		if !ok {
			return nil, errors.New("no such file")
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	m, _, err := seos.Parse(message(t, 700))
	if err != nil {
		t.Fatal(err)
	}
	atts := &m.Body.RegistrationRequest.Document.Attachments
	*atts = append(*atts,
		seos.Attachment{FileName: "голям.pdf", MIMEType: "application/pdf", Stored: &seos.StoredBody{Size: int64(len(big)), Blob: "f1"}},
		seos.Attachment{FileName: "малък.txt", MIMEType: "text/plain", Stored: &seos.StoredBody{Size: int64(len(small)), Data: small}},
		seos.Attachment{FileName: "празен.txt", MIMEType: "text/plain", Stored: &seos.StoredBody{Size: 0, Data: nil}})
	for _, h := range []Hash{SHA256, SHA1} {
		signer := p.signer(p.a, h)
		var streamed bytes.Buffer
		if err := signer.WriteSigned(&streamed, m, open); err != nil {
			t.Fatal(err)
		}
		whole := *m
		copied := *m.Body.RegistrationRequest
		whole.Body.RegistrationRequest = &copied
		copied.Document.Attachments = append([]seos.Attachment(nil), *atts...)
		for i := range copied.Document.Attachments {
			if a := &copied.Document.Attachments[i]; a.Stored != nil {
				data := a.Stored.Data
				if a.Stored.Blob != "" {
					data = files[a.Stored.Blob]
				}
				a.Body, a.Stored = seos.Base64Of(data), nil
			}
		}
		want, err := signer.SignMessage(&whole)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(streamed.Bytes(), want) {
			t.Fatalf("%s: streamed bytes differ from the tree's (%d vs %d bytes)", h, streamed.Len(), len(want))
		}
		if _, err := verifyBytes(t, streamed.Bytes()); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		file := writeTemp(t, "streamed.xml", streamed.Bytes())
		if r := xmlsecVerify(t, p, file); !r.OK() {
			t.Fatalf("xmlsec1: %s", r.Stderr)
		}
	}
	// A file that is not what was stored is refused, not sent.
	files["f1"] = big[:len(big)-1]
	if err := p.signer(p.a, SHA256).WriteSigned(io.Discard, m, open); err == nil || !strings.Contains(err.Error(), "were stored") {
		t.Errorf("short file: %v", err)
	}
}
