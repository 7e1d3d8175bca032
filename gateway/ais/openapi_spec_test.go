package ais

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The description must be a valid OpenAPI 3.0 document by a real
// validator, not only by the structural tests in openapi_test.go.
func TestOpenAPIIsValid(t *testing.T) {
	if err := validateSpec(OpenAPI); err != nil {
		t.Fatal(err)
	}
}

func validateSpec(b []byte) error {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return err
	}
	return doc.Validate(loader.Context, openapi3.EnableSchemaFormatValidation())
}

// The validator finds what this file once had: a description with a
// comma in a flow mapping, which made "or why ...: null" a schema keyword.
func TestOpenAPIValidatorCatchesStrayKeys(t *testing.T) {
	broken := strings.Replace(string(OpenAPI), `error: {type: string, description: "why the last attempt failed, or why the document failed"}`,
		`error: {type: string, description: why the last attempt failed, or why the document failed}`, 1)
	if broken == string(OpenAPI) {
		t.Fatal("the Status.error line changed; update this test")
	}
	if err := validateSpec([]byte(broken)); err == nil {
		t.Fatal("the validator accepted a schema with a stray key")
	}
}

// specChecker validates the API's actual answers against openapi.yaml.
type specChecker struct {
	once   sync.Once
	router routers.Router
	err    error
}

var spec specChecker

// check validates one exchange the API tests made (see validate).
func (c *specChecker) check(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if _, err := c.validate(req, status, header, body); err != nil {
		t.Errorf("%s %s answered %d, which openapi.yaml does not describe: %v\nbody: %.300s", req.Method, req.URL.Path, status, err, body)
	}
}

// validate checks an answer against openapi.yaml: the status must be
// described for the operation, and the headers and body must match it.
// Requests to paths or methods the description does not have (the 404
// and 405 tests) are not checked.
func (c *specChecker) validate(req *http.Request, status int, header http.Header, body []byte) (checked bool, err error) {
	c.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(OpenAPI)
		if err != nil {
			c.err = err
			return
		}
		// Any host: the tests listen on ports of their own.
		doc.Servers = openapi3.Servers{{URL: "http://{host}/api/v1", Variables: map[string]*openapi3.ServerVariable{"host": {Default: "127.0.0.1"}}}}
		c.router, c.err = legacy.NewRouter(doc)
	})
	if c.err != nil {
		return false, c.err
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil || route.Method != req.Method {
		return false, nil
	}
	for _, v := range params {
		if v == "" { // the router matches GET /documents to /documents/{id}
			return false, nil
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return true, openapi3filter.ValidateResponse(context.Background(), in)
}

// The checker checks: a described operation's answer that breaks the
// description is caught; an undescribed path is not checked.
func TestSpecCheckerChecks(t *testing.T) {
	req := func(method, url string) *http.Request {
		r, _ := http.NewRequest(method, url, nil)
		return r
	}
	json := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for _, c := range []struct {
		name    string
		req     *http.Request
		status  int
		body    string
		checked bool
		ok      bool
	}{
		{"a valid error", req("GET", "http://127.0.0.1:4321/api/v1/documents/7"), 404, `{"code":"not_found","message":"no document 7"}`, true, true},
		{"an undescribed status", req("GET", "http://127.0.0.1:4321/api/v1/documents/7"), 418, `{"code":"not_found","message":"x"}`, true, false},
		{"an unknown error code", req("GET", "http://127.0.0.1:4321/api/v1/documents/7"), 404, `{"code":"gone","message":"x"}`, true, false},
		{"a status without its required fields", req("GET", "http://127.0.0.1:4321/api/v1/documents/7"), 200, `{"id":7}`, true, false},
		{"an undescribed path", req("GET", "http://127.0.0.1:4321/api/v1/nowhere"), 404, `{}`, false, true},
		{"an undescribed method", req("PUT", "http://127.0.0.1:4321/api/v1/documents"), 405, `{}`, false, true},
	} {
		checked, err := spec.validate(c.req, c.status, json, []byte(c.body))
		if checked != c.checked || (err == nil) != c.ok {
			t.Errorf("%s: checked %v, error %v; want checked %v, ok %v", c.name, checked, err, c.checked, c.ok)
		}
	}
}
