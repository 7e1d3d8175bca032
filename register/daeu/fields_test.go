package daeu

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/wsdl"
	"github.com/seosgw/seosgw/wsdl/registry"
)

func names[T any](fs []field[T]) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.name)
	}
	return out
}

// ourTypes are the codec's field tables by WSDL type name.
func ourTypes() map[string][]string {
	return map[string][]string{
		"Contact":        names(contactFields),
		"Service":        names(serviceFields),
		"Entity":         names(entityFields),
		"EGovMessageDir": names(dirFields),
	}
}

// xmlFields lists the element names of a gowsdl-generated struct.
func xmlFields(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("xml"), ",")
		out = append(out, name)
	}
	return out
}

// TestFieldsMatchGeneratedTypes ties the codec to the types gowsdl generates
// from our WSDL: same members, same order (NuSOAP writes schema order).
// A field added to the WSDL and regenerated fails here until the codec
// reads and writes it too.
func TestFieldsMatchGeneratedTypes(t *testing.T) {
	gen := map[string][]string{
		"Contact":        xmlFields(registry.Contact{}),
		"Service":        xmlFields(registry.Service{}),
		"Entity":         xmlFields(registry.Entity{}),
		"EGovMessageDir": xmlFields(registry.EGovMessageDir{}),
	}
	for typ, ours := range ourTypes() {
		if !slices.Equal(ours, gen[typ]) {
			t.Errorf("%s: codec fields %v, wsdl/registry fields %v", typ, ours, gen[typ])
		}
	}
}

// schemaTypes reads the xsd:all members of every complexType of a WSDL.
func schemaTypes(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, ct := range doc.FindElements("//complexType") {
		var members []string
		for _, el := range ct.FindElements("./all/element") {
			members = append(members, el.SelectAttrValue("name", ""))
		}
		if members != nil {
			out[ct.SelectAttrValue("name", "")] = members
		}
	}
	return out
}

// TestFieldsMatchWSDLs checks the field tables against our WSDL and, when
// ../shared is there, against the reference WSDL the real register publishes.
func TestFieldsMatchWSDLs(t *testing.T) {
	ourWSDL, err := wsdl.FS.ReadFile(wsdl.RegistryFile)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string][]byte{"wsdl/" + wsdl.RegistryFile: ourWSDL}
	if p := extools.OptionalReference(t, filepath.Join("wsdl", "EgovRegistry.wsdl")); p != "" {
		ref, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sources["reference"] = ref
	}
	if len(sources) < 2 {
		t.Log("reference WSDL not found (../shared); checked our WSDL only")
	}
	for name, b := range sources {
		types := schemaTypes(t, b)
		if len(types) != len(ourTypes()) {
			t.Errorf("%s has struct types %v; the codec knows %v", name, types, ourTypes())
		}
		for typ, ours := range ourTypes() {
			if !slices.Equal(ours, types[typ]) {
				t.Errorf("%s: %s has %v, the codec %v", name, typ, types[typ], ours)
			}
		}
	}
}

// TestEntityFieldsMatchTables: register.EntityFields, the label values of
// seosgw_register_records_rejected_total, are exactly the fields a
// rejection can name.
func TestEntityFieldsMatchTables(t *testing.T) {
	want := []string{"Entity"}
	for _, f := range names(entityFields) {
		want = append(want, f)
		switch f {
		case "Contact":
			for _, c := range names(contactFields) {
				want = append(want, "Contact/"+c)
			}
		case "Services":
			for _, s := range names(serviceFields) {
				want = append(want, "Services/"+s)
			}
		}
	}
	if !slices.Equal(register.EntityFields, want) {
		t.Errorf("register.EntityFields %v, the field tables give %v", register.EntityFields, want)
	}
}
