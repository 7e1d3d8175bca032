package daeu

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/register"
)

// maxHrefChain bounds href → id → href chains.
const maxHrefChain = 8

// decoder reads rpc/encoded values leniently where SOAP encoding allows
// variation (order, absent/nil/empty members, prefixes, multi-refs) and
// strictly where a mistake would change meaning (array lengths, dates).
type decoder struct {
	op   Op
	ids  map[string]*etree.Element // id="..." targets in the Body
	zone *time.Location
	// budget bounds the structs decoded, so shared multi-refs cannot expand
	// a small answer into a huge one.
	budget int
	// unset collects dateTime values written as .NET's unset DateTime,
	// read as "no value"; the caller turns them into warnings.
	unset []unsetValue
}

type unsetValue struct{ field, raw string }

func (d *decoder) errorf(el *etree.Element, format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	at := path(el)
	return &MalformedError{Op: d.op, Msg: at + ": " + detail, at: at, detail: detail, value: Snippet([]byte(innerText(el)), 80)}
}

// path names el for error messages, e.g. Body/…/Entities/item[2]/Guid.
func path(el *etree.Element) string {
	var parts []string
	for e := el; e != nil; e = e.Parent() {
		name := e.Tag
		if p := e.Parent(); p != nil {
			n, i := 0, 0
			for _, s := range p.ChildElements() {
				if s.Tag == e.Tag {
					n++
					if s == e {
						i = n
					}
				}
			}
			if n > 1 {
				name += "[" + strconv.Itoa(i) + "]"
			}
		}
		parts = append([]string{name}, parts...)
		if e.Tag == "Body" {
			break
		}
	}
	return strings.Join(parts, "/")
}

// parseEnvelope reads a SOAP 1.1 envelope and returns its Body and the
// id targets in it.
func parseEnvelope(b []byte, contentType string) (*etree.Element, map[string]*etree.Element, error) {
	utf, err := ToUTF8(b, contentType)
	if err != nil {
		return nil, nil, err
	}
	doc, err := xmldoc.Parse(utf)
	if err != nil {
		return nil, nil, err
	}
	root := doc.Root()
	if root.Tag != "Envelope" || root.NamespaceURI() != NSEnv {
		if root.Tag == "Envelope" && root.NamespaceURI() == "http://www.w3.org/2003/05/soap-envelope" {
			return nil, nil, errors.New("a SOAP 1.2 envelope; the register speaks SOAP 1.1")
		}
		return nil, nil, fmt.Errorf("root element {%s}%s is not a SOAP 1.1 Envelope", root.NamespaceURI(), root.Tag)
	}
	var body *etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Body" && c.NamespaceURI() == NSEnv {
			if body != nil {
				return nil, nil, errors.New("two SOAP Body elements")
			}
			body = c
		}
	}
	if body == nil {
		return nil, nil, errors.New("no SOAP Body")
	}
	ids := map[string]*etree.Element{}
	var walk func(*etree.Element) error
	walk = func(e *etree.Element) error {
		for _, a := range e.Attr {
			if a.Space == "" && a.Key == "id" {
				if _, dup := ids[a.Value]; dup {
					return fmt.Errorf("id %q used twice", a.Value)
				}
				ids[a.Value] = e
			}
		}
		for _, c := range e.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(body); err != nil {
		return nil, nil, err
	}
	return body, ids, nil
}

func firstChild(e *etree.Element) *etree.Element {
	if cs := e.ChildElements(); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// DecodeResponse reads the register's answer to op. zone places times
// written without an offset (nil = Europe/Sofia). A SOAP fault comes back
// as *FaultError, anything unreadable as *MalformedError. An entity that
// cannot be read is left out and listed in Listing.Rejected, so one bad
// record does not stop the rest.
func DecodeResponse(op Op, b []byte, contentType string, zone *time.Location) (*register.Listing, error) {
	body, ids, err := parseEnvelope(b, contentType)
	if err != nil {
		return nil, &MalformedError{Op: op, Msg: "not a SOAP envelope", Err: err}
	}
	d := &decoder{op: op, ids: ids, zone: zone, budget: 4*countElements(body) + 64}
	// Multi-ref values may follow the wrapper as Body children; the wrapper
	// comes first.
	w := firstChild(body)
	switch {
	case w == nil:
		return nil, d.errorf(body, "empty SOAP Body")
	case w.Tag == "Fault" && w.NamespaceURI() == NSEnv:
		return nil, d.fault(w)
	case w.NamespaceURI() != NS:
		return nil, d.errorf(w, "{%s}%s is not a response of the register (namespace %s)", w.NamespaceURI(), w.Tag, NS)
	}
	l := &register.Listing{}
	// The result accessor is conventionally "return"; SOAP 1.1 rpc allows any name.
	ret := firstChild(w)
	for _, c := range w.ChildElements() {
		if c.Tag == "return" && c.Space == "" {
			ret = c
			break
		}
	}
	if ret == nil {
		// .NET's `return null` omits the accessor (<GetNewRecordsResponse/>):
		// like xsi:nil, no entities and no LastChange.
		return l, nil
	}
	if err := decodeStruct(d, ret, "EGovMessageDir", dirFields, l); err != nil {
		return nil, err
	}
	for _, u := range d.unset {
		l.Warnings = append(l.Warnings, register.Warning{Field: u.field, Value: u.raw,
			Msg: "the register's LastChange is unset (.NET's empty DateTime); the cursor stays where it was"})
	}
	rejectDuplicates(l)
	return l, nil
}

// rejectDuplicates moves every entity whose Guid is listed more than once
// to Rejected: which copy is right cannot be told, so the cache keeps its own.
func rejectDuplicates(l *register.Listing) {
	n := map[string]int{}
	for _, e := range l.Entities {
		n[strings.ToLower(e.GUID)]++
	}
	kept := l.Entities[:0]
	for _, e := range l.Entities {
		if n[strings.ToLower(e.GUID)] == 1 {
			kept = append(kept, e)
			continue
		}
		l.Rejected = append(l.Rejected, register.Rejection{GUID: e.GUID, Name: e.AdministrativeBodyName, Field: "Guid",
			Path: "Entities", Value: e.GUID, Err: fmt.Sprintf("the answer lists Guid %s %d times", e.GUID, n[strings.ToLower(e.GUID)])})
	}
	l.Entities = kept
}

// decodeEntities reads the Entities array member by member: an entity that
// fails is rejected (with where and why) and the others are kept. Only the
// multi-ref budget fails the whole answer.
func decodeEntities(d *decoder, items []*etree.Element, l *register.Listing) error {
	l.Entities = make([]register.Entity, 0, len(items))
	for i, it := range items {
		var e register.Entity
		mark := len(d.unset)
		err := decodeStruct(d, it, "Entity", entityFields, &e)
		if err == nil && strings.TrimSpace(e.GUID) == "" {
			err = &MalformedError{Op: d.op, Msg: path(it) + ": no Guid", at: path(it), detail: "no Guid", field: []string{"Guid"}}
		}
		unset := d.unset[mark:]
		d.unset = d.unset[:mark]
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) || me.fatal {
				return err
			}
			l.Rejected = append(l.Rejected, rejection(d, i+1, it, me))
			continue
		}
		for _, u := range unset {
			l.Warnings = append(l.Warnings, register.Warning{GUID: e.GUID, Name: e.AdministrativeBodyName, Field: u.field, Value: u.raw,
				Msg: "the register left " + u.field + " unset (.NET's empty DateTime); kept without a time of change"})
		}
		l.Entities = append(l.Entities, e)
	}
	return nil
}

// rejection describes entity #index that failed with me, reading its Guid
// and name past the error where they can be read.
func rejection(d *decoder, index int, item *etree.Element, me *MalformedError) register.Rejection {
	r := register.Rejection{Index: index, Field: strings.Join(me.field, "/"), Path: me.at, Value: me.value, Err: me.detail}
	if r.Field == "" {
		r.Field = "Entity" // the item itself (its type, its href)
	}
	if r.Err == "" {
		r.Err = me.Msg
	}
	if el, err := d.deref(item); err == nil {
		for _, c := range el.ChildElements() {
			switch c.Tag {
			case "Guid":
				r.GUID, _ = d.scalar(c)
			case "AdministrativeBodyName":
				r.Name, _ = d.scalar(c)
			}
		}
	}
	return r
}

func countElements(e *etree.Element) int {
	n := 1
	for _, c := range e.ChildElements() {
		n += countElements(c)
	}
	return n
}

func (d *decoder) fault(f *etree.Element) error {
	fe := &FaultError{Op: d.op}
	for _, c := range f.ChildElements() {
		var dst *string
		switch c.Tag {
		case "faultcode":
			dst = &fe.Code
		case "faultstring":
			dst = &fe.String
		case "faultactor":
			dst = &fe.Actor
		case "detail":
			dst = &fe.Detail
		default:
			continue
		}
		if c.Tag == "detail" && len(c.ChildElements()) > 0 {
			// Structured detail: keep its text, which is what a person reads.
			*dst = strings.Join(strings.Fields(innerText(c)), " ")
			continue
		}
		s, err := d.scalar(c)
		if err != nil {
			return err
		}
		*dst = s
	}
	if fe.Code == "" && fe.String == "" {
		return d.errorf(f, "a SOAP Fault without faultcode and faultstring")
	}
	return fe
}

func innerText(e *etree.Element) string {
	var b strings.Builder
	for _, t := range e.Child {
		switch v := t.(type) {
		case *etree.CharData:
			b.WriteString(v.Data)
		case *etree.Element:
			b.WriteString(" " + innerText(v) + " ")
		}
	}
	return b.String()
}

// deref follows href="#id" to the element holding the value (ext/soap
// writes shared objects once and refers to them).
func (d *decoder) deref(el *etree.Element) (*etree.Element, error) {
	for i := 0; ; i++ {
		var href *etree.Attr
		for j := range el.Attr {
			if el.Attr[j].Space == "" && el.Attr[j].Key == "href" {
				href = &el.Attr[j]
			}
		}
		if href == nil {
			return el, nil
		}
		if i == maxHrefChain {
			return nil, d.errorf(el, "href chain longer than %d", maxHrefChain)
		}
		id, ok := strings.CutPrefix(href.Value, "#")
		if !ok {
			return nil, d.errorf(el, "href %q points outside the message; only #id references are supported", href.Value)
		}
		target := d.ids[id]
		if target == nil {
			return nil, d.errorf(el, "href %q: no element with id %q in the Body", href.Value, id)
		}
		el = target
	}
}

func isNil(el *etree.Element) bool {
	for _, a := range el.Attr {
		if a.Key == "nil" && a.NamespaceURI() == NSXSI {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// attr returns the value of the attribute {ns}key.
func attr(el *etree.Element, ns, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Key == key && a.NamespaceURI() == ns {
			return a.Value, true
		}
	}
	return "", false
}

// resolveQName resolves a QName written in el's content or attribute value
// against the prefixes in scope there.
func resolveQName(el *etree.Element, qname string) (ns, local string, err error) {
	qname = strings.TrimSpace(qname)
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		prefix, local = "", qname
	}
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
				return a.Value, local, nil
			}
		}
	}
	if prefix == "" {
		return "", local, nil
	}
	return "", "", fmt.Errorf("prefix %q of %q is not declared", prefix, qname)
}

// checkType accepts a missing xsi:type (the WSDL says the type) or one naming
// typeName in the register's namespace, or one of the generic alternatives.
func (d *decoder) checkType(el *etree.Element, typeName string, alternatives ...[2]string) error {
	v, ok := attr(el, NSXSI, "type")
	if !ok {
		return nil
	}
	ns, local, err := resolveQName(el, v)
	if err != nil {
		return d.errorf(el, "xsi:type: %v", err)
	}
	if ns == NS && local == typeName {
		return nil
	}
	for _, a := range alternatives {
		if ns == a[0] && local == a[1] {
			return nil
		}
	}
	return d.errorf(el, "xsi:type %q is not %s", v, typeName)
}

// scalar reads a simple value. Absent, nil and empty all mean "no value".
func (d *decoder) scalar(el *etree.Element) (string, error) {
	el, err := d.deref(el)
	if err != nil {
		return "", err
	}
	if isNil(el) {
		return "", nil
	}
	if len(el.ChildElements()) > 0 {
		return "", d.errorf(el, "a simple value holds elements")
	}
	return strings.TrimSpace(el.Text()), nil
}

func (d *decoder) dateTime(el *etree.Element) (time.Time, string, error) {
	s, err := d.scalar(el)
	if err != nil || s == "" {
		return time.Time{}, "", err
	}
	t, err := ParseDateTime(s, d.zone)
	if errors.Is(err, ErrUnsetDateTime) {
		d.unset = append(d.unset, unsetValue{field: el.Tag, raw: s})
		return time.Time{}, "", nil
	}
	if err != nil {
		return time.Time{}, "", d.errorf(el, "%v", err)
	}
	return t, s, nil
}

var arrayTypeRE = regexp.MustCompile(`^\s*([^\s\[\]]+)\[(\d*)\]\s*$`)

// array checks a soapenc array of itemType (Entity or Service) and returns
// its members. An empty array may be [0], nil or absent (the caller never
// sees absent ones). Partially transmitted arrays are refused.
func (d *decoder) array(el *etree.Element, arrayName, itemType string) ([]*etree.Element, error) {
	el, err := d.deref(el)
	if err != nil {
		return nil, err
	}
	if isNil(el) {
		return nil, nil
	}
	if err := d.checkType(el, arrayName, [2]string{NSEnc, "Array"}); err != nil {
		return nil, err
	}
	if _, ok := attr(el, NSEnc, "offset"); ok {
		return nil, d.errorf(el, "SOAP-ENC:offset (a partially transmitted array) is not supported")
	}
	members := el.ChildElements()
	if at, ok := attr(el, NSEnc, "arrayType"); ok {
		m := arrayTypeRE.FindStringSubmatch(at)
		if m == nil {
			return nil, d.errorf(el, "SOAP-ENC:arrayType %q is not a one-dimensional array such as tns:%s[2]", at, itemType)
		}
		ns, local, err := resolveQName(el, m[1])
		if err != nil {
			return nil, d.errorf(el, "SOAP-ENC:arrayType: %v", err)
		}
		generic := ns == NSXSD && (local == "anyType" || local == "ur-type")
		if !(ns == NS && local == itemType) && !generic {
			return nil, d.errorf(el, "SOAP-ENC:arrayType %q is not an array of %s", at, itemType)
		}
		if m[2] != "" {
			n, err := strconv.Atoi(m[2])
			if err != nil || n != len(members) {
				return nil, d.errorf(el, "SOAP-ENC:arrayType says %s members, the array has %d", m[2], len(members))
			}
		}
	}
	for _, it := range members {
		if _, ok := attr(it, NSEnc, "position"); ok {
			return nil, d.errorf(it, "SOAP-ENC:position (a sparse array) is not supported")
		}
	}
	return members, nil
}

// decodeStruct reads an xsd:all struct: unqualified members in any order,
// each at most once; members we do not know are skipped so that a register
// adding a field does not stop the sync.
func decodeStruct[T any](d *decoder, el *etree.Element, typeName string, fields []field[T], v *T) error {
	el, err := d.deref(el)
	if err != nil {
		return err
	}
	if d.budget--; d.budget < 0 {
		err := d.errorf(el, "multi-reference values expand beyond what the message holds")
		err.(*MalformedError).fatal = true
		return err
	}
	if isNil(el) {
		return nil
	}
	if err := d.checkType(el, typeName, [2]string{NSEnc, "Struct"}); err != nil {
		return err
	}
	if strings.TrimSpace(el.Text()) != "" {
		return d.errorf(el, "text inside a %s struct", typeName)
	}
	seen := map[string]bool{}
	for _, c := range el.ChildElements() {
		if ns := c.NamespaceURI(); ns != "" && ns != NS {
			continue // a foreign extension element
		}
		var f *field[T]
		for i := range fields {
			if fields[i].name == c.Tag {
				f = &fields[i]
				break
			}
		}
		if f == nil {
			continue
		}
		if seen[c.Tag] {
			err := d.errorf(c, "%s appears twice in %s", c.Tag, typeName)
			err.(*MalformedError).field = []string{c.Tag}
			return err
		}
		seen[c.Tag] = true
		if err := f.decode(d, c, v); err != nil {
			var me *MalformedError
			if errors.As(err, &me) {
				me.field = append([]string{c.Tag}, me.field...)
			}
			return err
		}
	}
	return nil
}
