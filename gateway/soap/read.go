package soap

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/seosgw/seosgw/gateway/xmltok"
)

func init() {
	xmltok.Intern(EnvelopeNS, ServiceNS, "Envelope", "Header", "Body", "Submit", "request", "SubmitResponse", "SubmitResult", "Fault")
}

// EnvelopeReader reads a SOAP 1.1 envelope as it arrives and hands out the
// text of its one part (Submit/request, SubmitResponse/SubmitResult) as a
// reader, unescaped on the fly: the message inside is never held whole.
// The envelope is judged as a whole, as if read first: a fault anywhere
// (the envelope not well-formed, a second operation after the part, ...)
// wins over whatever the part held, and Finish says so.
type EnvelopeReader struct {
	tz       *xmltok.Tokenizer
	op, part string
	err      error // the tokenizer's error, once it failed
	eof      bool

	rootFault   *Fault // the root is no SOAP 1.1 Envelope
	envFault    *Fault // the first wrong child of the Envelope, or a header we must understand
	envChildren int
	envChild    int // what the Envelope child open now is
	bodySeen    bool
	bodyKids    int
	first       string // the Body's first element, as written
	isFault     bool
	faultCode   strings.Builder
	faultString strings.Builder
	faultText   *strings.Builder // faultcode or faultstring text being read
	faultStop   bool             // an element or PI ended its leading text
	opOK        bool
	opFault     *Fault
	partFault   *Fault
	partSeen    bool
	inPart      bool
	partDone    bool
	nonSpace    bool
	pending     []byte
}

// What the Envelope child being read is.
const (
	childOther = iota
	childHeader
	childBody
)

// NewEnvelopeReader reads op's envelope (Submit or SubmitResponse), whose
// part is part (request or SubmitResult), from r within lim.
func NewEnvelopeReader(r io.Reader, lim xmltok.Limits, op, part string) *EnvelopeReader {
	return &EnvelopeReader{tz: xmltok.New(r, lim), op: op, part: part}
}

func newEnvelopeReaderBytes(b []byte, op, part string) *EnvelopeReader {
	return &EnvelopeReader{tz: xmltok.NewBytes(b, envelopeLimits), op: op, part: part}
}

// envelopeLimits are the tokenizer's caps for envelopes read whole.
var envelopeLimits = xmltok.Limits{}

// Part reads up to the part's text and returns a reader of it. With no
// part it returns nil and what Finish would (a *Fault, or nil when the
// operation simply has no part).
func (e *EnvelopeReader) Part() (io.Reader, error) {
	for !e.eof && !e.inPart {
		e.step()
	}
	if e.inPart {
		return partReader{e}, nil
	}
	return nil, e.verdict()
}

// PartEmpty reports whether the part held nothing but white space (so far).
func (e *EnvelopeReader) PartEmpty() bool { return !e.nonSpace }

// Finish reads the rest of the envelope and judges it: nil, a *Fault, or
// the reader's own error.
func (e *EnvelopeReader) Finish() error {
	for !e.eof {
		e.step()
	}
	return e.verdict()
}

type partReader struct{ e *EnvelopeReader }

func (p partReader) Read(b []byte) (int, error) {
	e := p.e
	for len(e.pending) == 0 {
		if e.partDone || e.eof {
			if e.err != nil {
				return 0, e.readErr()
			}
			if e.partFault != nil {
				return 0, e.partFault
			}
			return 0, io.EOF
		}
		e.step()
		if e.partFault != nil {
			return 0, e.partFault
		}
	}
	n := copy(b, e.pending)
	e.pending = e.pending[n:]
	return n, nil
}

// readErr is what the part's reader returns when the envelope failed: the
// fault it will be judged by.
func (e *EnvelopeReader) readErr() error {
	var xe *xmltok.Error
	if errors.As(e.err, &xe) {
		f := clientFault("the request is not well-formed XML: %v", e.err)
		f.Err = e.err
		return f
	}
	return e.err
}

// step reads one token and notes what it means for the envelope.
func (e *EnvelopeReader) step() {
	tok, err := e.tz.Next()
	if err != nil {
		e.eof = true
		if err != io.EOF {
			e.err = err
		}
		return
	}
	switch tok.Kind {
	case xmltok.StartElement:
		e.start(tok)
	case xmltok.EndElement:
		if e.inPart && tok.Depth == 4 {
			e.inPart, e.partDone = false, true
		}
		if e.faultText != nil && tok.Depth == 4 {
			e.faultText = nil
		}
	case xmltok.Text:
		switch {
		case e.inPart && tok.Depth == 4:
			e.pending = tok.Data
			if !e.nonSpace && len(bytes.TrimSpace(tok.Data)) > 0 {
				e.nonSpace = true
			}
		case e.faultText != nil && !e.faultStop && tok.Depth == 4:
			e.faultText.Write(tok.Data)
		}
	case xmltok.ProcInst:
		if e.faultText != nil && tok.Depth == 4 {
			e.faultStop = true // etree's Text() stops there; comments it skips
		}
	}
}

func (e *EnvelopeReader) setEnv(f *Fault) {
	if e.envFault == nil {
		e.envFault = f
	}
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

func (e *EnvelopeReader) start(tok *xmltok.Token) {
	n := tok.Name
	switch tok.Depth {
	case 1:
		switch {
		case n.Local == "Envelope" && n.Space == soap12NS:
			e.rootFault = &Fault{Code: "VersionMismatch", String: "SOAP 1.2 is not supported; SEOS endpoints speak SOAP 1.1"}
		case n.Local != "Envelope" || n.Space != EnvelopeNS:
			e.rootFault = clientFault("the root element is %s, not a SOAP 1.1 Envelope", qname(n.Prefix, n.Local))
		}
	case 2:
		e.envChild = childOther
		switch {
		case n.Space == EnvelopeNS && n.Local == "Header" && e.envChildren == 0 && !e.bodySeen:
			e.envChild = childHeader
		case n.Space == EnvelopeNS && n.Local == "Body" && !e.bodySeen:
			e.bodySeen, e.envChild = true, childBody
		default:
			e.setEnv(clientFault("unexpected element %s in the Envelope", qname(n.Prefix, n.Local)))
		}
		e.envChildren++
	case 3:
		if e.envChild == childHeader {
			for _, a := range tok.Attr {
				if a.Local == "mustUnderstand" && a.Space == EnvelopeNS && (a.Value == "1" || a.Value == "true") {
					e.setEnv(&Fault{Code: "MustUnderstand", String: "header " + qname(n.Prefix, n.Local) + " is not understood"})
				}
			}
			return
		}
		if e.envChild != childBody {
			return
		}
		e.bodyKids++
		if e.bodyKids == 1 {
			e.first = qname(n.Prefix, n.Local)
			e.isFault = n.Space == EnvelopeNS && n.Local == "Fault"
			e.opOK = !e.isFault && n.Space == ServiceNS && n.Local == e.op
		}
	case 4:
		if e.bodyKids != 1 || e.envChild != childBody {
			return
		}
		if e.isFault {
			switch n.Local {
			case "faultcode":
				e.faultText, e.faultStop = &e.faultCode, false
			case "faultstring":
				e.faultText, e.faultStop = &e.faultString, false
			}
			return
		}
		if !e.opOK {
			return
		}
		if n.Local != e.part || n.Space != ServiceNS || e.partSeen {
			if e.opFault == nil {
				e.opFault = clientFault("unexpected element %s in %s", qname(n.Prefix, n.Local), e.op)
			}
			return
		}
		e.partSeen, e.inPart = true, !tok.SelfClosing
		if tok.SelfClosing {
			e.partDone = true
		}
	case 5:
		if e.inPart && e.partFault == nil {
			e.partFault = clientFault("%s must carry the message as text, not as element %s", e.part, qname(n.Prefix, n.Local))
		}
		if e.faultText != nil {
			e.faultStop = true
		}
	default:
		if e.faultText != nil && tok.Depth > 4 {
			e.faultStop = true
		}
	}
}

// verdict judges the envelope read so far, in the order the checks were
// made when envelopes were read whole: well-formedness first, then the
// root, the Envelope's children, the Body, the operation, its part.
func (e *EnvelopeReader) verdict() error {
	switch {
	case e.err != nil:
		return e.readErr()
	case e.rootFault != nil:
		return e.rootFault
	case e.envFault != nil:
		return e.envFault
	case !e.bodySeen:
		return clientFault("the Envelope has no Body")
	case e.bodyKids != 1:
		return clientFault("the Body must hold one element, it holds %d", e.bodyKids)
	case e.isFault:
		code := strings.TrimSpace(e.faultCode.String())
		if i := strings.IndexByte(code, ':'); i >= 0 {
			code = code[i+1:]
		}
		return &Fault{Peer: true, Code: code, String: e.faultString.String()}
	case !e.opOK:
		return clientFault("unknown operation %s; this endpoint serves {%s}%s", e.first, ServiceNS, e.op)
	case e.opFault != nil:
		return e.opFault
	case e.partFault != nil:
		return e.partFault
	}
	return nil
}

// readPart reads a whole envelope held in memory and returns its part's
// text (nil when the operation has none).
func readPart(b []byte, op, part string) ([]byte, error) {
	e := newEnvelopeReaderBytes(b, op, part)
	r, err := e.Part()
	if r == nil {
		return nil, err
	}
	text, rerr := io.ReadAll(r)
	if err := e.Finish(); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	return text, nil
}
