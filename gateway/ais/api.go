package ais

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/translit"
	"github.com/seosgw/seosgw/register"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// MaxRequestBytes bounds a request body: a document whose attachments,
// in base64, come to tens of MiB. Larger requests get 413 too_large. The
// API takes more when the service's MaxAttachmentBytes needs it.
const MaxRequestBytes = 96 << 20

// OpenAPI is the API's description (OpenAPI 3.0), served at
// /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// route is one operation; path is below Prefix, in ServeMux syntax (which
// is also OpenAPI's, so the description test can compare them).
type route struct {
	method, path string
	public       bool // served without the bearer token
	handle       func(a *api, w http.ResponseWriter, r *http.Request) error
}

func routes() []route {
	return []route{
		{"POST", "/documents", false, (*api).postDocument},
		{"GET", "/documents", false, (*api).listDocuments},
		{"GET", "/documents/{id}", false, (*api).getDocument},
		{"POST", "/documents/{id}/retry", false, (*api).retryDocument},
		{"POST", "/documents/{id}/cancel", false, (*api).cancelDocument},
		{"GET", "/inbox", false, (*api).listInbox},
		{"GET", "/inbox/{id}", false, (*api).getReceived},
		{"GET", "/inbox/{id}/attachments/{n}", false, (*api).getAttachment},
		{"POST", "/inbox/{id}/register", false, (*api).register},
		{"POST", "/inbox/{id}/reject", false, (*api).reject},
		{"POST", "/inbox/{id}/close", false, (*api).close},
		{"POST", "/inbox/{id}/stop", false, (*api).stop},
		{"GET", "/participants", false, (*api).participants},
		{"POST", "/participants/{guid}/retry", false, (*api).retryParticipant},
		{"GET", "/openapi.yaml", true, (*api).openAPI},
	}
}

type api struct {
	svc     *Service
	max     int64 // request body limit
	token   Token // read per request: a rotated token works at once
	log     *slog.Logger
	metrics *APIMetrics
}

// NewAPI serves the AIS HTTP API (see openapi.yaml). Every operation but
// the description needs "Authorization: Bearer TOKEN"; an empty token
// refuses every request. m may be nil.
func NewAPI(svc *Service, token Token, log *slog.Logger, m *APIMetrics) http.Handler {
	limit := int64(MaxRequestBytes)
	if n := svc.MaxAttachmentBytes; n > 0 {
		limit = max(limit, (n+2)/3*4+requestAllowance) // one such file in base64, and the rest
	}
	return newAPI(svc, token, log, m, limit)
}

// requestAllowance is what a request holds besides one attachment's
// content: its fields, other small attachments.
const requestAllowance = 8 << 20

func newAPI(svc *Service, token Token, log *slog.Logger, m *APIMetrics, max int64) http.Handler {
	a := &api{svc: svc, max: max, token: token, log: log, metrics: m}
	mux := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range routes() {
		rt := rt
		mux.Handle(rt.method+" "+Prefix+rt.path, a.serve(rt.method+" "+rt.path, rt.public,
			func(w http.ResponseWriter, r *http.Request) error { return rt.handle(a, w, r) }))
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	for path, methods := range allow {
		sort.Strings(methods)
		m := strings.Join(methods, ", ")
		mux.Handle(Prefix+path, a.serve(otherRoute, false, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", m)
			return &Error{Code: "method_not_allowed", Status: http.StatusMethodNotAllowed, Msg: fmt.Sprintf("%s is not served here; use %s", r.Method, m)}
		}))
	}
	mux.Handle("/", a.serve(otherRoute, false, func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Code: "not_found", Status: http.StatusNotFound, Msg: fmt.Sprintf("no such resource %s; the API is described at %s/openapi.yaml", r.URL.Path, Prefix)}
	}))
	return mux
}

// NewServer is an http.Server for the API with timeouts that suit large
// uploads from a local AIS.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Minute,
		WriteTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// ErrorBody is how every API error looks.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
	r.ResponseWriter.WriteHeader(s)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// serve checks the token, bounds the body, runs h and turns its error into
// the JSON error body. One log line per request; never the token.
func (a *api) serve(route string, public bool, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		var err error
		switch presented, ok := a.authorized(r); {
		case !public && !ok:
			challenge := `Bearer realm="seosgw"`
			msg := "send the AIS token: Authorization: Bearer TOKEN (ais.token_file in the configuration)"
			if presented {
				challenge += `, error="invalid_token"`
				msg = "the bearer token is not the one in ais.token_file"
			}
			w.Header().Set("WWW-Authenticate", challenge)
			err = &Error{Code: "unauthorized", Status: http.StatusUnauthorized, Msg: msg}
		case r.ContentLength > a.max:
			err = tooLarge(a.max)
		default:
			r.Body = http.MaxBytesReader(rec, r.Body, a.max)
			err = h(rec, r)
		}
		if err != nil {
			a.fail(rec, r, err)
		}
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		} else if r.Method == http.MethodGet && rec.status < 400 {
			level = slog.LevelDebug
		}
		took := time.Since(start)
		a.metrics.observe(route, rec.status, took)
		a.log.Log(r.Context(), level, "ais api", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"ms", took.Milliseconds(), "remote", r.RemoteAddr)
	})
}

func (a *api) authorized(r *http.Request) (presented, ok bool) {
	h := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false, false
	}
	tok := ""
	if a.token != nil {
		tok = a.token.Current()
	}
	// Digests, so the comparison takes the same time whatever the lengths.
	sum, want := sha256.Sum256([]byte(strings.TrimSpace(h[len(scheme):]))), sha256.Sum256([]byte(tok))
	return true, tok != "" && subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

func tooLarge(limit int64) *Error {
	return &Error{Code: "too_large", Status: http.StatusRequestEntityTooLarge,
		Msg: fmt.Sprintf("the request is larger than %d MiB", limit>>20)}
}

// fail answers an error: the AIS's own mistakes as they are, anything
// else as "internal" with a reference into the log and no detail.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e = tooLarge(mbe.Limit)
		} else {
			ref := newRef()
			a.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "ref", ref, "error", err)
			e = &Error{Code: "internal", Status: http.StatusInternalServerError, Msg: "internal error; the seosgw log has the details under ref " + ref}
		}
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, ErrorBody{Code: e.Code, Message: e.Msg, Field: e.Field})
}

func newRef() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // our types always encode; say so rather than send half a body
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decodeOutgoing reads a document: the body once into memory, its large
// attachment contents lifted out of it (see liftContents), the rest
// decoded strictly.
func decodeOutgoing(r *http.Request) (*Outgoing, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, jsonError(err)
	}
	small, spans, err := liftContents(body, liftMin)
	if err != nil {
		return nil, invalid("", "not valid JSON: %v", err)
	}
	var in Outgoing
	if err := DecodeJSON(bytes.NewReader(small), &in, false); err != nil {
		return nil, err
	}
	for i := range in.Attachments {
		a := &in.Attachments[i]
		if n, ok := liftedIndex(a.Content); ok && n < len(spans) {
			a.raw, a.Content = spans[n], ""
		}
	}
	return &in, nil
}

// readBody reads a request's body into one buffer: of the announced size
// (bounded by the limit already checked), grown only when none was.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength <= 0 {
		var buf bytes.Buffer
		_, err := buf.ReadFrom(r.Body)
		return buf.Bytes(), err
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return nil, err
	}
	return body, nil
}

// decode reads the JSON body into v; unknown fields are refused, naming
// them. An empty body is allowed only when optional.
func decode(r *http.Request, v any, optional bool) error {
	return DecodeJSON(r.Body, v, optional)
}

// DecodeJSON reads one JSON object strictly (unknown fields refused, text
// that is not UTF-8 refused) and reports problems as invalid_request
// naming the field, or too_large.
func DecodeJSON(rd io.Reader, v any, optional bool) error {
	guard := &utf8Guard{r: rd}
	if err := decodeStrict(guard, v, optional); err != nil {
		return err
	}
	if e := guard.problem(); e != nil {
		return e
	}
	return nil
}

func decodeStrict(rd io.Reader, v any, optional bool) error {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			if optional {
				return nil
			}
			return invalid("", "the body is empty; send a JSON object")
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return invalid("", "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.As(err, &se):
		return invalid("", "not valid JSON (at byte %d): %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		if te.Field == "" {
			return invalid("", "the body must be a JSON object")
		}
		return invalid(te.Field, "must be %s, not a JSON %s", kindName(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the JSON ends too early")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalid(name, "unknown field; the fields are listed in %s/openapi.yaml", Prefix)
	}
	return invalid("", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

func kindName(k string) string {
	switch k {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	case "ptr":
		return "an object"
	}
	return "a number"
}

// idAndBody reads the id path parameter, then the JSON body into v (which
// may be absent when optional).
func idAndBody(r *http.Request, v any, optional bool) (int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, err
	}
	return id, decode(r, v, optional)
}

// pathID reads a positive integer path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, invalid(name, "%q is not a positive whole number", s)
	}
	return n, nil
}

// Queued is the answer to a sent document.
type Queued struct {
	ID           int64  `json:"id"`
	DocumentGUID string `json:"documentGuid"`
	Status       string `json:"status"` // where to follow it
}

// idempotencyKey reads the Idempotency-Key header; the API's keys live
// apart from the spool's and from DocumentGUIDs.
func idempotencyKey(r *http.Request) (string, error) {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if k == "" {
		return "", nil
	}
	if len(k) > 200 {
		return "", invalid("Idempotency-Key", "longer than 200 characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", invalid("Idempotency-Key", "use printable ASCII without spaces, e.g. a UUID or the AIS's record id")
		}
	}
	return "api:" + k, nil
}

func (a *api) postDocument(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	in, err := decodeOutgoing(r)
	if err != nil {
		return err
	}
	id, guid, created, err := a.svc.Send(r.Context(), in, key)
	if err != nil {
		return err
	}
	q := Queued{ID: id, DocumentGUID: guid, Status: fmt.Sprintf("%s/documents/%d", Prefix, id)}
	w.Header().Set("Location", q.Status)
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, q)
	return nil
}

func (a *api) getDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	st, err := a.svc.Document(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// Action is the optional body of a retry or cancel: a note for the
// document's history.
type Action struct {
	Note string `json:"note,omitempty"`
}

func (a *api) listDocuments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	list, err := a.svc.Documents(r.Context(), q.Get("state"), q.Get("peer"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *api) retryDocument(w http.ResponseWriter, r *http.Request) error {
	return a.act(w, r, a.svc.Retry, http.StatusAccepted)
}

func (a *api) cancelDocument(w http.ResponseWriter, r *http.Request) error {
	return a.act(w, r, a.svc.Cancel, http.StatusOK)
}

// act is retry and cancel: no body, or an Action; the answer is the
// document as it now stands.
func (a *api) act(w http.ResponseWriter, r *http.Request, do func(context.Context, int64, string) (*Status, error), status int) error {
	var in Action
	id, err := idAndBody(r, &in, true)
	if err != nil {
		return err
	}
	st, err := do(r.Context(), id, in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, status, st)
	return nil
}

func (a *api) retryParticipant(w http.ResponseWriter, r *http.Request) error {
	var in Action
	if err := decode(r, &in, true); err != nil {
		return err
	}
	guid := r.PathValue("guid")
	if !strings.HasPrefix(guid, "{") {
		guid = "{" + guid + "}" // braces are optional in a path
	}
	res, err := a.svc.RetryPeer(r.Context(), guid, in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, res)
	return nil
}

// queryLimit reads the limit parameter of a list: 1 to 1000, default 100.
func queryLimit(s string) (int, error) {
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, invalid("limit", "%q; give a number from 1 to 1000", s)
	}
	return n, nil
}

// InboxList is a page of received documents.
type InboxList struct {
	Items []*ReceivedDocument `json:"items"`
}

func (a *api) listInbox(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	items, err := a.svc.Inbox(r.Context(), q.Get("state"), limit)
	if err != nil {
		return err
	}
	out := InboxList{Items: []*ReceivedDocument{}}
	for i := range items {
		v := a.svc.View(r.Context(), &items[i], true)
		if v.Acceptance != nil {
			v.Acceptance.Checks = nil // the outcome and reasons; GET /inbox/{id} has every check
		}
		out.Items = append(out.Items, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) getReceived(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return a.writeReceived(w, r, id, http.StatusOK)
}

func (a *api) writeReceived(w http.ResponseWriter, r *http.Request, id int64, status int) error {
	it, err := a.svc.InboxItem(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, status, a.svc.View(r.Context(), it, true))
	return nil
}

func (a *api) getAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := pathID(r, "n")
	if err != nil {
		return err
	}
	if n > 1<<20 {
		return &Error{Code: "not_found", Status: http.StatusNotFound, Msg: fmt.Sprintf("document %d has no attachment %d", id, n)}
	}
	att, body, err := a.svc.OpenAttachment(r.Context(), id, int(n))
	if err != nil {
		return err
	}
	defer body.Close()
	ct := "application/octet-stream"
	if mt, params, err := mime.ParseMediaType(att.MIMEType); err == nil {
		ct = mime.FormatMediaType(mt, params)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", ContentDisposition(att.FileName))
	w.Header().Set("Content-Length", strconv.FormatInt(att.Size, 10))
	w.WriteHeader(http.StatusOK)
	io.Copy(w, body) // streamed: a 64 MiB attachment is not held in memory
	return nil
}

// ContentDisposition names a download: an ASCII name any client shows
// (transliterated) and the real, possibly Cyrillic, name in RFC 5987 form.
func ContentDisposition(name string) string {
	return `attachment; filename="` + translit.FileName(name) + `"; filename*=UTF-8''` + rfc5987(name)
}

// rfc5987 percent-encodes everything but RFC 5987's attr-char.
func rfc5987(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (a *api) register(w http.ResponseWriter, r *http.Request) error {
	var reg Registration
	id, err := idAndBody(r, &reg, false)
	if err != nil {
		return err
	}
	if err := a.svc.Register(r.Context(), id, &reg); err != nil {
		return err
	}
	return a.writeReceived(w, r, id, http.StatusAccepted)
}

// Rejection is why a received document is not registered.
type Rejection struct {
	Reason string `json:"reason"`
}

func (a *api) reject(w http.ResponseWriter, r *http.Request) error {
	var rej Rejection
	id, err := idAndBody(r, &rej, false)
	if err != nil {
		return err
	}
	if err := a.svc.Reject(r.Context(), id, rej.Reason); err != nil {
		return err
	}
	return a.writeReceived(w, r, id, http.StatusAccepted)
}

func (a *api) close(w http.ResponseWriter, r *http.Request) error {
	return a.finish(w, r, a.svc.Close)
}

func (a *api) stop(w http.ResponseWriter, r *http.Request) error {
	return a.finish(w, r, a.svc.Stop)
}

// finish is close and stop: no body, or an empty object.
func (a *api) finish(w http.ResponseWriter, r *http.Request, act func(context.Context, int64) error) error {
	var empty struct{}
	id, err := idAndBody(r, &empty, true)
	if err != nil {
		return err
	}
	if err := act(r.Context(), id); err != nil {
		return err
	}
	return a.writeReceived(w, r, id, http.StatusAccepted)
}

// ParticipantList is a register search result.
type ParticipantList struct {
	Participants []*register.Entity `json:"participants"`
}

func (a *api) participants(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	if len(q) > 200 {
		return invalid("q", "longer than 200 characters")
	}
	es, err := a.svc.Participants(r.Context(), q)
	if err != nil {
		return err
	}
	if es == nil {
		es = []*register.Entity{}
	}
	writeJSON(w, http.StatusOK, ParticipantList{Participants: es})
	return nil
}

func (a *api) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(OpenAPI)))
	w.Write(OpenAPI)
	return nil
}
