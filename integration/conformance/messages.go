package conformance

import (
	"fmt"
	"math/rand/v2"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/xmldsig"
)

// registration is a DocumentRegistrationRequest from the test participant
// to the participant about a new document, numbered in the harness's own
// register of sent documents.
func (s *suite) registration(about, comment string, atts ...seos.Attachment) *seos.Message {
	s.docSeq++
	now := s.clk.Now()
	doc := seos.Document{
		ID: seos.DocumentID{
			Number: &seos.DocumentNumber{Number: fmt.Sprintf("ДАЕУ-ТЕСТ-%s-%d", s.runID, s.docSeq), Date: seos.DateOf(now)},
			GUID:   seos.NewGUID(),
		},
		Kind: "Писмо",
		Correspondents: []seos.Correspondent{{Name: s.self.AdministrativeBodyName, City: "София",
			Kind: ptr(seos.CorrOther)}},
		Attachments: atts,
		About:       seos.Str(about),
	}
	if len(atts) == 0 {
		doc.Attachments = []seos.Attachment{{FileName: "писмо.txt", MIMEType: "text/plain",
			Body: seos.Base64Of([]byte("Тестово писмо от изпитването за съответствие на ДАЕУ.\n" + about + "\n"))}}
	}
	return seos.NewMessage(s.self, s.targetEntity, now, seos.Body{RegistrationRequest: &seos.RegistrationRequest{Document: doc, Comment: comment}})
}

// statusRequest asks the participant about a document.
func (s *suite) statusRequest(docGUID string) *seos.Message {
	return seos.NewMessage(s.self, s.targetEntity, s.clk.Now(), seos.Body{StatusRequest: &seos.StatusRequest{DocID: seos.DocumentID{GUID: docGUID}}})
}

// sign builds, signs and serialises m as id.
func sign(m *seos.Message, id *pki.Identity) ([]byte, error) {
	doc, err := m.Document()
	if err != nil {
		return nil, err
	}
	return signDoc(doc, id)
}

func signDoc(doc *etree.Document, id *pki.Identity) ([]byte, error) {
	if err := (&xmldsig.Signer{Key: id.Key, Cert: id.Cert, Hash: xmldsig.SHA256}).Sign(doc); err != nil {
		return nil, err
	}
	return seos.WriteCompact(doc)
}

// largeAttachment is size bytes a participant cannot compress away.
func largeAttachment(size int) seos.Attachment {
	r := rand.New(rand.NewChaCha8([32]byte{'s', 'e', 'o', 's'}))
	b := make([]byte, size)
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return seos.Attachment{FileName: fmt.Sprintf("голям-файл-%dMiB.bin", size>>20), MIMEType: "application/octet-stream",
		Comment: seos.Str("тестов файл за проверка на големи съобщения"), Body: seos.Base64Of(b)}
}

func ptr[T any](v T) *T { return &v }
