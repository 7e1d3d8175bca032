package seos

import "github.com/beevik/etree"

// fullMessage sets every element the schema has, for round trips.
func fullMessage() *Message {
	kind := CorrApplicant
	add, err := ParseAnyContent(`<x:Extra xmlns:x="urn:example:extra" a="1">данни<x:Inner>2</x:Inner></x:Extra><plain>без пространство</plain>`)
	if err != nil {
		panic(err)
	}
	sig := etree.NewElement("Signature")
	sig.CreateAttr("xmlns", NSDSig)
	si := sig.CreateElement("SignedInfo")
	si.CreateElement("CanonicalizationMethod").CreateAttr("Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
	si.CreateElement("SignatureMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
	ref := si.CreateElement("Reference")
	ref.CreateAttr("URI", "")
	ref.CreateElement("DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")
	ref.CreateElement("DigestValue").SetText("AAAA")
	sig.CreateElement("SignatureValue").SetText("AAAA")
	return &Message{
		Header: Header{
			Version:     Version,
			MessageType: TypeRegistrationRequest,
			MessageDate: "2026-11-23T10:15:00.123+02:00",
			Sender:      Entity{Identifier: "000695089", AdministrativeBodyName: "Министерство на електронното управление", GUID: "{0A1B2C3D-0000-4000-8000-000000000001}"},
			Recipient:   Entity{Identifier: "121857413", AdministrativeBodyName: "Община Благоевград", GUID: "{0a1b2c3d-0000-4000-8000-000000000002}"},
			MessageGUID: "{5f0e9a3c-1d2b-4c5d-8e7f-000000000003}",
		},
		Body: Body{RegistrationRequest: &RegistrationRequest{
			Document: Document{
				ID:       DocumentID{URI: &DocumentURI{RegisterIndex: ptr(Integer("12")), SequenceNumber: ptr(Integer("345")), ReceiptOrSigningDate: ptr(Date("2026-11-20"))}, GUID: "{5f0e9a3c-1d2b-4c5d-8e7f-000000000004}"},
				ParentID: &DocumentID{Number: &DocumentNumber{Number: "МЕУ-12-34", Date: "2026-10-01"}, GUID: "{5f0e9a3c-1d2b-4c5d-8e7f-000000000005}"},
				Kind:     "Писмо",
				Correspondents: []Correspondent{
					{Name: "Иван Петров", City: "София", Address: Str("ул. „Шипка“ 6"), EGN: Str("8001010000"), IDCard: Str("645123456"),
						BULSTAT: Str("000695089"), EMail: Str("ivan@example.bg"), Phone: Str("+359 2 000 0000"), MobilePhone: Str("+359 88 000 0000"),
						MOL: Str("Петър Иванов"), Comment: Str("заявител"), Kind: &kind},
					{Name: "Фирма ЕООД", City: "Пловдив"},
				},
				Attachments: []Attachment{
					{FileName: "писмо.pdf", Body: Base64Of([]byte("%PDF-1.4 test")), Comment: Str("основен документ"), MIMEType: "application/pdf"},
					{FileName: "note.txt", Body: Base64Of([]byte("a & b < c > d\r\n")), MIMEType: "text/plain"},
				},
				About:           Str("Относно: тест <&> \"кавички\""),
				Service:         &Service{Name: "Издаване на удостоверение", Type: "Нормална", Code: "2345"},
				Comment:         Str("коментар\nна два реда"),
				AddData:         add,
				ReqDateClose:    ptr(Date("2026-12-31")),
				AttentionTo:     Str("г-н Иванов"),
				AuthorSignature: &AnyContent{Nodes: []etree.Token{sig}},
			},
			Comment: "Изпращане за регистрация",
		}},
	}
}
