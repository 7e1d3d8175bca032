package daeu

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/register"
)

func addSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "text/xml; charset=UTF-8")
	}
	// The charset from HTTP alone, for the shapes that decode by it.
	f.Add([]byte("<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body><r:GetNewRecordsResponse xmlns:r=\"uri:egovmsg\"><return><Entities><item><Guid>{a}</Guid><AdministrativeBodyName>\xce\xe1\xf9\xe8\xed\xe0</AdministrativeBodyName><LastChange>0001-01-01T00:00:00</LastChange></item></Entities><LastChange>0001-01-01T00:00:00</LastChange></return></r:GetNewRecordsResponse></e:Body></e:Envelope>"), "text/xml; charset=windows-1251")
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><r:GetAllRecordsResponse xmlns:r="uri:egovmsg"><return><Entities><item><Guid>{a}</Guid><Contact href="#c"/></item></Entities></return><Contact id="c"><Phone>`+"\xe9"+`</Phone></Contact></r:GetAllRecordsResponse></e:Body></e:Envelope>`), "text/xml; charset=iso-8859-1")
}

// FuzzDecodeResponse: any answer from the network decodes to a listing or
// a typed error, never a panic; a listing re-encodes (as the test register
// would) and decodes to the same data.
func FuzzDecodeResponse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte, contentType string) {
		l, err := DecodeResponse(GetAllRecords, b, contentType, nil)
		if err != nil {
			switch err.(type) {
			case *MalformedError, *FaultError:
			default:
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, e := range l.Entities {
			if e.GUID == "" {
				t.Fatal("entity without GUID accepted")
			}
		}
		for _, r := range l.Rejected {
			if !slices.Contains(register.EntityFields, r.Field) || r.Err == "" {
				t.Fatalf("rejection %+v: field outside register.EntityFields or no reason", r)
			}
		}
		again, err := DecodeResponse(GetAllRecords, EncodeResponse(GetAllRecords, l, nil), "", nil)
		if err != nil {
			// Values XML cannot carry are replaced, not refused; nothing
			// else may stop a re-encoded listing from decoding.
			t.Fatalf("re-encoded listing does not decode: %v", err)
		}
		if len(again.Entities) != len(l.Entities) || again.Cursor != l.Cursor {
			t.Fatalf("round trip changed the listing: %d/%d entities, cursor %q/%q", len(again.Entities), len(l.Entities), again.Cursor, l.Cursor)
		}
		for i := range l.Entities {
			a, b := again.Entities[i], l.Entities[i]
			if a.GUID != b.GUID || !a.LastChange.Equal(b.LastChange) || len(a.Services) != len(b.Services) ||
				(!strings.ContainsRune(b.AdministrativeBodyName, '\uFFFD') && a.AdministrativeBodyName != strings.TrimSpace(b.AdministrativeBodyName)) {
				t.Fatalf("round trip changed entity %d:\n%+v\n%+v", i, b, a)
			}
		}
	})
}

// FuzzDecodeRequest: the test register's request reader never panics.
func FuzzDecodeRequest(f *testing.F) {
	addSeeds(f)
	for _, op := range Ops {
		f.Add(EncodeRequest(op, "2024-03-05T10:20:30+02:00"), "")
	}
	f.Fuzz(func(t *testing.T, b []byte, contentType string) {
		r, err := DecodeRequest(b, contentType)
		if err == nil && !r.Op.Valid() {
			t.Fatalf("invalid operation %q accepted", r.Op)
		}
	})
}
