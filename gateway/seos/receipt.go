package seos

import (
	"strings"

	"github.com/beevik/etree"
)

// ReceiptNS is the namespace of the confirmation of receipt seosgw sends in
// DocumentStatusResponse/DocAddData with DS_REGISTERED. DocAddData is the
// schema's open slot (AdditionalDataType extends xsd:anyType, lax), so an
// element of our own namespace keeps the message valid for every peer's
// schema, and lets a receiving gateway tell a receipt from other data.
const ReceiptNS = "urn:seosgw:receipt:1"

// NewReceipt is DocAddData content confirming receipt in Bulgarian
// Cyrillic and in its Latin transliteration:
//
//	<r:Receipt xmlns:r="urn:seosgw:receipt:1">
//	  <r:Text xml:lang="bg">Потвърждаваме …</r:Text>
//	  <r:Text xml:lang="bg-Latn">Potvarzhdavame …</r:Text>
//	</r:Receipt>
func NewReceipt(cyrillic, latin string) *AnyContent {
	r := etree.NewElement("r:Receipt")
	r.CreateAttr("xmlns:r", ReceiptNS)
	for _, t := range []struct{ lang, text string }{{"bg", cyrillic}, {"bg-Latn", latin}} {
		e := r.CreateElement("r:Text")
		e.CreateAttr("xml:lang", t.lang)
		e.SetText(t.text)
	}
	return &AnyContent{Nodes: []etree.Token{r}}
}

// Receipt reads a confirmation of receipt from DocAddData: the texts of
// seosgw's Receipt element, one a line, or the content's text when it is
// text alone (a peer that writes the receipt as plain text). Other content
// is not a receipt: "".
func (c *AnyContent) Receipt() string {
	if c == nil {
		return ""
	}
	var plain strings.Builder
	for _, n := range c.Nodes {
		switch t := n.(type) {
		case *etree.Element:
			if t.Tag != "Receipt" || t.NamespaceURI() != ReceiptNS {
				return ""
			}
			var lines []string
			for _, e := range t.ChildElements() {
				if e.Tag == "Text" && e.NamespaceURI() == ReceiptNS {
					if s := strings.TrimSpace(e.Text()); s != "" {
						lines = append(lines, s)
					}
				}
			}
			return strings.Join(lines, "\n")
		case *etree.CharData:
			plain.WriteString(t.Data)
		}
	}
	return strings.TrimSpace(plain.String())
}
