package daeu

import (
	"time"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/register"
)

// field is one member of a register struct type: its accessor name, the
// xsi:type NuSOAP writes, and how to write and read it. The tables below are
// the codec's only knowledge of the types' members; fields_test.go checks
// them against wsdl/registry and the reference WSDL so they cannot drift.
type field[T any] struct {
	name, xsiType string
	encode        func(e *encoder, parent *etree.Element, v *T)
	decode        func(d *decoder, el *etree.Element, v *T) error
}

func stringField[T any](name, xsiType string, get func(*T) *string) field[T] {
	return field[T]{name: name, xsiType: xsiType,
		encode: func(e *encoder, p *etree.Element, v *T) { e.scalar(p, name, xsiType, *get(v)) },
		decode: func(d *decoder, el *etree.Element, v *T) error {
			s, err := d.scalar(el)
			*get(v) = s
			return err
		}}
}

var contactFields = []field[register.Contact]{
	stringField("Phone", "xsd:string", func(c *register.Contact) *string { return &c.Phone }),
	stringField("Fax", "xsd:string", func(c *register.Contact) *string { return &c.Fax }),
	stringField("EmailAddress", "xsd:string", func(c *register.Contact) *string { return &c.EmailAddress }),
}

var serviceFields = []field[register.Service]{
	stringField("Guid", "xsd:string", func(s *register.Service) *string { return &s.GUID }),
	stringField("Name", "xsd:string", func(s *register.Service) *string { return &s.Name }),
	stringField("URI", "xsd:anyURI", func(s *register.Service) *string { return &s.URI }),
	statusField[register.Service](func(s *register.Service) *register.Status { return &s.Status }),
	stringField("Type", "xsd:string", func(s *register.Service) *string { return &s.Type }),
	// Version is xsd:integer, as the register WSDL declares it; the test
	// register stores only integers (testregister's checkService). Read,
	// it is kept as text: a .NET register's class has a string ("1.0").
	{name: "Version", xsiType: "xsd:integer",
		encode: func(e *encoder, p *etree.Element, s *register.Service) {
			e.scalar(p, "Version", "xsd:integer", string(s.Version))
		},
		decode: func(d *decoder, el *etree.Element, s *register.Service) error {
			txt, err := d.scalar(el)
			s.Version = register.Version(txt)
			return err
		}},
}

var entityFields = []field[register.Entity]{
	stringField("EntityIdentifier", "xsd:string", func(e *register.Entity) *string { return &e.Identifier }),
	stringField("Guid", "xsd:string", func(e *register.Entity) *string { return &e.GUID }),
	{name: "ParentGuid", xsiType: "xsd:string",
		encode: func(e *encoder, p *etree.Element, v *register.Entity) {
			// No parent is PHP null, which NuSOAP writes as xsi:nil.
			if v.ParentGUID == "" {
				e.nilScalar(p, "ParentGuid", "xsd:string")
				return
			}
			e.scalar(p, "ParentGuid", "xsd:string", v.ParentGUID)
		},
		decode: func(d *decoder, el *etree.Element, v *register.Entity) error {
			s, err := d.scalar(el)
			v.ParentGUID = s
			return err
		}},
	stringField("AdministrativeBodyName", "xsd:string", func(e *register.Entity) *string { return &e.AdministrativeBodyName }),
	{name: "Contact", xsiType: "tns:Contact",
		encode: func(e *encoder, p *etree.Element, v *register.Entity) {
			encodeStruct(e, p, "Contact", "tns:Contact", contactFields, &v.Contact)
		},
		decode: func(d *decoder, el *etree.Element, v *register.Entity) error {
			return decodeStruct(d, el, "Contact", contactFields, &v.Contact)
		}},
	stringField("CertificateSN", "xsd:string", func(e *register.Entity) *string { return &e.CertificateSN }),
	{name: "Services", xsiType: "SOAP-ENC:Array",
		encode: func(e *encoder, p *etree.Element, v *register.Entity) {
			arr := e.array(p, "Services", "Service", len(v.Services))
			for i := range v.Services {
				encodeStruct(e, arr, "item", "tns:Service", serviceFields, &v.Services[i])
			}
		},
		decode: func(d *decoder, el *etree.Element, v *register.Entity) error {
			items, err := d.array(el, "Services", "Service")
			if err != nil {
				return err
			}
			v.Services = make([]register.Service, len(items))
			for i, it := range items {
				if err := decodeStruct(d, it, "Service", serviceFields, &v.Services[i]); err != nil {
					return err
				}
			}
			return nil
		}},
	{name: "LastChange", xsiType: "xsd:dateTime",
		encode: func(e *encoder, p *etree.Element, v *register.Entity) {
			e.scalar(p, "LastChange", "xsd:dateTime", e.dateTime(v.LastChange))
		},
		decode: func(d *decoder, el *etree.Element, v *register.Entity) error {
			t, _, err := d.dateTime(el)
			v.LastChange = t
			return err
		}},
	statusField[register.Entity](func(e *register.Entity) *register.Status { return &e.Status }),
}

// dirFields are EGovMessageDir's members.
var dirFields = []field[register.Listing]{
	{name: "Entities", xsiType: "SOAP-ENC:Array",
		encode: func(e *encoder, p *etree.Element, l *register.Listing) {
			arr := e.array(p, "Entities", "Entity", len(l.Entities))
			for i := range l.Entities {
				encodeStruct(e, arr, "item", "tns:Entity", entityFields, &l.Entities[i])
			}
		},
		decode: func(d *decoder, el *etree.Element, l *register.Listing) error {
			items, err := d.array(el, "Entities", "Entity")
			if err != nil {
				return err
			}
			return decodeEntities(d, items, l)
		}},
	{name: "LastChange", xsiType: "xsd:dateTime",
		encode: func(e *encoder, p *etree.Element, l *register.Listing) {
			s := l.Cursor
			if s == "" {
				s = e.dateTime(l.LastChange)
			}
			e.scalar(p, "LastChange", "xsd:dateTime", s)
		},
		decode: func(d *decoder, el *etree.Element, l *register.Listing) error {
			t, raw, err := d.dateTime(el)
			l.LastChange, l.Cursor = t, raw
			return err
		}},
}

func statusField[T any](get func(*T) *register.Status) field[T] {
	return field[T]{name: "Status", xsiType: "xsd:string",
		encode: func(e *encoder, p *etree.Element, v *T) { e.scalar(p, "Status", "xsd:string", string(*get(v))) },
		decode: func(d *decoder, el *etree.Element, v *T) error {
			s, err := d.scalar(el)
			*get(v) = register.Status(s) // unknown strings are kept; the policy refuses them
			return err
		}}
}

// formatting helper shared by encoders: the zero time has no value.
func formatOrEmpty(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return FormatDateTime(t, zone)
}
