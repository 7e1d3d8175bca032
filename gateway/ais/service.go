// Package ais is the bridge to the legacy records system: the operations an
// AIS needs (send a document, follow it, take received documents, register
// or refuse them), shared by the HTTP API and the spool folder.
package ais

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/register"
)

// Directory is the register copy.
type Directory interface {
	ByGUID(ctx context.Context, guid string) (*register.Entity, error)
	ByEIK(ctx context.Context, eik string) ([]*register.Entity, error)
	List(ctx context.Context, status register.Status) ([]*register.Entity, error)
}

// Service carries out AIS requests. It only writes the database; the
// outbound deliverer, woken by Queued, does the sending.
type Service struct {
	DB    *sql.DB
	Files *blob.Store // where large attachments are
	// MaxAttachmentBytes is the largest file a document may carry
	// (endpoint.max_attachment_bytes); 0: none but the request's.
	MaxAttachmentBytes int64
	Dir                Directory
	Policy             register.Policy
	Self               seos.Entity
	Clock              clock.Clock
	Log                *slog.Logger
	// Queued is called after an item is committed to the outbox, or made
	// due now.
	Queued func()
	// Transitions logs and counts the operator's retries and cancels (nil:
	// not counted).
	Transitions *outbox.Observer
	// Mail is the e-mail channel (nil when mail.enabled is off): it
	// answers documents that came by e-mail and sends documents to
	// addresses outside SEOS.
	Mail Mail
}

// Mail is the e-mail channel as the AIS bridge uses it (gateway/mail/mailbox).
type Mail interface {
	// Answer queues, in tx, what a document that came by e-mail is owed
	// in its new state (a receipt, a refusal).
	Answer(ctx context.Context, tx *sql.Tx, it *inbox.Item) error
	// Send queues, in tx, a document as signed mail to an address and
	// returns the mail's id in the mail queue.
	// Its files are the file-store names the outbox row must keep.
	Send(ctx context.Context, tx *sql.Tx, to string, doc *seos.Document, comment string) (mailID int64, files []string, err error)
	// Official tells whether an address is the node's own (mail to it
	// would come back into the intake as a received document).
	Official(addr string) bool
	// Wake starts sending what was queued, after the commit.
	Wake()
}

// Error is a request the AIS must fix (Code is stable, for programs) or a
// state conflict; anything else is ours.
type Error struct {
	Code   string // e.g. invalid_request, recipient_unknown, not_found, conflict
	Field  string // the input field at fault, when one is
	Msg    string
	Status int // HTTP status the API answers with
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Code: "invalid_request", Field: field, Msg: fmt.Sprintf(format, args...), Status: 400}
}

// Attachment is a file as the AIS gives it.
type Attachment struct {
	FileName string `json:"fileName"`
	MIMEType string `json:"mimeType"`
	Comment  string `json:"comment,omitempty"`
	Content  string `json:"content"` // base64
	// raw is a large content left in the request it came in (see
	// liftContents): the JSON string's bytes, escapes not undone.
	raw []byte
	// file is a content left in the file a spool drop names (see
	// ResolveFiles), read as a stream when needed.
	file *fileContent
}

// contentReader reads the base64 text, wherever it is.
func (a *Attachment) contentReader() io.Reader {
	if a.raw != nil {
		return newUnescaper(a.raw)
	}
	return stripSpace(a.Content)
}

// Number is a registration number with its date (YYYY-MM-DD).
type Number struct {
	Number string `json:"number"`
	Date   string `json:"date"`
}

// URI is a register-index registration (segment 0009-000001).
type URI struct {
	RegisterIndex        string `json:"registerIndex,omitempty"`
	SequenceNumber       string `json:"sequenceNumber,omitempty"`
	ReceiptOrSigningDate string `json:"receiptOrSigningDate,omitempty"`
}

// Ref identifies a document: its GUID and, optionally, a registration.
type Ref struct {
	GUID   string  `json:"guid"`
	Number *Number `json:"number,omitempty"`
	URI    *URI    `json:"uri,omitempty"`
}

// Outgoing is a document the AIS sends for registration: to a SEOS
// participant (Recipient) or, outside SEOS, to an e-mail address (Email).
type Outgoing struct {
	Recipient      string          `json:"recipient,omitempty"` // register GUID or EIK
	Email          string          `json:"email,omitempty"`     // an address: the document goes as signed S/MIME mail
	Kind           string          `json:"kind"`
	DocumentGUID   string          `json:"documentGuid,omitempty"` // generated when empty
	Number         *Number         `json:"number,omitempty"`
	URI            *URI            `json:"uri,omitempty"`
	Parent         *Ref            `json:"parent,omitempty"`
	About          string          `json:"about,omitempty"`
	DocComment     string          `json:"docComment,omitempty"`
	Comment        string          `json:"comment"` // the sending comment (RegistrationRequest/Comment)
	Correspondents []Correspondent `json:"correspondents,omitempty"`
	Service        *ServiceRef     `json:"service,omitempty"`
	ReqDateClose   string          `json:"reqDateClose,omitempty"`
	AttentionTo    string          `json:"attentionTo,omitempty"`
	AddData        string          `json:"addData,omitempty"` // XML fragment
	Attachments    []Attachment    `json:"attachments,omitempty"`
}

// Send queues an outgoing document and returns its outbox id. The key (the
// Idempotency-Key, or else "doc:"+DocumentGUID) makes a repeated request
// return the first one's id with created=false.
//
// A key is looked up before anything else, so a retry gets the first
// answer even when the recipient has since become unable to exchange. A
// key reused for a different request is idempotency_conflict: the second
// document would otherwise be silently dropped.
func (s *Service) Send(ctx context.Context, in *Outgoing, idemKey string) (id int64, docGUID string, created bool, err error) {
	hash, err := RequestHash(in)
	if err != nil {
		return 0, "", false, err
	}
	return s.SendHashed(ctx, in, idemKey, hash)
}

// SendHashed is Send for a caller that has the request's RequestHash
// already (the spool takes it in the pass over the files that takes the
// drop's key): a file is not read once more just to hash it again.
func (s *Service) SendHashed(ctx context.Context, in *Outgoing, idemKey, hash string) (id int64, docGUID string, created bool, err error) {
	if idemKey != "" {
		if k, ok, err := s.byKey(ctx, s.DB, idemKey, hash); err != nil || ok {
			return k.ID, k.DocumentGUID, false, err
		}
	}
	doc, err := in.document()
	if err != nil {
		return 0, "", false, err
	}
	if addr, err := in.address(); err != nil || addr != "" {
		if err != nil {
			return 0, "", false, err
		}
		return s.sendMail(ctx, in, addr, doc, idemKey, hash)
	}
	to, err := s.recipient(ctx, in.Recipient)
	if err != nil {
		return 0, "", false, err
	}
	comment := strings.TrimSpace(in.Comment)
	// Build the message once now, so a schema problem is the caller's 400,
	// not a failed delivery later.
	probe := seos.NewMessage(s.Self, to.Node(), s.Clock.Now(), seos.Body{RegistrationRequest: &seos.RegistrationRequest{Document: *doc, Comment: comment}})
	if _, _, err := probe.Tree(); err != nil {
		return 0, "", false, invalid("", "the document cannot form a valid SEOS message: %v", err)
	}
	// The attachments go to the file store now, decoded: what is queued
	// names them, and delivery streams them from there.
	files, err := storeBodies(s.Files, s.MaxAttachmentBytes, doc, in)
	if err != nil {
		return 0, "", false, err
	}
	// A DocumentGUID names one document across the exchange, and the same
	// document may go to several recipients: it is a repeat only towards the
	// same recipient, whatever key the caller sends it under.
	if idemKey == "" && in.DocumentGUID != "" {
		idemKey = "doc:" + seos.CanonicalGUID(to.GUID) + ":" + seos.CanonicalGUID(in.DocumentGUID)
	}
	repeat := false
	err = store.InTx(ctx, s.DB, func(tx *sql.Tx) error {
		if in.DocumentGUID != "" {
			k, ok, e := outbox.FindRegistration(ctx, tx, to.GUID, doc.ID.GUID)
			if e != nil || ok {
				id, docGUID, repeat = k.ID, k.DocumentGUID, ok
				return e
			}
		}
		// The key again, in the transaction: a concurrent request may have
		// taken it meanwhile.
		var e error
		if id, created, e = outbox.Enqueue(ctx, tx, outbox.Entry{Kind: outbox.KindRegistration, Recipient: to.GUID, Document: doc.ID.GUID,
			Request: &outbox.Request{Document: doc, Comment: comment}, Key: idemKey, Hash: hash, Files: files}, s.Clock.Now()); e != nil {
			return conflict(e)
		}
		if !created {
			it, e := outbox.Get(ctx, tx, id)
			if e != nil {
				return e
			}
			repeat, docGUID = true, it.DocumentGUID
			return nil
		}
		docGUID = doc.ID.GUID
		return nil
	})
	if err != nil {
		return 0, "", false, err
	}
	if repeat {
		return id, docGUID, false, nil
	}
	s.notify()
	s.Log.Info("document queued", "id", id, "recipient", to.GUID, "document_guid", docGUID)
	return id, docGUID, true, nil
}

// bodyInline is the largest attachment kept in the outbox row rather
// than in a file.
const bodyInline = 128 << 10

// storeBodies decodes each attachment of in into the file store (or, when
// small or files is nil, into doc's model) and returns the files written.
// A file larger than limit (when set) is refused: recipients refuse it.
func storeBodies(files *blob.Store, limit int64, doc *seos.Document, in *Outgoing) ([]string, error) {
	var refs []string
	for i := range doc.Attachments {
		a := &doc.Attachments[i]
		sp := files.NewSpill(bodyInline)
		var err error
		if c := in.Attachments[i].file; c != nil {
			_, err = io.Copy(sp, c.reader()) // the bytes themselves: nothing to decode
		} else {
			dec := seos.NewBase64Decoder(sp)
			_, err = io.Copy(dec, in.Attachments[i].contentReader())
			if err == nil {
				err = dec.Close()
			}
		}
		if err != nil {
			sp.Discard()
			var e *Error
			if errors.As(err, &e) {
				return nil, err
			}
			if errors.Is(err, seos.ErrNotBase64) {
				return nil, invalid(fmt.Sprintf("attachments[%d].content", i), "not base64")
			}
			return nil, fmt.Errorf("ais: keep attachment %d: %w", i+1, err)
		}
		if limit > 0 && sp.Size() > limit {
			sp.Discard()
			return nil, invalid(fmt.Sprintf("attachments[%d].content", i), "%d bytes; a document's file may have at most %d (endpoint.max_attachment_bytes)", sp.Size(), limit)
		}
		k, err := sp.Keep()
		if err != nil {
			return nil, fmt.Errorf("ais: keep attachment %d: %w", i+1, err)
		}
		a.Stored, a.Body = &seos.StoredBody{Size: k.Size, Data: k.Data, Blob: k.Ref}, ""
		if k.Ref != "" {
			refs = append(refs, k.Ref)
		}
	}
	return refs, nil
}

// stripSpace reads s without the white space base64 may be wrapped with.
func stripSpace(s string) io.Reader {
	if !strings.ContainsAny(s, " \t\r\n") {
		return strings.NewReader(s)
	}
	return strings.NewReader(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s))
}

// RequestHash names what was asked: the request as the caller gave it, in
// canonical JSON (Go's encoding of the struct: fixed field order, whatever
// order or spacing the caller used). Attachment contents, which make up
// nearly all of it, are hashed where they are rather than copied into the
// JSON first: a 64 MiB document is not encoded twice to be named.
func RequestHash(in *Outgoing) (string, error) {
	return RequestHashTee(in, nil)
}

// RequestHashTee is RequestHash that also writes attachment i's content
// (base64, as ContentLen counts it) to tee(i) when that is not nil, in the
// same pass: the spool takes its drop's key from the files as they are
// read for the hash.
func RequestHashTee(in *Outgoing, tee func(i int) io.Writer) (string, error) {
	h := sha256.New()
	contents := make([]string, len(in.Attachments))
	stub := *in
	stub.Attachments = append([]Attachment(nil), in.Attachments...)
	for i := range stub.Attachments {
		contents[i] = stub.Attachments[i].Content
		stub.Attachments[i].Content = contentMark
	}
	b, err := json.Marshal(&stub)
	if err != nil {
		return "", fmt.Errorf("ais: encode request: %w", err)
	}
	for i := range contents {
		before, after, _ := strings.Cut(string(b), `"`+contentMark+`"`)
		io.WriteString(h, before)
		a := &in.Attachments[i]
		var t io.Writer
		if tee != nil {
			t = tee(i)
		}
		var err error
		switch {
		case t != nil && (a.file != nil || a.raw == nil && plainJSON(contents[i])):
			// As it is between quotes: one read for both.
			io.WriteString(h, `"`)
			err = a.WriteContent(io.MultiWriter(h, t))
			io.WriteString(h, `"`)
		case t != nil:
			if err = writeJSONString(h, a, contents[i]); err == nil {
				err = a.WriteContent(t)
			}
		default:
			err = writeJSONString(h, a, contents[i])
		}
		if err != nil {
			return "", fmt.Errorf("ais: encode request: %w", err)
		}
		b = []byte(after)
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeJSONString writes an attachment's content as encoding/json encodes
// it: as it is between quotes when it needs no escapes (base64 never
// does), else escaped piece by piece.
func writeJSONString(w io.Writer, a *Attachment, content string) error {
	if a.file != nil { // base64 from the file: nothing to escape
		io.WriteString(w, `"`)
		if err := a.file.writeBase64(w); err != nil {
			return err
		}
		_, err := io.WriteString(w, `"`)
		return err
	}
	if a.raw == nil && plainJSON(content) || a.raw != nil && bytes.IndexByte(a.raw, '\\') < 0 && plainJSON(a.raw) {
		io.WriteString(w, `"`)
		if a.raw != nil {
			w.Write(a.raw)
		} else {
			io.WriteString(w, content)
		}
		_, err := io.WriteString(w, `"`)
		return err
	}
	io.WriteString(w, `"`)
	r := a.contentReaderRaw(content)
	buf := make([]byte, 32<<10)
	carry := 0 // bytes of a character cut by the last read
	for {
		n, err := r.Read(buf[carry:])
		n += carry
		cut := n
		if err == nil { // leave a character the read cut for the next round
			i := n - 1
			for i >= 0 && i > n-utf8.UTFMax && !utf8.RuneStart(buf[i]) {
				i--
			}
			if i >= 0 && !utf8.FullRune(buf[i:n]) {
				cut = i
			}
		}
		quoted, merr := json.Marshal(string(buf[:cut]))
		if merr != nil {
			return merr
		}
		w.Write(quoted[1 : len(quoted)-1])
		carry = copy(buf, buf[cut:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, `"`)
	return err
}

// contentReaderRaw reads the content text as the AIS sent it (escapes
// undone, white space kept).
func (a *Attachment) contentReaderRaw(content string) io.Reader {
	if a.raw != nil {
		return newUnescaper(a.raw)
	}
	return strings.NewReader(content)
}

// contentMark stands in for an attachment's content while the rest of a
// request is encoded: JSON writes it as it is, and it cannot be base64.
const contentMark = "!seosgw:attachment-content!"

// plainJSON reports whether JSON encodes s as it is, between quotes: true
// for base64 without line breaks.
func plainJSON[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// byKey is outbox.ByKey with a key conflict in the AIS's terms.
func (s *Service) byKey(ctx context.Context, q outbox.Querier, key, hash string) (outbox.Keyed, bool, error) {
	k, ok, err := outbox.ByKey(ctx, q, key, hash)
	return k, ok, conflict(err)
}

// conflict turns an idempotency key taken by a different request into
// idempotency_conflict.
func conflict(err error) error {
	var kc *outbox.KeyConflict
	if errors.As(err, &kc) {
		return &Error{Code: "idempotency_conflict", Field: "Idempotency-Key", Status: 409,
			Msg: fmt.Sprintf("this key already queued a different document (id %d, %s); send a new document under a new key", kc.ID, kc.DocumentGUID)}
	}
	return err
}

func (s *Service) notify() {
	if s.Queued != nil {
		s.Queued()
	}
}

// recipient resolves a GUID or an EIK to a participant that may exchange.
func (s *Service) recipient(ctx context.Context, ref string) (*register.Entity, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, invalid("recipient", "required: the recipient's register GUID or EIK (or email, for an address outside SEOS)")
	}
	var e *register.Entity
	if seos.IsGUID(ref) {
		var err error
		if e, err = s.Dir.ByGUID(ctx, ref); err != nil {
			return nil, err
		}
	} else {
		es, err := s.Dir.ByEIK(ctx, ref)
		if err != nil {
			return nil, err
		}
		var live []*register.Entity
		for _, x := range es {
			if !x.Removed {
				live = append(live, x)
			}
		}
		switch len(live) {
		case 0:
		case 1:
			e = live[0]
		default:
			return nil, &Error{Code: "recipient_ambiguous", Field: "recipient", Status: 422,
				Msg: fmt.Sprintf("EIK %s names %d participants; give the GUID of the one you mean", ref, len(live))}
		}
	}
	if e == nil {
		return nil, &Error{Code: "recipient_unknown", Field: "recipient", Status: 422, Msg: fmt.Sprintf("%s is not in the register", ref)}
	}
	if seos.EqualGUID(e.GUID, s.Self.GUID) {
		// The gateway would deliver to its own endpoint and register the
		// document in its own inbox: never what the AIS meant.
		return nil, &Error{Code: "recipient_is_self", Field: "recipient", Status: 422,
			Msg: fmt.Sprintf("%s is this node's own participant (%s); give the recipient's GUID or EIK", ref, e.GUID)}
	}
	self, err := s.Dir.ByGUID(ctx, s.Self.GUID)
	if err != nil {
		return nil, err
	}
	if d := s.Policy.MayExchange(self, e); !d.Allowed {
		return nil, &Error{Code: "recipient_not_exchanging", Field: "recipient", Status: 422, Msg: d.Detail}
	}
	return e, nil
}

// address is the e-mail address the document goes to, "" when it goes over
// SEOS; exactly one of recipient and email names where.
func (in *Outgoing) address() (string, error) {
	email := strings.TrimSpace(in.Email)
	switch {
	case email == "":
		return "", nil
	case strings.TrimSpace(in.Recipient) != "":
		return "", invalid("email", "give recipient (a SEOS participant) or email (an address outside SEOS), not both")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || strings.ContainsAny(email, "<>\r\n") {
		return "", invalid("email", "%q is not a bare e-mail address such as ivan@example.bg", in.Email)
	}
	return email, nil
}

// sendMail queues a document for an address outside SEOS: the mail
// channel signs it and queues it in the mail queue, and an outbox item,
// in the same transaction, gives it the AIS's number. A repeat (the same
// key, or the same DocumentGUID to the same address) is not sent again.
func (s *Service) sendMail(ctx context.Context, in *Outgoing, to string, doc *seos.Document, idemKey, hash string) (id int64, docGUID string, created bool, err error) {
	if s.Mail == nil {
		return 0, "", false, invalid("email", "this node sends no e-mail: the mail channel is off (mail.enabled in its configuration)")
	}
	if s.Mail.Official(to) {
		return 0, "", false, &Error{Code: "recipient_is_self", Field: "email", Status: 422,
			Msg: fmt.Sprintf("%s is this administration's own official address (mail.addresses): the document would come back into its own inbox; address it to the recipient", to)}
	}
	comment := strings.TrimSpace(in.Comment)
	if idemKey == "" && in.DocumentGUID != "" {
		idemKey = "doc:" + strings.ToLower(to) + ":" + seos.CanonicalGUID(in.DocumentGUID)
	}
	// The files go to the file store (large ones), decoded, and stream
	// from there into the signed mail; only the mail is kept after.
	if _, err := storeBodies(s.Files, s.MaxAttachmentBytes, doc, in); err != nil {
		return 0, "", false, err
	}
	err = store.InTx(ctx, s.DB, func(tx *sql.Tx) error {
		if in.DocumentGUID != "" {
			k, ok, e := outbox.FindRegistration(ctx, tx, to, doc.ID.GUID)
			if e != nil || ok {
				id, docGUID = k.ID, k.DocumentGUID
				return e
			}
		}
		if idemKey != "" {
			// Before the mail is made: a concurrent request may have taken it.
			k, ok, e := s.byKey(ctx, tx, idemKey, hash)
			if e != nil || ok {
				id, docGUID = k.ID, k.DocumentGUID
				return e
			}
		}
		mailID, files, e := s.Mail.Send(ctx, tx, to, doc, comment)
		if e != nil {
			return e
		}
		kept := *doc // the files travel in the mail; the item keeps their names
		kept.Attachments = make([]seos.Attachment, len(doc.Attachments))
		for i, a := range doc.Attachments {
			kept.Attachments[i] = seos.Attachment{FileName: a.FileName, MIMEType: a.MIMEType, Comment: a.Comment}
		}
		id, created, e = outbox.Enqueue(ctx, tx, outbox.Entry{Kind: outbox.KindRegistration, Recipient: to, Document: doc.ID.GUID,
			Request: &outbox.Request{Document: &kept, Comment: comment}, Key: idemKey, Hash: hash, MailID: mailID, Files: files}, s.Clock.Now())
		docGUID = doc.ID.GUID
		return e
	})
	if err != nil || !created {
		return id, docGUID, false, err
	}
	s.Mail.Wake()
	s.Log.Info("document queued by e-mail", "id", id, "email", to, "document_guid", docGUID)
	return id, docGUID, true, nil
}

// document turns the request into the SEOS document, checking each field.
func (in *Outgoing) document() (*seos.Document, error) {
	d := &seos.Document{Kind: strings.TrimSpace(in.Kind)}
	if d.Kind == "" {
		return nil, invalid("kind", "required, e.g. Писмо")
	}
	guid := strings.TrimSpace(in.DocumentGUID)
	if guid == "" {
		guid = seos.NewGUID()
	} else if !seos.IsGUID(guid) {
		return nil, invalid("documentGuid", "%q is not a GUID in braces", guid)
	}
	id, err := docID(guid, in.Number, in.URI, "")
	if err != nil {
		return nil, err
	}
	d.ID = id
	if in.Parent != nil {
		if !seos.IsGUID(in.Parent.GUID) {
			return nil, invalid("parent.guid", "%q is not a GUID in braces", in.Parent.GUID)
		}
		p, err := docID(in.Parent.GUID, in.Parent.Number, in.Parent.URI, "parent.")
		if err != nil {
			return nil, err
		}
		d.ParentID = &p
	}
	opt := func(s string) *string {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return &s
	}
	d.About, d.Comment, d.AttentionTo = opt(in.About), opt(in.DocComment), opt(in.AttentionTo)
	for i, c := range in.Correspondents {
		f := fmt.Sprintf("correspondents[%d]", i)
		if strings.TrimSpace(c.Name) == "" || strings.TrimSpace(c.City) == "" {
			return nil, invalid(f, "name and city are required")
		}
		sc := seos.Correspondent{Name: c.Name, City: c.City, Address: opt(c.Address), EGN: opt(c.EGN), IDCard: opt(c.IDCard),
			BULSTAT: opt(c.BULSTAT), EMail: opt(c.EMail), Phone: opt(c.Phone), MobilePhone: opt(c.MobilePhone), MOL: opt(c.MOL),
			Comment: opt(c.Comment)}
		if k := seos.CorrespondentKind(strings.TrimSpace(c.Kind)); k != "" {
			if k != seos.CorrApplicant && k != seos.CorrOther {
				return nil, invalid(f+".kind", "%q; use Corr_Applicant or Corr_Other", c.Kind)
			}
			sc.Kind = &k
		}
		d.Correspondents = append(d.Correspondents, sc)
	}
	if in.Service != nil {
		d.Service = &seos.Service{Name: in.Service.Name, Type: in.Service.Type, Code: in.Service.Code}
	}
	if in.ReqDateClose != "" {
		if !seos.IsDate(in.ReqDateClose) {
			return nil, invalid("reqDateClose", "%q is not a date (YYYY-MM-DD)", in.ReqDateClose)
		}
		v := seos.Date(in.ReqDateClose)
		d.ReqDateClose = &v
	}
	if strings.TrimSpace(in.AddData) != "" {
		c, err := seos.ParseAnyContent(in.AddData)
		if err != nil {
			return nil, invalid("addData", "not an XML fragment: %v", err)
		}
		d.AddData = c
	}
	for i, a := range in.Attachments {
		f := fmt.Sprintf("attachments[%d]", i)
		if err := CheckFileName(a.FileName); err != nil {
			return nil, invalid(f+".fileName", "%v", err)
		}
		switch {
		case strings.TrimSpace(a.MIMEType) == "":
			return nil, invalid(f+".mimeType", "required, e.g. application/pdf")
		case a.raw == nil && a.file == nil && !seos.IsBase64(a.Content):
			return nil, invalid(f+".content", "not base64")
		}
		att := seos.Attachment{FileName: a.FileName, MIMEType: a.MIMEType, Body: seos.Base64(a.Content)}
		if a.Comment != "" {
			att.Comment = seos.Str(a.Comment)
		}
		d.Attachments = append(d.Attachments, att)
	}
	return d, nil
}

// positiveInteger is the lexical space of the schema's RegisterIndex and
// SequenceNumber (xsd:positiveInteger, within the 24 significant digits
// libxml2 takes), after trimming.
var positiveInteger = regexp.MustCompile(`^\+?0*[1-9][0-9]{0,23}$`)

func docID(guid string, n *Number, u *URI, prefix string) (seos.DocumentID, error) {
	id := seos.DocumentID{GUID: guid}
	switch {
	case n != nil && u != nil:
		return id, invalid(prefix+"number", "give a number or a URI, not both")
	case n != nil:
		if strings.TrimSpace(n.Number) == "" {
			return id, invalid(prefix+"number.number", "required")
		}
		if !seos.IsDate(n.Date) {
			return id, invalid(prefix+"number.date", "%q is not a date (YYYY-MM-DD)", n.Date)
		}
		id.Number = &seos.DocumentNumber{Number: n.Number, Date: seos.Date(n.Date)}
	case u != nil:
		uri := &seos.DocumentURI{}
		for _, p := range []struct {
			field, v string
			to       **seos.Integer
		}{{"registerIndex", u.RegisterIndex, &uri.RegisterIndex}, {"sequenceNumber", u.SequenceNumber, &uri.SequenceNumber}} {
			if p.v == "" {
				continue
			}
			v := strings.TrimSpace(p.v)
			if !positiveInteger.MatchString(v) {
				return id, invalid(prefix+"uri."+p.field, "%q is not a whole number of at least 1 (at most 24 digits)", p.v)
			}
			n := seos.Integer(v)
			*p.to = &n
		}
		if u.ReceiptOrSigningDate != "" {
			if !seos.IsDate(u.ReceiptOrSigningDate) {
				return id, invalid(prefix+"uri.receiptOrSigningDate", "%q is not a date (YYYY-MM-DD)", u.ReceiptOrSigningDate)
			}
			v := seos.Date(u.ReceiptOrSigningDate)
			uri.ReceiptOrSigningDate = &v
		}
		id.URI = uri
	}
	return id, nil
}

// Status is an outgoing document as the AIS follows it.
type Status struct {
	ID           int64          `json:"id"`
	DocumentGUID string         `json:"documentGuid"`
	Recipient    string         `json:"recipient,omitempty"` // over SEOS: the participant's GUID
	Email        string         `json:"email,omitempty"`     // by e-mail: the address
	MessageID    string         `json:"messageId,omitempty"` // by e-mail: the mail's Message-ID
	State        string         `json:"state"`               // one of PublicStates over SEOS; by e-mail queued, sending, sent, failed
	Attempts     int            `json:"attempts"`
	NextAttempt  string         `json:"nextAttempt,omitempty"`
	Error        string         `json:"error,omitempty"`
	PeerNumber   *Number        `json:"peerNumber,omitempty"`
	PeerURI      *URI           `json:"peerUri,omitempty"`
	Rejection    string         `json:"rejectionReason,omitempty"`
	ExpectClose  string         `json:"expectCloseDate,omitempty"`
	Receipt      string         `json:"receipt,omitempty"` // the recipient's confirmation of receipt, with DS_REGISTERED
	History      []outbox.Event `json:"history"`
}

// Document reports an outgoing registration request.
func (s *Service) Document(ctx context.Context, id int64) (*Status, error) {
	it, err := outbox.Get(ctx, s.DB, id)
	if errors.Is(err, outbox.ErrNotFound) || (err == nil && it.Kind != outbox.KindRegistration) {
		return nil, &Error{Code: "not_found", Msg: fmt.Sprintf("no outgoing document %d", id), Status: 404}
	}
	if err != nil {
		return nil, err
	}
	if it.MailID != 0 {
		return s.mailStatus(ctx, it)
	}
	st := &Status{ID: it.ID, DocumentGUID: it.DocumentGUID, Recipient: it.RecipientGUID, State: PublicState(it), Attempts: it.Attempts,
		Error: it.LastError, PeerURI: uriOf(it.PeerURI), Rejection: it.RejectionReason, ExpectClose: it.ExpectClose, Receipt: it.Receipt}
	st.NextAttempt = nextAttempt(it)
	if it.PeerNumber != "" {
		st.PeerNumber = &Number{Number: it.PeerNumber, Date: it.PeerDate}
	}
	if st.History, err = outbox.Events(ctx, s.DB, id); err != nil {
		return nil, err
	}
	return st, nil
}

// mailStatus reports a document sent by e-mail: where its mail stands in
// the mail queue — queued, sending (tried, to be retried), sent (the
// submission server took it), failed (refused for good, or given up).
func (s *Service) mailStatus(ctx context.Context, it *outbox.Item) (*Status, error) {
	m, err := mailq.Get(ctx, s.DB, it.MailID)
	if err != nil {
		return nil, fmt.Errorf("ais: document %d: mail %d: %w", it.ID, it.MailID, err)
	}
	st := &Status{ID: it.ID, DocumentGUID: it.DocumentGUID, Email: it.RecipientGUID, MessageID: m.MessageID, Attempts: m.Attempts, Error: m.LastError,
		State: mailq.PublicState(m)}
	if st.State == "sending" && m.State == mailq.Queued {
		st.NextAttempt = m.NextAttemptAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	if st.History, err = outbox.Events(ctx, s.DB, it.ID); err != nil {
		return nil, err
	}
	switch {
	case m.State == mailq.Sent:
		st.History = append(st.History, outbox.Event{At: m.SentAt, Event: "sent", Detail: fmt.Sprintf("the submission server took it (attempt %d)", m.Attempts)})
	case m.State == mailq.Failed:
		st.History = append(st.History, outbox.Event{At: m.UpdatedAt, Event: "failed", Detail: m.LastError})
	case m.LastError != "":
		st.History = append(st.History, outbox.Event{At: m.UpdatedAt, Event: "retry", Detail: fmt.Sprintf("attempt %d: %s", m.Attempts, m.LastError)})
	}
	return st, nil
}

// PublicState names where an outgoing document stands, in the AIS's terms.
func PublicState(it *outbox.Item) string {
	switch it.State {
	case outbox.Failed:
		return "failed"
	case outbox.Cancelled:
		return "cancelled"
	case outbox.Queued, outbox.Sending:
		if it.Attempts == 0 {
			return "queued"
		}
		return "sending"
	}
	switch seos.DocStatus(it.DocStatus) {
	case seos.StatusRegistered:
		return "registered"
	case seos.StatusRejected:
		return "rejected"
	case seos.StatusClosed:
		return "closed"
	case seos.StatusStopped:
		return "stopped"
	case seos.StatusNotFound:
		return "not_found_at_recipient"
	}
	return "waiting_registration"
}

// Inbox lists received documents in a state ("" = all).
func (s *Service) Inbox(ctx context.Context, state string, limit int) ([]inbox.Item, error) {
	if st := inbox.State(state); state != "" && !st.Visible() {
		return nil, invalid("state", "%q; use received, registered, rejected, closed or stopped (documents the acceptance policy is still checking are not shown)", state)
	}
	return inbox.List(ctx, s.DB, inbox.State(state), limit)
}

// InboxItem returns a received document with its attachment list.
func (s *Service) InboxItem(ctx context.Context, id int64) (*inbox.Item, error) {
	it, err := inbox.Get(ctx, s.DB, id)
	if errors.Is(err, inbox.ErrNotFound) || (err == nil && !it.State.Visible()) {
		return nil, &Error{Code: "not_found", Msg: fmt.Sprintf("no received document %d", id), Status: 404}
	}
	return it, err
}

// Attachment returns one attachment of a received document, in memory.
// One the acceptance policy found infected is not handed out.
func (s *Service) Attachment(ctx context.Context, id int64, n int) (*inbox.Attachment, []byte, error) {
	a, r, err := s.OpenAttachment(ctx, id, n)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// OpenAttachment returns one attachment of a received document with a
// reader of its bytes (the caller closes it): a file of the file store is
// streamed, not held. One the acceptance policy found infected is not
// handed out.
func (s *Service) OpenAttachment(ctx context.Context, id int64, n int) (*inbox.Attachment, io.ReadCloser, error) {
	it, err := s.InboxItem(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	c, err := inbox.OpenAttachment(ctx, s.DB, s.Files, id, n)
	if errors.Is(err, inbox.ErrNotFound) {
		return nil, nil, &Error{Code: "not_found", Msg: fmt.Sprintf("document %d has no attachment %d", id, n), Status: 404}
	}
	if err != nil {
		return nil, nil, err
	}
	a := &c.Attachment
	if sig, infected := it.Verdict.Infected(a.FileName); infected {
		c.Close()
		return nil, nil, &Error{Code: "conflict", Status: 409,
			Msg: fmt.Sprintf("document %d attachment %d holds a virus (%s) by the acceptance policy's scan; it is not handed out", id, n, sig)}
	}
	return a, readCloser{c.Reader(), c}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Registration is how the AIS registered a received document.
type Registration struct {
	Number          *Number `json:"number,omitempty"`
	URI             *URI    `json:"uri,omitempty"`
	ExpectCloseDate string  `json:"expectCloseDate,omitempty"`
}

// Register records the AIS's registration and queues DS_REGISTERED to the sender.
func (s *Service) Register(ctx context.Context, id int64, r *Registration) error {
	if r.Number == nil && r.URI == nil {
		return invalid("number", "give the registration number and date, or the URI")
	}
	if r.ExpectCloseDate != "" && !seos.IsDate(r.ExpectCloseDate) {
		return invalid("expectCloseDate", "%q is not a date (YYYY-MM-DD)", r.ExpectCloseDate)
	}
	return s.transition(ctx, id, inbox.Registered, func(it *inbox.Item, upd *inbox.Update) error {
		docID, err := docID(it.DocumentGUID, r.Number, r.URI, "")
		if err != nil {
			return err
		}
		upd.ID = &docID
		upd.ExpectClose = r.ExpectCloseDate
		return nil
	})
}

// Reject records a refused registration and queues DS_REJECTED with the reason.
func (s *Service) Reject(ctx context.Context, id int64, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return invalid("reason", "required: say why the document is not registered")
	}
	return s.transition(ctx, id, inbox.Rejected, func(_ *inbox.Item, upd *inbox.Update) error {
		upd.Reason = strings.TrimSpace(reason)
		return nil
	})
}

// Close records that work on a document finished (DS_CLOSED).
func (s *Service) Close(ctx context.Context, id int64) error {
	return s.transition(ctx, id, inbox.Closed, nil)
}

// Stop records that work on a document stopped (DS_STOPPED).
func (s *Service) Stop(ctx context.Context, id int64) error {
	return s.transition(ctx, id, inbox.Stopped, nil)
}

// transition moves a received document to state and, in the same
// transaction, queues the status notification for its sender — over SEOS,
// or for a document that came by e-mail, the receipt or refusal mail.
func (s *Service) transition(ctx context.Context, id int64, state inbox.State, fill func(*inbox.Item, *inbox.Update) error) error {
	var outID int64
	mailed := false
	err := store.InTx(ctx, s.DB, func(tx *sql.Tx) error {
		it, err := inbox.Get(ctx, tx, id)
		if errors.Is(err, inbox.ErrNotFound) {
			return &Error{Code: "not_found", Msg: fmt.Sprintf("no received document %d", id), Status: 404}
		}
		if err != nil {
			return err
		}
		if !it.State.Visible() {
			return &Error{Code: "not_found", Msg: fmt.Sprintf("no received document %d", id), Status: 404}
		}
		if !inbox.CanMove(it.State, state) {
			return &Error{Code: "conflict", Status: 409, Msg: fmt.Sprintf("document %d is %s; it cannot become %s", id, it.State, state)}
		}
		upd := &inbox.Update{State: state}
		if fill != nil {
			if err := fill(it, upd); err != nil {
				return err
			}
		}
		if err := inbox.Apply(ctx, tx, id, upd, s.Clock.Now()); err != nil {
			return err
		}
		it, err = inbox.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		if it.Channel == inbox.ChannelEmail {
			if mailed = s.Mail != nil; mailed {
				return s.Mail.Answer(ctx, tx, it)
			}
			s.Log.Warn("no notice to the sender: the mail channel is off (mail.enabled)", "inbox_id", id, "state", state)
			return nil
		}
		outID, err = outbox.EnqueueStatus(ctx, tx, s.Self, it.Sender, id, it.StatusResponse(), s.Clock.Now())
		if errors.Is(err, outbox.ErrUnsendable) {
			return invalid("", "%v; nothing was recorded", err)
		}
		return err
	})
	switch {
	case err != nil:
		return err
	case mailed:
		s.Mail.Wake()
		s.Log.Info("state recorded; the sender is answered by e-mail", "inbox_id", id, "state", state)
		return nil
	}
	s.notify()
	s.Log.Info("status queued", "inbox_id", id, "state", state, "outbox_id", outID)
	return nil
}

// Participants searches the register copy by name, EIK or GUID (case-
// insensitive substring); an empty query lists everyone active.
func (s *Service) Participants(ctx context.Context, q string) ([]*register.Entity, error) {
	all, err := s.Dir.List(ctx, "")
	if err != nil {
		return nil, err
	}
	q = strings.ToLower(strings.TrimSpace(q))
	var out []*register.Entity
	for _, e := range all {
		if e.Removed {
			continue
		}
		if q == "" && e.Status != register.Active {
			continue
		}
		if q == "" || strings.Contains(strings.ToLower(e.AdministrativeBodyName), q) || strings.Contains(e.Identifier, q) ||
			strings.Contains(strings.ToLower(e.GUID), q) {
			out = append(out, e)
		}
	}
	return out, nil
}

// uriOf is a protocol URI in the API's spelling.
func uriOf(u *seos.DocumentURI) *URI {
	if u == nil {
		return nil
	}
	out := &URI{}
	if u.RegisterIndex != nil {
		out.RegisterIndex = string(*u.RegisterIndex)
	}
	if u.SequenceNumber != nil {
		out.SequenceNumber = string(*u.SequenceNumber)
	}
	if u.ReceiptOrSigningDate != nil {
		out.ReceiptOrSigningDate = string(*u.ReceiptOrSigningDate)
	}
	return out
}

// QueuedByKey returns the outgoing document queued under an idempotency
// key, if any, for the request whose RequestHash is hash. The spool asks
// before it re-reads a drop it claimed before a restart, so that a drop
// already queued is finished, not judged again.
func (s *Service) QueuedByKey(ctx context.Context, key, hash string) (id int64, docGUID string, ok bool, err error) {
	k, ok, err := s.byKey(ctx, s.DB, key, hash)
	return k.ID, k.DocumentGUID, ok, err
}

// ReceivedIDs lists the ids of received documents still waiting for the
// AIS after `after`, in order, at most limit of them.
func (s *Service) ReceivedIDs(ctx context.Context, after int64, limit int) ([]int64, error) {
	return inbox.ReceivedIDs(ctx, s.DB, after, limit)
}

// FindReceived returns the id of the document a sender sent with a
// DocumentGUID.
func (s *Service) FindReceived(ctx context.Context, senderGUID, documentGUID string) (int64, error) {
	it, err := inbox.Find(ctx, s.DB, senderGUID, documentGUID)
	if errors.Is(err, inbox.ErrNotFound) {
		return 0, &Error{Code: "not_found", Status: 404, Msg: fmt.Sprintf("no document %s received from %s", documentGUID, senderGUID)}
	}
	if err != nil {
		return 0, err
	}
	return it.ID, nil
}
