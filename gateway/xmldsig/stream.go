package xmldsig

import (
	"io"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// VerifyReader checks the message signature of the document open reads,
// as Verify does, reading it once as a stream: of the document only the
// root's start and the message Signature are kept. open is called again
// only for a digest the single pass does not compute.
func VerifyReader(open func() (io.ReadCloser, error), opts Options) (*Result, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d := NewDigester()
	doc := etree.NewDocument()
	var tb xmldoc.TreeBuilder
	var sig *etree.Element
	keep := false // inside the message signature
	err = eachToken(r, func(tok *xmltok.Token) {
		d.Token(tok)
		switch {
		case tok.Kind == xmltok.StartElement && tok.Depth == 1:
			tb.Reset(&doc.Element)
			tb.Add(tok) // the root, for the namespaces SignedInfo inherits
		case tok.Kind == xmltok.StartElement && tok.Depth == 2 && sig == nil && tok.Name.Local == "Signature" && tok.Name.Space == Namespace:
			keep = true
			tb.Add(tok)
			sig = tb.Current()
		case keep:
			tb.Add(tok)
			if tok.Kind == xmltok.EndElement && tok.Depth == 2 {
				keep = false
			}
		}
	})
	if err != nil {
		return nil, err
	}
	opts.Reread = func(f func(*xmltok.Token)) error {
		r, err := open()
		if err != nil {
			return err
		}
		defer r.Close()
		return eachToken(r, f)
	}
	return VerifyDigested(d, sig, opts)
}

func eachToken(r io.Reader, f func(*xmltok.Token)) error {
	return xmltok.NewSize(r, xmldoc.Limits, 64<<10).Each(f)
}
