package ais

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/register"
	"go.yaml.in/yaml/v3"
)

type openAPIDoc struct {
	OpenAPI    string                          `yaml:"openapi"`
	Security   []map[string][]string           `yaml:"security"`
	Paths      map[string]map[string]openAPIOp `yaml:"paths"`
	Components struct {
		SecuritySchemes map[string]map[string]any `yaml:"securitySchemes"`
		Parameters      map[string]openAPIParam   `yaml:"parameters"`
		Responses       map[string]any            `yaml:"responses"`
		Schemas         map[string]openAPISchema  `yaml:"schemas"`
	} `yaml:"components"`
}

type openAPIOp struct {
	OperationID string                 `yaml:"operationId"`
	Security    *[]map[string][]string `yaml:"security"`
	Parameters  []openAPIParam         `yaml:"parameters"`
	Responses   map[string]any         `yaml:"responses"`
}

type openAPIParam struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

type openAPISchema struct {
	Type       string         `yaml:"type"`
	Required   []string       `yaml:"required"`
	Properties map[string]any `yaml:"properties"`
	Enum       []string       `yaml:"enum"`
}

func loadOpenAPI(t *testing.T) (*openAPIDoc, map[string]any) {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(OpenAPI, &raw); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Fatalf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	return &doc, raw
}

// TestOpenAPIMatchesRoutes: every route the handler serves is described,
// and every described operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	served := map[string]route{}
	for _, r := range routes() {
		served[strings.ToLower(r.method)+" "+r.path] = r
	}
	described := map[string]openAPIOp{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			described[method+" "+path] = op
		}
	}
	for k := range served {
		if _, ok := described[k]; !ok {
			t.Errorf("%s is served but not in openapi.yaml", k)
		}
	}
	ids := map[string]bool{}
	for k, op := range described {
		r, ok := served[k]
		if !ok {
			t.Errorf("%s is in openapi.yaml but not served", k)
			continue
		}
		if op.OperationID == "" || ids[op.OperationID] {
			t.Errorf("%s: operationId %q missing or repeated", k, op.OperationID)
		}
		ids[op.OperationID] = true
		public := op.Security != nil && len(*op.Security) == 0
		if public != r.public {
			t.Errorf("%s: described public=%v, served public=%v", k, public, r.public)
		}
		if !public {
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s: no 401 response described", k)
			}
			if _, ok := op.Responses["500"]; !ok {
				t.Errorf("%s: no 500 response described", k)
			}
		}
		// Path parameters are declared, and only those.
		want := map[string]bool{}
		for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(strings.SplitN(k, " ", 2)[1], -1) {
			want[m[1]] = true
		}
		got := map[string]bool{}
		for _, p := range op.Parameters {
			if p.Ref != "" {
				p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In == "path" {
				got[p.Name] = true
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: path parameters %v, declared %v", k, want, got)
		}
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearer"] == nil || doc.Components.SecuritySchemes["bearer"]["scheme"] != "bearer" {
		t.Errorf("bearer security not described: %+v %+v", doc.Security, doc.Components.SecuritySchemes)
	}
}

// TestOpenAPIRefsResolve: every $ref points at something.
func TestOpenAPIRefsResolve(t *testing.T) {
	_, raw := loadOpenAPI(t)
	var walk func(v any, at string)
	n := 0
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "$ref" {
					n++
					ref, _ := c.(string)
					if !resolves(raw, ref) {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range x {
				walk(c, at)
			}
		}
	}
	walk(raw, "")
	if n < 50 {
		t.Errorf("only %d $refs found; is the walk broken?", n)
	}
}

func resolves(root map[string]any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = root
	for _, part := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return cur != nil
}

// TestOpenAPISchemasMatchTypes: the described objects have exactly the
// JSON fields of the Go types the API reads and writes.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	types := map[string]any{
		"Error": ErrorBody{}, "Number": Number{}, "URI": URI{}, "Ref": Ref{}, "Attachment": Attachment{}, "Outgoing": Outgoing{},
		"Queued": Queued{}, "Event": outbox.Event{}, "Status": Status{}, "Party": Party{}, "OurRegistration": OurRegistration{},
		"ReceivedAttachment": ReceivedAttachment{}, "ReceivedDocument": ReceivedDocument{}, "InboxList": InboxList{},
		"Registration": Registration{}, "Rejection": Rejection{}, "Correspondent": Correspondent{}, "Service": ServiceRef{},
		"Contact": register.Contact{}, "ParticipantService": register.Service{}, "Participant": register.Entity{},
		"ParticipantList": ParticipantList{}, "Empty": struct{}{}, "DocumentList": DocumentList{}, "DocumentSummary": DocumentSummary{},
		"Action": Action{}, "PeerRetry": PeerRetry{}, "Acceptance": Acceptance{}, "AcceptanceCheck": acceptance.Check{}, "Reason": acceptance.Text{},
	}
	for name, s := range doc.Components.Schemas {
		if s.Type != "object" {
			continue
		}
		v, ok := types[name]
		if !ok {
			t.Errorf("schema %s: no Go type is checked against it; add it to this test", name)
			continue
		}
		want := jsonFields(reflect.TypeOf(v))
		var got []string
		for p := range s.Properties {
			got = append(got, p)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("schema %s has %v, the Go type %T has %v", name, got, v, want)
		}
		for _, r := range s.Required {
			if _, ok := s.Properties[r]; !ok {
				t.Errorf("schema %s requires %s, which it does not define", name, r)
			}
		}
	}
	for name := range types {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("Go type for %s has no schema", name)
		}
	}

	// The error codes the description lists are the ones the code uses.
	codes := doc.Components.Schemas["Error"].Properties["code"].(map[string]any)["enum"].([]any)
	var listed []string
	for _, c := range codes {
		listed = append(listed, c.(string))
	}
	sort.Strings(listed)
	want := []string{"conflict", "idempotency_conflict", "internal", "invalid_request", "method_not_allowed", "not_found", "recipient_ambiguous",
		"recipient_is_self", "recipient_not_exchanging", "recipient_unknown", "too_large", "unauthorized"}
	if strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Errorf("error codes %v, want %v", listed, want)
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
