package seos

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// SchemaError is a message that breaks the SEOS schema; Path names the
// element, e.g. /Message/Header/MessageGUID.
type SchemaError struct {
	Path string
	Msg  string
}

func (e *SchemaError) Error() string { return e.Path + ": " + e.Msg }

// Quirk is a departure from the schema that a production peer sends and
// that the gateway accepts on purpose; each is counted and logged.
type Quirk string

// QuirkEmptyAttachmentList is <DocAttachmentList/> without an Attachment:
// the deployed .NET node serialises a document without files so (an empty
// array) and accepts it itself; the schema wants at least one Attachment.
const QuirkEmptyAttachmentList Quirk = "empty_attachment_list"

// Validate checks a parsed document against the SEOS message schema,
// exactly: it tolerates nothing.
func Validate(doc *etree.Document) error {
	_, err := validate(doc, false, nil)
	return err
}

// validate checks doc; with tolerate it accepts the known quirks and
// reports which it met.
func validate(doc *etree.Document, tolerate bool, bodies map[*etree.Element]*bodyStream) ([]Quirk, error) {
	root := doc.Root()
	if root == nil {
		return nil, &SchemaError{Path: "/", Msg: "no root element"}
	}
	v := &validator{ids: map[string]bool{}, tolerate: tolerate, bodies: bodies}
	if ns := root.NamespaceURI(); ns != NS || root.Tag != "Message" {
		return nil, &SchemaError{Path: "/" + root.Tag, Msg: fmt.Sprintf("root element must be Message in namespace %s, found %s", NS, qname(ns, root.Tag))}
	}
	if err := v.element(root, messageDecl, "/Message"); err != nil {
		return nil, err
	}
	return v.quirks, nil
}

type validator struct {
	ids      map[string]bool // xsd:ID values seen, which must be unique
	tolerate bool
	quirks   []Quirk
	// bodies are AttBody elements whose text was checked as it streamed
	// past (ReadMessage) and is not in the tree.
	bodies map[*etree.Element]*bodyStream
}

func qname(ns, local string) string {
	if ns == "" {
		return local
	}
	return "{" + ns + "}" + local
}

// name renders a declared element for messages: plain for SEOS, prefixed otherwise.
func (e *element) label() string {
	switch e.ns {
	case NS:
		return e.name
	case NSDSig:
		return "ds:" + e.name
	}
	return qname(e.ns, e.name)
}

func (v *validator) element(x *etree.Element, d *element, path string) error {
	if err := v.attributes(x, d, path); err != nil {
		return err
	}
	switch {
	case d.anyType:
		return v.lax(x, path)
	case d.simple != nil:
		text, err := simpleText(x, path)
		if err != nil {
			return err
		}
		if b := v.bodies[x]; b != nil {
			if b.checked != nil {
				return &SchemaError{Path: path, Msg: b.checked.Msg}
			}
			return nil
		}
		return checkSimple(text, d.simple, path)
	}
	kids := make([]*etree.Element, 0, len(x.Child))
	for _, tok := range x.Child {
		switch t := tok.(type) {
		case *etree.Element:
			kids = append(kids, t)
		case *etree.CharData:
			if !d.mixed && !t.IsWhitespace() {
				return &SchemaError{Path: path, Msg: fmt.Sprintf("text %q is not allowed here (element-only content)", shorten(t.Data))}
			}
		}
	}
	if len(kids) == 0 && d == attachmentListDecl && v.tolerate {
		v.quirks = append(v.quirks, QuirkEmptyAttachmentList) // no attachments
		return nil
	}
	paths := childPaths(path, kids)
	if d.content == nil {
		if len(kids) > 0 {
			return &SchemaError{Path: paths[0], Msg: "no child elements are allowed here"}
		}
		return nil
	}
	i, err := v.match(d.content, kids, paths, 0, path)
	if err != nil {
		return err
	}
	if i < len(kids) {
		k := kids[i]
		return &SchemaError{Path: paths[i], Msg: fmt.Sprintf("unexpected element %s%s", qname(k.NamespaceURI(), k.Tag), after(kids, i))}
	}
	return nil
}

func after(kids []*etree.Element, i int) string {
	if i == 0 {
		return ""
	}
	return " after " + kids[i-1].Tag
}

// childPaths names each child once, in one pass over the siblings;
// repeated names get a 1-based index.
func childPaths(path string, kids []*etree.Element) []string {
	type key struct{ space, tag string }
	total := make(map[key]int, len(kids))
	for _, k := range kids {
		total[key{k.Space, k.Tag}]++
	}
	seen := make(map[key]int, len(total))
	out := make([]string, len(kids))
	for i, k := range kids {
		kk := key{k.Space, k.Tag}
		seen[kk]++
		if total[kk] > 1 {
			out[i] = fmt.Sprintf("%s/%s[%d]", path, k.Tag, seen[kk])
		} else {
			out[i] = path + "/" + k.Tag
		}
	}
	return out
}

// match consumes kids[i:] against p's occurrences and returns the next index.
func (v *validator) match(p *particle, kids []*etree.Element, paths []string, i int, path string) (int, error) {
	count := 0
	for p.max < 0 || count < p.max {
		if i >= len(kids) || !starts(p, kids[i]) {
			break
		}
		j, err := v.matchOnce(p, kids, paths, i, path)
		if err != nil {
			return i, err
		}
		if j == i {
			break
		}
		i, count = j, count+1
	}
	if count < p.min && !(count == 0 && nullableOnce(p)) {
		return i, missing(p, kids, paths, i, path)
	}
	return i, nil
}

func (v *validator) matchOnce(p *particle, kids []*etree.Element, paths []string, i int, path string) (int, error) {
	switch p.kind {
	case pElement:
		return i + 1, v.element(kids[i], p.elem, paths[i])
	case pAny:
		k := kids[i]
		if d := globals[[2]string{k.NamespaceURI(), k.Tag}]; d != nil {
			return i + 1, v.element(k, d, paths[i])
		}
		if p.strict {
			return i, &SchemaError{Path: paths[i], Msg: fmt.Sprintf("no declaration is known for %s (strict wildcard)", qname(k.NamespaceURI(), k.Tag))}
		}
		return i + 1, v.lax(k, paths[i])
	case pSequence:
		var err error
		for _, item := range p.items {
			if i, err = v.match(item, kids, paths, i, path); err != nil {
				return i, err
			}
		}
		return i, nil
	default: // choice
		for _, item := range p.items {
			if i < len(kids) && starts(item, kids[i]) {
				return v.match(item, kids, paths, i, path)
			}
		}
		return i, nil
	}
}

// starts reports whether p can begin with element k (its first set).
func starts(p *particle, k *etree.Element) bool {
	switch p.kind {
	case pElement:
		return k.Tag == p.elem.name && k.NamespaceURI() == p.elem.ns
	case pAny:
		ns := k.NamespaceURI()
		return p.anyNS == anyNS || (ns != p.anyOwner && ns != "")
	case pSequence:
		for _, item := range p.items {
			if starts(item, k) {
				return true
			}
			if !nullable(item) {
				return false
			}
		}
		return false
	default:
		for _, item := range p.items {
			if starts(item, k) {
				return true
			}
		}
		return false
	}
}

func nullable(p *particle) bool { return p.min == 0 || nullableOnce(p) }

// nullableOnce reports whether one occurrence of p may be empty.
func nullableOnce(p *particle) bool {
	switch p.kind {
	case pSequence:
		for _, item := range p.items {
			if !nullable(item) {
				return false
			}
		}
		return true
	case pChoice:
		for _, item := range p.items {
			if nullable(item) {
				return true
			}
		}
	}
	return false
}

func missing(p *particle, kids []*etree.Element, paths []string, i int, path string) error {
	want := expected(p)
	if i < len(kids) {
		k := kids[i]
		return &SchemaError{Path: paths[i], Msg: fmt.Sprintf("expected %s, found %s", want, qname(k.NamespaceURI(), k.Tag))}
	}
	return &SchemaError{Path: path, Msg: "missing " + want}
}

func expected(p *particle) string {
	switch p.kind {
	case pElement:
		return p.elem.label()
	case pAny:
		return "an element (" + p.anyNS + ")"
	case pSequence:
		for _, item := range p.items {
			if !nullable(item) {
				return expected(item)
			}
		}
		return expected(p.items[0])
	default:
		names := make([]string, len(p.items))
		for i, item := range p.items {
			names[i] = expected(item)
		}
		return "one of " + strings.Join(names, ", ")
	}
}

// lax assesses content under a lax wildcard or xsd:anyType: elements with a
// known global declaration are validated, others are walked for such elements.
func (v *validator) lax(x *etree.Element, path string) error {
	kids := x.ChildElements()
	paths := childPaths(path, kids)
	for i, k := range kids {
		p := paths[i]
		if d := globals[[2]string{k.NamespaceURI(), k.Tag}]; d != nil {
			if err := v.element(k, d, p); err != nil {
				return err
			}
			continue
		}
		if err := v.lax(k, p); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) attributes(x *etree.Element, d *element, path string) error {
	seen := 0
	for _, a := range x.Attr {
		if a.Space == nsXMLNS || (a.Space == "" && a.Key == nsXMLNS) {
			continue
		}
		ns := ""
		if a.Space != "" {
			ns = a.NamespaceURI()
		}
		if ns == nsXSI {
			switch a.Key {
			case "schemaLocation", "noNamespaceSchemaLocation":
				continue
			}
			return &SchemaError{Path: path + "/@" + a.FullKey(), Msg: "xsi:type and xsi:nil are not accepted in SEOS messages"}
		}
		var decl *attrDecl
		if ns == "" {
			for i := range d.attrs {
				if d.attrs[i].name == a.Key {
					decl = &d.attrs[i]
				}
			}
		}
		if decl == nil {
			if d.anyAttr || d.anyType {
				continue
			}
			return &SchemaError{Path: path + "/@" + a.FullKey(), Msg: "attribute is not allowed here"}
		}
		seen++
		if err := checkSimple(a.Value, decl.typ, path+"/@"+a.Key); err != nil {
			return err
		}
		if decl.typ.kind == sID {
			if v.ids[a.Value] {
				return &SchemaError{Path: path + "/@" + a.Key, Msg: fmt.Sprintf("ID %q is used twice in the document", a.Value)}
			}
			v.ids[a.Value] = true
		}
	}
	for _, decl := range d.attrs {
		if decl.required && x.SelectAttr(decl.name) == nil {
			return &SchemaError{Path: path, Msg: "missing required attribute " + decl.name}
		}
	}
	return nil
}

// simpleText returns the character content of a simple-typed element.
func simpleText(x *etree.Element, path string) (string, error) {
	var only string
	var b *strings.Builder
	n := 0
	for _, tok := range x.Child {
		switch t := tok.(type) {
		case *etree.Element:
			return "", &SchemaError{Path: path, Msg: fmt.Sprintf("element %s is not allowed in text content", t.Tag)}
		case *etree.CharData:
			n++
			if n == 1 {
				only = t.Data
				continue
			}
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(only)
			}
			b.WriteString(t.Data)
		}
	}
	if b != nil {
		return b.String(), nil
	}
	return only, nil
}

func checkSimple(s string, t *simpleType, path string) error {
	ok := true
	var want string
	switch t.kind {
	case sString:
		return nil
	case sAnyURI:
		ok, want = isAnyURI(s), "a URI (xsd:anyURI)"
	case sGUID:
		ok, want = IsGUID(s), "a GUID in braces, {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}"
	case sDate:
		ok, want = IsDate(s), "an xsd:date, YYYY-MM-DD with an optional time zone"
	case sDateTime:
		ok, want = IsDateTime(s), "an xsd:dateTime, YYYY-MM-DDThh:mm:ss[.fff][zone]"
	case sInteger:
		ok, want = isInteger(s, false), "an integer (at most 24 digits)"
	case sBigInteger:
		ok, want = isBigInteger(s), "an integer"
	case sPositiveInteger:
		ok, want = isInteger(s, true), "an integer of at least 1 (at most 24 digits)"
	case sBase64:
		ok, want = IsBase64(s), "base64 data"
	case sID:
		ok, want = isNCName(s), "an XML name (xsd:ID)"
	case sEnum:
		ok = false
		for _, e := range t.values {
			if s == e {
				ok = true
			}
		}
		want = "one of " + strings.Join(t.values, ", ")
	}
	if ok {
		return nil
	}
	return &SchemaError{Path: path, Msg: fmt.Sprintf("%q is not %s", shorten(s), want)}
}

func shorten(s string) string {
	if len(s) <= 60 {
		return s
	}
	cut := 57
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
