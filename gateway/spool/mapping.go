package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/xmldoc"
	"go.yaml.in/yaml/v3"
)

// A Mapping translates an old AIS's own XML document into an outgoing
// document, by a declarative file (configs/legacy-mapping.example.yaml
// describes the language): each field of the document names where in the
// XML its value is, as an etree path (a small XPath subset) with an
// optional trailing @attribute, and how to convert it.
type Mapping struct {
	root   string // the document element's local name; "" accepts any
	doc    []rule
	groups []group // attachments, correspondents
}

// rule fills one field.
type rule struct {
	target   string
	src      string      // the path as written, for messages
	path     *etree.Path // nil: the context element itself
	attr     string      // read this attribute instead of the text
	value    string      // a constant instead of a path
	constant bool
	def      string
	date     string // Go layout of the source date
	values   map[string]string
	required bool
}

// group is a repeated element that becomes a list entry.
type group struct {
	name  string // attachments, correspondents
	src   string
	each  etree.Path
	rules []rule
}

var docTargets = []string{"recipient", "email", "kind", "documentGuid", "number.number", "number.date",
	"uri.registerIndex", "uri.sequenceNumber", "uri.receiptOrSigningDate",
	"parent.guid", "parent.number.number", "parent.number.date",
	"parent.uri.registerIndex", "parent.uri.sequenceNumber", "parent.uri.receiptOrSigningDate",
	"about", "docComment", "comment", "reqDateClose", "attentionTo", "service.name", "service.type", "service.code"}

var groupTargets = map[string][]string{
	"attachments":    {"fileName", "mimeType", "comment", "content", "file"},
	"correspondents": {"name", "city", "address", "egn", "idCard", "bulstat", "email", "phone", "mobilePhone", "mol", "comment", "kind"},
}

// MappingError is a mapping file that cannot be used.
type MappingError struct {
	File  string
	Line  int
	Field string // the key at fault, dotted (document.kind.path)
	Msg   string
}

func (e *MappingError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(" line %d", e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}

// LoadMapping reads a mapping file.
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("legacy mapping: %w", err)
	}
	return ParseMapping(b, filepath.Base(path))
}

// ParseMapping reads a mapping; name is the file's, for messages.
func ParseMapping(b []byte, name string) (*Mapping, error) {
	p := &mappingParser{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &MappingError{File: name, Msg: err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, p.err(&doc, "", "the file must be a YAML mapping with version, root, document, attachments, correspondents")
	}
	m := &Mapping{}
	top := doc.Content[0]
	version := false
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "version":
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				return nil, p.err(v, "version", "%q; this seosgw reads version 1", v.Value)
			}
			version = true
		case "root":
			if v.Kind != yaml.ScalarNode || v.Value == "" || strings.ContainsAny(v.Value, "/@[ ") {
				return nil, p.err(v, "root", "give the local name of the document element, e.g. Letter")
			}
			m.root = v.Value
		case "document":
			rules, err := p.rules(v, "document", docTargets)
			if err != nil {
				return nil, err
			}
			m.doc = rules
		case "attachments", "correspondents":
			g, err := p.group(v, k.Value)
			if err != nil {
				return nil, err
			}
			m.groups = append(m.groups, *g)
		default:
			return nil, p.err(k, k.Value, "unknown key; use version, root, document, attachments, correspondents")
		}
	}
	if !version {
		return nil, p.err(top, "version", "missing; start the file with version: 1")
	}
	if len(m.doc) == 0 {
		return nil, p.err(top, "document", "missing; map at least recipient (or email) and kind")
	}
	return m, nil
}

type mappingParser struct{ file string }

func (p *mappingParser) err(n *yaml.Node, field, format string, args ...any) error {
	return &MappingError{File: p.file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (p *mappingParser) group(n *yaml.Node, name string) (*group, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.err(n, name, "must be a mapping with each: and fields:")
	}
	g := &group{name: name}
	var fields *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "each":
			if v.Kind != yaml.ScalarNode || v.Value == "" || strings.Contains(v.Value, "@") && !strings.Contains(v.Value, "[") {
				return nil, p.err(v, name+".each", "give the path of the repeated element, e.g. /Letter/Files/File")
			}
			path, err := etree.CompilePath(v.Value)
			if err != nil {
				return nil, p.err(v, name+".each", "%q: %v", v.Value, err)
			}
			g.each, g.src = path, v.Value
		case "fields":
			fields = v
		default:
			return nil, p.err(k, name+"."+k.Value, "unknown key; use each and fields")
		}
	}
	if g.src == "" {
		return nil, p.err(n, name+".each", "missing: the path of the repeated element")
	}
	if fields == nil {
		return nil, p.err(n, name+".fields", "missing: what to read from each element")
	}
	rules, err := p.rules(fields, name+".fields", groupTargets[name])
	if err != nil {
		return nil, err
	}
	g.rules = rules
	return g, nil
}

func (p *mappingParser) rules(n *yaml.Node, at string, targets []string) ([]rule, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.err(n, at, "must be a mapping of field: path")
	}
	known := map[string]bool{}
	for _, t := range targets {
		known[t] = true
	}
	seen := map[string]bool{}
	var out []rule
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := at + "." + k.Value
		if !known[k.Value] {
			return nil, p.err(k, field, "not a field this mapping can fill; use one of %s", strings.Join(targets, ", "))
		}
		if seen[k.Value] {
			return nil, p.err(k, field, "mapped twice")
		}
		seen[k.Value] = true
		r, err := p.rule(v, field, k.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

func (p *mappingParser) rule(n *yaml.Node, field, target string) (*rule, error) {
	r := &rule{target: target}
	switch n.Kind {
	case yaml.ScalarNode:
		if err := p.setPath(r, n, field); err != nil {
			return nil, err
		}
		return r, nil
	case yaml.MappingNode:
	default:
		return nil, p.err(n, field, "give a path, or a mapping with path, value, default, date, values, required")
	}
	hasPath := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := field + "." + k.Value
		if k.Value != "values" && v.Kind != yaml.ScalarNode {
			return nil, p.err(v, f, "must be a single value")
		}
		switch k.Value {
		case "path":
			if err := p.setPath(r, v, f); err != nil {
				return nil, err
			}
			hasPath = true
		case "value":
			r.value, r.constant = v.Value, true
		case "default":
			r.def = v.Value
		case "date":
			if err := checkLayout(v.Value); err != nil {
				return nil, p.err(v, f, "%q: %v", v.Value, err)
			}
			r.date = v.Value
		case "values":
			if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
				return nil, p.err(v, f, "must map each value of the legacy XML to ours, e.g. {ПИС: Писмо}")
			}
			r.values = map[string]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				from, to := v.Content[j], v.Content[j+1]
				if from.Kind != yaml.ScalarNode || to.Kind != yaml.ScalarNode {
					return nil, p.err(from, f, "each entry must be legacy value: our value")
				}
				r.values[strings.TrimSpace(from.Value)] = to.Value
			}
		case "required":
			switch v.Value {
			case "true":
				r.required = true
			case "false":
			default:
				return nil, p.err(v, f, "%q; use true or false", v.Value)
			}
		default:
			return nil, p.err(k, f, "unknown key; use path, value, default, date, values, required")
		}
	}
	switch {
	case hasPath == r.constant:
		return nil, p.err(n, field, "give either path (where the value is) or value (a constant)")
	case r.constant && (r.date != "" || r.values != nil || r.def != ""):
		return nil, p.err(n, field, "a constant value takes no date, values or default")
	}
	return r, nil
}

// setPath reads "A/B", "/A/B/@x", "@x" or ".".
func (p *mappingParser) setPath(r *rule, n *yaml.Node, field string) error {
	src := strings.TrimSpace(n.Value)
	if src == "" {
		return p.err(n, field, "empty path")
	}
	r.src = src
	elem := src
	if i := strings.LastIndex(src, "@"); i >= 0 && !strings.ContainsAny(src[i:], "[]='\"/") {
		elem, r.attr = src[:i], src[i+1:]
		if r.attr == "" {
			return p.err(n, field, "%q: no attribute name after @", src)
		}
		if elem == "/" || elem == "//" {
			return p.err(n, field, "%q: name the element, e.g. /Letter/@guid", src)
		}
		elem = strings.TrimSuffix(elem, "/")
	}
	if elem == "" || elem == "." {
		return nil // the context element
	}
	path, err := etree.CompilePath(elem)
	if err != nil {
		return p.err(n, field, "%q: %v", src, err)
	}
	r.path = &path
	return nil
}

// checkLayout accepts a Go time layout that carries a whole date.
func checkLayout(layout string) error {
	ref := time.Date(2031, 12, 29, 0, 0, 0, 0, time.UTC)
	t, err := time.Parse(layout, ref.Format(layout))
	if err != nil || t.Year() != ref.Year() || t.Month() != ref.Month() || t.Day() != ref.Day() {
		return fmt.Errorf("not a Go date layout with year, month and day (e.g. 02.01.2006 for 23.11.2026)")
	}
	return nil
}

// Translate reads a legacy XML document (safely: no DOCTYPE) into an
// envelope. Attachments may still name files, as in a JSON envelope.
func (m *Mapping) Translate(b []byte) (*ais.Envelope, error) {
	doc, err := xmldoc.Parse(b)
	if err != nil {
		return nil, &ais.Error{Code: "invalid_request", Status: 400, Msg: err.Error()}
	}
	root := doc.Root()
	if m.root != "" && root.Tag != m.root {
		return nil, &ais.Error{Code: "invalid_request", Status: 400, Msg: fmt.Sprintf("the document element is <%s>; the mapping reads <%s>", root.FullTag(), m.root)}
	}
	env := &ais.Envelope{}
	for i := range m.doc {
		r := &m.doc[i]
		v, err := r.eval(root, r.target)
		if err != nil {
			return nil, err
		}
		if v != "" {
			setDoc(env, r.target, v)
		}
	}
	for _, g := range m.groups {
		for i, el := range root.FindElementsPath(g.each) {
			switch g.name {
			case "attachments":
				var a ais.FileAttachment
				for j := range g.rules {
					r := &g.rules[j]
					v, err := r.eval(el, fmt.Sprintf("attachments[%d].%s", i, r.target))
					if err != nil {
						return nil, err
					}
					setAttachment(&a, r.target, v)
				}
				env.Attachments = append(env.Attachments, a)
			case "correspondents":
				var c ais.Correspondent
				for j := range g.rules {
					r := &g.rules[j]
					v, err := r.eval(el, fmt.Sprintf("correspondents[%d].%s", i, r.target))
					if err != nil {
						return nil, err
					}
					if v != "" {
						setCorrespondent(&c, r.target, v)
					}
				}
				env.Correspondents = append(env.Correspondents, c)
			}
		}
	}
	return env, nil
}

func (r *rule) eval(ctx *etree.Element, field string) (string, error) {
	if r.constant {
		return r.value, nil
	}
	v := ""
	el := ctx
	if r.path != nil {
		el = ctx.FindElementPath(*r.path)
	}
	if el != nil {
		if r.attr != "" {
			v = el.SelectAttrValue(r.attr, "")
		} else {
			v = text(el)
		}
	}
	v = strings.TrimSpace(v)
	if v == "" {
		if r.required && r.def == "" {
			return "", &ais.Error{Code: "invalid_request", Status: 400, Field: field, Msg: fmt.Sprintf("%s is missing or empty in the XML", r.src)}
		}
		return r.def, nil
	}
	if r.values != nil {
		to, ok := r.values[v]
		if !ok {
			known := make([]string, 0, len(r.values))
			for k := range r.values {
				known = append(known, k)
			}
			sort.Strings(known)
			return "", &ais.Error{Code: "invalid_request", Status: 400, Field: field,
				Msg: fmt.Sprintf("%q (from %s) is not one of the values the mapping knows: %s", clip(v), r.src, strings.Join(known, ", "))}
		}
		v = to
	}
	if r.date != "" {
		t, err := time.Parse(r.date, v)
		if err != nil {
			return "", &ais.Error{Code: "invalid_request", Status: 400, Field: field,
				Msg: fmt.Sprintf("%q (from %s) is not a date written as %s", clip(v), r.src, r.date)}
		}
		v = t.Format("2006-01-02")
	}
	return v, nil
}

// text is the element's own character data (not its children's).
func text(el *etree.Element) string {
	var b strings.Builder
	for _, c := range el.Child {
		if cd, ok := c.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return b.String()
}

func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

func setDoc(e *ais.Envelope, target, v string) {
	num := func(n **ais.Number) *ais.Number {
		if *n == nil {
			*n = &ais.Number{}
		}
		return *n
	}
	uri := func(u **ais.URI) *ais.URI {
		if *u == nil {
			*u = &ais.URI{}
		}
		return *u
	}
	parent := func() *ais.Ref {
		if e.Parent == nil {
			e.Parent = &ais.Ref{}
		}
		return e.Parent
	}
	service := func() *ais.ServiceRef {
		if e.Service == nil {
			e.Service = &ais.ServiceRef{}
		}
		return e.Service
	}
	switch target {
	case "recipient":
		e.Recipient = v
	case "email":
		e.Email = v
	case "kind":
		e.Kind = v
	case "documentGuid":
		e.DocumentGUID = v
	case "number.number":
		num(&e.Number).Number = v
	case "number.date":
		num(&e.Number).Date = v
	case "uri.registerIndex":
		uri(&e.URI).RegisterIndex = v
	case "uri.sequenceNumber":
		uri(&e.URI).SequenceNumber = v
	case "uri.receiptOrSigningDate":
		uri(&e.URI).ReceiptOrSigningDate = v
	case "parent.guid":
		parent().GUID = v
	case "parent.number.number":
		num(&parent().Number).Number = v
	case "parent.number.date":
		num(&parent().Number).Date = v
	case "parent.uri.registerIndex":
		uri(&parent().URI).RegisterIndex = v
	case "parent.uri.sequenceNumber":
		uri(&parent().URI).SequenceNumber = v
	case "parent.uri.receiptOrSigningDate":
		uri(&parent().URI).ReceiptOrSigningDate = v
	case "about":
		e.About = v
	case "docComment":
		e.DocComment = v
	case "comment":
		e.Comment = v
	case "reqDateClose":
		e.ReqDateClose = v
	case "attentionTo":
		e.AttentionTo = v
	case "service.name":
		service().Name = v
	case "service.type":
		service().Type = v
	case "service.code":
		service().Code = v
	}
}

func setAttachment(a *ais.FileAttachment, target, v string) {
	switch target {
	case "fileName":
		a.FileName = v
	case "mimeType":
		a.MIMEType = v
	case "comment":
		a.Comment = v
	case "content":
		a.Content = v
	case "file":
		a.File = v
	}
}

func setCorrespondent(c *ais.Correspondent, target, v string) {
	switch target {
	case "name":
		c.Name = v
	case "city":
		c.City = v
	case "address":
		c.Address = v
	case "egn":
		c.EGN = v
	case "idCard":
		c.IDCard = v
	case "bulstat":
		c.BULSTAT = v
	case "email":
		c.EMail = v
	case "phone":
		c.Phone = v
	case "mobilePhone":
		c.MobilePhone = v
	case "mol":
		c.MOL = v
	case "comment":
		c.Comment = v
	case "kind":
		c.Kind = v
	}
}
