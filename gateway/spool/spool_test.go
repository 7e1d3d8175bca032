package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

const letterJSON = `{"recipient": "000000002", "kind": "Писмо", "about": "Покана",
 "number": {"number": "ОБ-123", "date": "2026-11-23"},
 "attachments": [
   {"fileName": "Покана.pdf", "mimeType": "application/pdf", "file": "letter-123/pokana.pdf"},
   {"mimeType": "text/plain", "file": "opis.txt"},
   {"fileName": "бележка.txt", "mimeType": "text/plain", "content": "0LHQtdC70LXQttC60LA="}
 ]}`

func TestJSONDropQueuedOnce(t *testing.T) {
	e := newEnv(t, "")
	e.put("outbox/letter-123/pokana.pdf", []byte("%PDF-1.4 покана"))
	e.put("outbox/opis.txt", []byte("опис"))
	e.put("outbox/letter.json", []byte(letterJSON))

	e.scan(1)
	if n := len(e.items(outbox.KindRegistration)); n != 0 {
		t.Fatalf("taken on the first sight (%d queued); a drop must be seen unchanged twice", n)
	}
	e.scan(1)
	if n := len(e.items(outbox.KindRegistration)); n != 0 {
		t.Fatalf("taken on the first sight of its files (%d queued); they must be seen unchanged twice too", n)
	}
	e.scan(1)
	items := e.items(outbox.KindRegistration)
	if len(items) != 1 {
		t.Fatalf("%d queued, want 1", len(items))
	}
	it := items[0]
	d := it.Request.Document
	if it.RecipientGUID != peer.GUID || d.Kind != "Писмо" || d.ID.Number.Number != "ОБ-123" || len(d.Attachments) != 3 {
		t.Fatalf("queued %+v", d)
	}
	for i, want := range []struct{ name, body string }{{"Покана.pdf", "%PDF-1.4 покана"}, {"opis.txt", "опис"}, {"бележка.txt", "бележка"}} {
		body, _ := d.Attachments[i].Data()
		if d.Attachments[i].FileName != want.name || string(body) != want.body {
			t.Errorf("attachment %d: %q %q", i, d.Attachments[i].FileName, body)
		}
	}
	done := fmt.Sprintf("%d_letter.json", it.ID)
	if got, want := strings.Join(e.files("done"), ","), strings.Join([]string{done, done + ".files/letter-123/pokana.pdf", done + ".files/opis.txt"}, ","); got != want {
		t.Errorf("done/ holds %s, want %s", got, want)
	}
	if f := e.files("outbox"); len(f) != 0 {
		t.Errorf("outbox/ still holds %v", f)
	}
	if f := e.files("work"); len(f) != 0 {
		t.Errorf("work/ still holds %v", f)
	}
	e.scan(3)
	if n := len(e.items(outbox.KindRegistration)); n != 1 {
		t.Errorf("%d queued after more scans", n)
	}
	if st := e.sp.Status(); st.Queued != 1 || st.LastError != "" {
		t.Errorf("status %+v", st)
	}

	// The same drop again (same name, same content) is not sent again.
	e.put("outbox/letter-123/pokana.pdf", []byte("%PDF-1.4 покана"))
	e.put("outbox/opis.txt", []byte("опис"))
	e.put("outbox/letter.json", []byte(letterJSON))
	e.scan(3)
	if n := len(e.items(outbox.KindRegistration)); n != 1 {
		t.Errorf("a repeated drop was queued again (%d)", n)
	}
	if !exists(e.path("done/" + fmt.Sprintf("%d_letter~2.json", it.ID))) {
		t.Errorf("repeat not in done/: %v", e.files("done"))
	}
}

func TestLegacyXMLDrop(t *testing.T) {
	e := newEnv(t, exampleMapping)
	sample, err := os.ReadFile("testdata/legacy-letter.xml")
	if err != nil {
		t.Fatal(err)
	}
	e.put("outbox/letter-123/opis.txt", []byte("1. Покана\n2. Опис\n"))
	e.put("outbox/ДЕЛ-123.xml", sample)
	e.scan(3) // the drop, then its file opis.txt, each seen unchanged twice
	items := e.items(outbox.KindRegistration)
	if len(items) != 1 {
		t.Fatalf("%d queued, want 1; failed/: %v", len(items), e.files("failed"))
	}
	d := items[0].Request.Document
	if d.ID.GUID != "{3f2a1c9e-7b4d-4e2a-9c1f-5d6e7f809a1b}" || d.Kind != "Писмо" || d.ID.Number == nil ||
		d.ID.Number.Number != "ОБ-94-00-123" || d.ID.Number.Date != "2026-11-23" || *d.About != "Покана за съвместна проверка" ||
		d.ReqDateClose == nil || *d.ReqDateClose != "2026-12-23" || items[0].Request.Comment != "Изпратено от Деловодство 2000" {
		t.Errorf("document %+v", d)
	}
	if d.ParentID == nil || d.ParentID.GUID != "{8d1e2f3a-4b5c-4d6e-8f70-91a2b3c4d5e6}" || d.ParentID.Number.Date != "2026-11-01" {
		t.Errorf("parent %+v", d.ParentID)
	}
	if len(d.Correspondents) != 2 || *d.Correspondents[0].Kind != seos.CorrApplicant || *d.Correspondents[1].Kind != seos.CorrOther ||
		d.Correspondents[1].City != "Пловдив" || *d.Correspondents[0].EGN != "7501010010" {
		t.Errorf("correspondents %+v", d.Correspondents)
	}
	if len(d.Attachments) != 2 {
		t.Fatalf("attachments %+v", d.Attachments)
	}
	pdf, _ := d.Attachments[0].Data()
	opis, _ := d.Attachments[1].Data()
	if !strings.HasPrefix(string(pdf), "%PDF-1.4") || d.Attachments[1].FileName != "Опис на приложенията.txt" ||
		d.Attachments[1].MIMEType != "application/octet-stream" || string(opis) != "1. Покана\n2. Опис\n" || *d.Attachments[1].Comment != "опис" {
		t.Errorf("attachments %q %+v %q", pdf, d.Attachments[1], opis)
	}
	if !exists(e.path(fmt.Sprintf("done/%d_ДЕЛ-123.xml.files/letter-123/opis.txt", items[0].ID))) {
		t.Errorf("done/: %v", e.files("done"))
	}
}

func TestMalformedDrops(t *testing.T) {
	sample, _ := os.ReadFile("testdata/legacy-letter.xml")
	oneFile := regexp.MustCompile(`(?s)<File name="Опис.*?</File>`).ReplaceAllString(string(sample), "") // no file beside it
	cases := []struct {
		name, file, content string
		mapping             string
		code, field         string
	}{
		{"not JSON", "a.json", `{"recipient":`, "", "invalid_request", ""},
		{"unknown field", "a.json", `{"recipient":"000000002","kind":"Писмо","subject":"x"}`, "", "invalid_request", "subject"},
		{"no kind", "a.json", `{"recipient":"000000002"}`, "", "invalid_request", "kind"},
		{"missing file", "a.json", `{"recipient":"000000002","kind":"Писмо","attachments":[{"mimeType":"a/b","file":"няма.pdf"}]}`, "", "invalid_request", "attachments[0].file"},
		{"file outside", "a.json", `{"recipient":"000000002","kind":"Писмо","attachments":[{"mimeType":"a/b","file":"../state/x"}]}`, "", "invalid_request", "attachments[0].file"},
		{"unknown recipient", "a.json", `{"recipient":"999999999","kind":"Писмо"}`, "", "recipient_unknown", "recipient"},
		{"XML without a mapping", "a.xml", string(sample), "", "invalid_request", ""},
		{"XML not well-formed", "a.xml", `<Letter><To>`, exampleMapping, "invalid_request", ""},
		{"XML with DOCTYPE", "a.xml", `<?xml version="1.0"?><!DOCTYPE Letter [<!ENTITY x "y">]><Letter/>`, exampleMapping, "invalid_request", ""},
		{"XML of another format", "a.xml", `<Order/>`, exampleMapping, "invalid_request", ""},
		{"XML unknown kind code", "a.xml", strings.Replace(string(sample), `code="ПИС"`, `code="XXX"`, 1), exampleMapping, "invalid_request", "kind"},
		{"XML bad date", "a.xml", strings.Replace(string(sample), `<RegDate>23.11.2026`, `<RegDate>2026-11-23`, 1), exampleMapping, "invalid_request", "number.date"},
		{"XML no recipient", "a.xml", strings.Replace(string(sample), ` eik="000000002"`, ``, 1), exampleMapping, "invalid_request", "recipient"},
		{"XML person without town", "a.xml", strings.Replace(string(sample), `<Town>Пловдив</Town>`, ``, 1), exampleMapping, "invalid_request", "correspondents[1].city"},
		// What travels to the peer as an attachment's name is a name.
		{"attachment name a path", "a.json", `{"recipient":"000000002","kind":"Писмо","attachments":[{"fileName":"../../x.pdf","mimeType":"a/b","content":"QQ=="}]}`, "",
			"invalid_request", "attachments[0].fileName"},
		{"XML attachment name a Windows path", "a.xml", strings.Replace(oneFile, `name="Покана.pdf"`, `name="C:\Деловодство\Покана.pdf"`, 1), exampleMapping,
			"invalid_request", "attachments[0].fileName"},
		{"XML attachment name with a bidi override", "a.xml", strings.Replace(oneFile, `name="Покана.pdf"`, "name=\"Покана\u202efdp.exe\"", 1), exampleMapping,
			"invalid_request", "attachments[0].fileName"},
		{"text not UTF-8", "a.json", "{\"recipient\":\"000000002\",\"kind\":\"Пис\xffмо\"}", "", "invalid_request", "kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.mapping)
			e.put("outbox/"+c.file, []byte(c.content))
			e.scan(2)
			if n := len(e.items(outbox.KindRegistration)); n != 0 {
				t.Fatalf("%d queued", n)
			}
			if got := e.read("failed/" + c.file); got != c.content {
				t.Errorf("failed/%s holds %q", c.file, got)
			}
			msg := e.read("failed/" + c.file + ".error")
			if !strings.Contains(msg, "code: "+c.code+"\n") || !hasField(msg, c.field) || !strings.Contains(msg, "error: ") {
				t.Errorf("%s.error:\n%s\nwant code %s field %q", c.file, msg, c.code, c.field)
			}
			if f := e.files("work"); len(f) != 0 {
				t.Errorf("work/ holds %v", f)
			}
			if st := e.sp.Status(); st.Failed != 1 || st.LastError != "" {
				t.Errorf("status %+v", st)
			}
			// The same mistake again does not overwrite the first.
			e.put("outbox/"+c.file, []byte(c.content))
			e.scan(2)
			ext := c.file[strings.LastIndex(c.file, "."):]
			second := "failed/" + strings.TrimSuffix(c.file, ext) + "~2" + ext
			if !exists(e.path(second)) || !exists(e.path(second+".error")) {
				t.Errorf("second failure: failed/ holds %v", e.files("failed"))
			}
		})
	}
}

func TestDropsNotYetComplete(t *testing.T) {
	e := newEnv(t, "")
	e.put("outbox/a.json.tmp", []byte(`{"recipient":"000000002","kind":"Писмо"}`))
	e.put("outbox/.hidden.json", []byte(`{"recipient":"000000002","kind":"Писмо"}`))
	e.put("outbox/scan.pdf", []byte("%PDF"))
	os.MkdirAll(e.path("outbox/folder.json"), 0o755)
	// A drop written in place, still growing between scans.
	growing := e.path("outbox/growing.json")
	os.WriteFile(growing, []byte(`{"recipient":"000000002",`), 0o644)
	e.scan(1)
	f, _ := os.OpenFile(growing, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(` "kind":"Писмо"`)
	f.Close()
	e.scan(1)
	if n := len(e.items(outbox.KindRegistration)); n != 0 || len(e.files("failed")) != 0 {
		t.Fatalf("a file still being written was taken (%d queued, failed %v)", n, e.files("failed"))
	}
	f, _ = os.OpenFile(growing, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`}`)
	f.Close()
	e.scan(3)
	if n := len(e.items(outbox.KindRegistration)); n != 1 {
		t.Fatalf("%d queued, want 1 (failed: %v)", n, e.files("failed"))
	}
	for _, left := range []string{"a.json.tmp", ".hidden.json", "scan.pdf"} {
		if !exists(e.path("outbox/" + left)) {
			t.Errorf("outbox/%s was taken", left)
		}
	}
}

func TestRestartBetweenClaimAndQueue(t *testing.T) {
	body := []byte(`{"recipient":"000000002","kind":"Писмо","attachments":[{"mimeType":"application/pdf","file":"d/scan.pdf"}]}`)
	cases := []struct {
		name  string
		setup func(e *env) int64 // returns an id already queued, or 0
	}{
		{"claimed, not queued", func(e *env) int64 { return 0 }},
		{"queued, not moved", func(e *env) int64 {
			// The crash came after the outbox commit: the key is taken.
			return e.queueAsBeforeCrash("letter.json", body)
		}},
		{"queued, files moved, drop not", func(e *env) int64 {
			id := e.queueAsBeforeCrash("letter.json", body)
			e.put(fmt.Sprintf("done/%d_letter.json.files/d/scan.pdf", id), []byte("%PDF"))
			os.Remove(e.path("outbox/d/scan.pdf"))
			return id
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "")
			e.put("outbox/d/scan.pdf", []byte("%PDF"))
			e.put("work/outbox/letter.json", body) // claimed by the process that died
			before := c.setup(e)
			e.sp = e.newSpool()
			// A claim is finished without waiting for the drop, which was
			// seen settled before the crash; files not yet queued are seen
			// unchanged twice first, by this process.
			e.scan(1)
			if n := len(e.items(outbox.KindRegistration)); before == 0 && n != 0 {
				t.Fatalf("%d queued before the files were seen unchanged twice", n)
			}
			e.scan(1)
			items := e.items(outbox.KindRegistration)
			if len(items) != 1 {
				t.Fatalf("%d queued, want exactly 1", len(items))
			}
			if before != 0 && items[0].ID != before {
				t.Errorf("id %d, want the one queued before the crash, %d", items[0].ID, before)
			}
			done := fmt.Sprintf("done/%d_letter.json", items[0].ID)
			if !exists(e.path(done)) || !exists(e.path(done+".files/d/scan.pdf")) {
				t.Errorf("done/: %v", e.files("done"))
			}
			if f := e.files("work"); len(f) != 0 {
				t.Errorf("work/ holds %v", f)
			}
			e.sp = e.newSpool()
			e.scan(3)
			if n := len(e.items(outbox.KindRegistration)); n != 1 {
				t.Errorf("%d queued after another restart", n)
			}
		})
	}

	t.Run("database down, then back", func(t *testing.T) {
		e := newEnv(t, "")
		e.put("outbox/letter.json", []byte(`{"recipient":"000000002","kind":"Писмо"}`))
		working := e.svc
		broken := *e.svc
		broken.Dir = downDirectory{}
		e.svc = &broken
		e.sp = e.newSpool()
		e.sp.Scan(context.Background())
		if err := e.sp.Scan(context.Background()); err == nil {
			t.Fatal("a scan with the register down reported no error")
		}
		if e.sp.Check(context.Background()) == nil {
			t.Error("Check is quiet about the failed scan")
		}
		if !exists(e.path("work/outbox/letter.json")) || len(e.files("failed")) != 0 {
			t.Fatalf("a transient failure did not leave the claim: work %v failed %v", e.files("work"), e.files("failed"))
		}
		e.svc = working
		e.sp = e.newSpool()
		e.scan(1)
		if n := len(e.items(outbox.KindRegistration)); n != 1 {
			t.Errorf("%d queued after recovery", n)
		}
		if err := e.sp.Check(context.Background()); err != nil {
			t.Errorf("Check after recovery: %v", err)
		}
	})
}

// queueAsBeforeCrash does what the spool does with a claimed drop up to
// and including the outbox commit, and returns the id queued.
func (e *env) queueAsBeforeCrash(name string, body []byte) int64 {
	e.t.Helper()
	env, err := ais.ParseEnvelope(body)
	if err != nil {
		e.t.Fatal(err)
	}
	out, _, k, hash, err := e.sp.prepare(name, body, env)
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	if err := e.sp.rememberKey(name, k, hash); err != nil {
		e.t.Fatal(err)
	}
	id, _, _, err := e.svc.Send(context.Background(), out, k)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// downDirectory is a register copy that cannot be read.
type downDirectory struct{}

var errDown = errors.New("register copy unavailable")

func (downDirectory) ByGUID(context.Context, string) (*register.Entity, error)  { return nil, errDown }
func (downDirectory) ByEIK(context.Context, string) ([]*register.Entity, error) { return nil, errDown }
func (downDirectory) List(context.Context, register.Status) ([]*register.Entity, error) {
	return nil, errDown
}

func TestReceipts(t *testing.T) {
	type drop struct {
		receipt string
		failed  string // the .error's code, "" when taken
		field   string
		state   inbox.State // the document's state after it
		status  seos.DocStatus
	}
	cases := []struct {
		name  string
		drops []drop
	}{
		{"register by id, close", []drop{
			{`{"inboxId":ID,"action":"register","number":"94-00-12","date":"2026-11-23","expectCloseDate":"2026-12-23"}`, "", "", inbox.Registered, seos.StatusRegistered},
			{`{"inboxId":ID,"action":"close"}`, "", "", inbox.Closed, seos.StatusClosed}}},
		{"register by URI, stop", []drop{
			{`{"inboxId":ID,"action":"register","uri":{"registerIndex":"3","sequenceNumber":"17"}}`, "", "", inbox.Registered, seos.StatusRegistered},
			{`{"inboxId":ID,"action":"stop"}`, "", "", inbox.Stopped, seos.StatusStopped}}},
		{"reject by GUIDs", []drop{
			{`{"senderGuid":"SENDER","documentGuid":"DOC","action":"reject","reason":"Не е от нашата компетентност"}`, "", "", inbox.Rejected, seos.StatusRejected}}},
		{"repeat is done", []drop{
			{`{"inboxId":ID,"action":"register","number":"1","date":"2026-11-23"}`, "", "", inbox.Registered, seos.StatusRegistered},
			{`{"inboxId":ID,"action":"register","number":"1","date":"2026-11-23"}`, "", "", inbox.Registered, ""}}},
		{"conflict", []drop{
			{`{"inboxId":ID,"action":"close"}`, "conflict", "", inbox.Received, ""}}},
		{"reject after register", []drop{
			{`{"inboxId":ID,"action":"register","number":"1","date":"2026-11-23"}`, "", "", inbox.Registered, seos.StatusRegistered},
			{`{"inboxId":ID,"action":"reject","reason":"x"}`, "conflict", "", inbox.Registered, ""}}},
		{"unknown document", []drop{{`{"inboxId":999,"action":"close"}`, "not_found", "", inbox.Received, ""}}},
		{"unknown GUIDs", []drop{{`{"senderGuid":"SENDER","documentGuid":"{00000000-0000-4000-8000-0000000000ff}","action":"close"}`, "not_found", "", inbox.Received, ""}}},
		{"bad date", []drop{{`{"inboxId":ID,"action":"register","number":"1","date":"23.11.2026"}`, "invalid_request", "date", inbox.Received, ""}}},
		{"no number", []drop{{`{"inboxId":ID,"action":"register"}`, "invalid_request", "number", inbox.Received, ""}}},
		// DS_REGISTERED could not carry it: refused, not recorded.
		{"URI not a number", []drop{
			{`{"inboxId":ID,"action":"register","uri":{"registerIndex":"abc","sequenceNumber":"17"}}`, "invalid_request", "uri.registerIndex", inbox.Received, ""},
			{`{"inboxId":ID,"action":"register","uri":{"registerIndex":"3","sequenceNumber":"0"}}`, "invalid_request", "uri.sequenceNumber", inbox.Received, ""},
			{`{"inboxId":ID,"action":"register","uri":{"registerIndex":"3","sequenceNumber":"17"}}`, "", "", inbox.Registered, seos.StatusRegistered}}},
		{"bad action", []drop{{`{"inboxId":ID,"action":"archive"}`, "invalid_request", "action", inbox.Received, ""}}},
		{"reason on close", []drop{{`{"inboxId":ID,"action":"close","reason":"x"}`, "invalid_request", "reason", inbox.Received, ""}}},
		{"number on reject", []drop{{`{"inboxId":ID,"action":"reject","reason":"x","number":"1"}`, "invalid_request", "number", inbox.Received, ""}}},
		{"no reference", []drop{{`{"action":"close"}`, "invalid_request", "inboxId", inbox.Received, ""}}},
		{"both references", []drop{{`{"inboxId":ID,"senderGuid":"SENDER","documentGuid":"DOC","action":"close"}`, "invalid_request", "inboxId", inbox.Received, ""}}},
		{"bad GUID", []drop{{`{"senderGuid":"x","documentGuid":"DOC","action":"close"}`, "invalid_request", "senderGuid", inbox.Received, ""}}},
		{"unknown field", []drop{{`{"inboxId":ID,"action":"close","when":"now"}`, "invalid_request", "when", inbox.Received, ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "")
			doc := receivedLetter()
			id := e.receive(doc)
			statuses := 0
			failed := 0
			for i, d := range c.drops {
				r := strings.NewReplacer("ID", fmt.Sprint(id), "SENDER", peer.GUID, "DOC", doc.ID.GUID).Replace(d.receipt)
				name := fmt.Sprintf("r%d.json", i)
				e.put("receipts/"+name, []byte(r))
				e.scan(2)
				if d.failed == "" {
					if got := e.read("done/receipts/" + name); got != r {
						t.Fatalf("drop %d not in done/receipts: %v, failed %v", i, e.files("done"), e.files("failed"))
					}
				} else {
					failed++
					msg := e.read("failed/receipts/" + name + ".error")
					if !strings.Contains(msg, "code: "+d.failed+"\n") || !hasField(msg, d.field) {
						t.Errorf("drop %d: error file\n%s\nwant %s field %q", i, msg, d.failed, d.field)
					}
				}
				it, err := inbox.Get(context.Background(), e.db, id)
				if err != nil {
					t.Fatal(err)
				}
				if it.State != d.state {
					t.Errorf("drop %d: state %s, want %s", i, it.State, d.state)
				}
				items := e.items(outbox.KindStatus)
				if d.status != "" {
					statuses++
				}
				if len(items) != statuses {
					t.Fatalf("drop %d: %d status messages queued, want %d", i, len(items), statuses)
				}
				if d.status != "" {
					last := items[len(items)-1]
					if last.Request.Status.Status != d.status || last.RecipientGUID != peer.GUID || last.Request.Status.DocID.GUID != doc.ID.GUID {
						t.Errorf("drop %d: queued %+v", i, last.Request.Status)
					}
					if d.status == seos.StatusRegistered && last.Request.Status.DocID.Number == nil && last.Request.Status.DocID.URI == nil {
						t.Errorf("drop %d: DS_REGISTERED without our number", i)
					}
				}
			}
			if st := e.sp.Status(); st.Failed != failed {
				t.Errorf("status %+v, want %d failed", st, failed)
			}
		})
	}
}

func TestWriteReceived(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	doc := receivedLetter()
	id := e.receive(doc)
	folder := "inbox/" + FolderName(id)

	if err := e.sp.WriteReceived(ctx, id); err != nil {
		t.Fatal(err)
	}
	want := []string{"2_Pismo_do_obshtina.pdf", "3_document.json", "Pismo_do_obshtina.pdf", "document.json", "etc_passwd"}
	if got := e.files(folder); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s holds %v, want %v", folder, got, want)
	}
	var view ais.ReceivedDocument
	if err := json.Unmarshal([]byte(e.read(folder+"/document.json")), &view); err != nil {
		t.Fatal(err)
	}
	if view.ID != id || view.DocumentGUID != doc.ID.GUID || view.Sender.GUID != peer.GUID || view.Kind != "Писмо" || len(view.Attachments) != 4 {
		t.Fatalf("document.json %+v", view)
	}
	for i, a := range view.Attachments {
		body, _ := doc.Attachments[i].Data()
		if a.FileName != doc.Attachments[i].FileName || a.Href != "" || e.read(folder+"/"+a.File) != string(body) {
			t.Errorf("attachment %d: %+v", i, a)
		}
	}

	// Idempotent: a second call does not rewrite.
	os.WriteFile(e.path(folder+"/document.json"), []byte("edited by the AIS"), 0o644)
	if err := e.sp.WriteReceived(ctx, id); err != nil || e.read(folder+"/document.json") != "edited by the AIS" {
		t.Fatalf("rewritten (%v)", err)
	}
	// The AIS took the folder: not written again, also after a restart and a scan.
	os.RemoveAll(e.path(folder))
	e.sp = e.newSpool()
	e.scan(2)
	if err := e.sp.WriteReceived(ctx, id); err != nil || exists(e.path(folder)) {
		t.Fatalf("a consumed folder came back (%v)", err)
	}
	// Deleting the marker asks for it again.
	os.Remove(e.path(fmt.Sprintf("state/written/%d", id)))
	if err := e.sp.WriteReceived(ctx, id); err != nil || !exists(e.path(folder+"/document.json")) {
		t.Fatalf("not rewritten after the marker went (%v)", err)
	}

	t.Run("crash before the marker", func(t *testing.T) {
		os.Remove(e.path(fmt.Sprintf("state/written/%d", id)))
		os.WriteFile(e.path(folder+"/document.json"), []byte("kept"), 0o644)
		if err := e.sp.WriteReceived(ctx, id); err != nil || e.read(folder+"/document.json") != "kept" || !exists(e.path(fmt.Sprintf("state/written/%d", id))) {
			t.Fatalf("folder rewritten or marker missing (%v)", err)
		}
	})
	t.Run("crash while writing", func(t *testing.T) {
		id2 := e.receive(seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Заявление"})
		e.put("work/inbox/"+FolderName(id2)+"/half.pdf", []byte("%PD"))
		if err := e.sp.WriteReceived(ctx, id2); err != nil {
			t.Fatal(err)
		}
		if got := e.files("inbox/" + FolderName(id2)); strings.Join(got, ",") != "document.json" {
			t.Errorf("folder holds %v", got)
		}
		if f := e.files("work"); len(f) != 0 {
			t.Errorf("work/ holds %v", f)
		}
	})
	t.Run("scans catch up", func(t *testing.T) {
		id3 := e.receive(seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Заповед"})
		e.scan(1)
		if !exists(e.path("inbox/" + FolderName(id3) + "/document.json")) {
			t.Errorf("a scan did not write document %d: %v", id3, e.files("inbox"))
		}
	})
	t.Run("handled through the API: not written by a scan", func(t *testing.T) {
		id4 := e.receive(seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Заповед"})
		if err := e.svc.Reject(ctx, id4, "не е за нас"); err != nil {
			t.Fatal(err)
		}
		e.scan(1)
		if exists(e.path("inbox/" + FolderName(id4))) {
			t.Errorf("document %d, rejected through the API, was written", id4)
		}
	})
	t.Run("judged by the acceptance policy", func(t *testing.T) {
		id5 := testkit.ReceiveIn(t, e.db, peer.Node(), seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо",
			Attachments: []seos.Attachment{{FileName: "писмо.txt", MIMEType: "text/plain", Body: seos.Base64Of([]byte("писмо"))},
				{FileName: "eicar.txt", MIMEType: "text/plain", Body: seos.Base64Of([]byte("X5O!P%@AP"))}}}, e.clk.Now(), inbox.Checking)
		e.scan(1)
		if exists(e.path("inbox/" + FolderName(id5))) {
			t.Fatal("written while the policy was still checking it")
		}
		v := &acceptance.Verdict{Policy: "тест", Outcome: acceptance.Hold, Checks: []acceptance.Check{{Rule: "virus", Subject: "eicar.txt",
			Status: acceptance.Fail, Mode: acceptance.Enforce, Effect: acceptance.Hold, Reason: acceptance.Text{BG: "вирус", Latin: "virus", EN: "infected: EICAR"}}}}
		if err := inbox.Apply(ctx, e.db, id5, &inbox.Update{State: inbox.Received, Verdict: v}, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		e.scan(1)
		folder := "inbox/" + FolderName(id5)
		if got := e.files(folder); strings.Join(got, ",") != "document.json,pismo.txt" {
			t.Errorf("folder holds %v; the infected file must stay out", got)
		}
		var view ais.ReceivedDocument
		if err := json.Unmarshal([]byte(e.read(folder+"/document.json")), &view); err != nil {
			t.Fatal(err)
		}
		if !view.NeedsReview || view.Acceptance == nil || len(view.Acceptance.Checks) != 1 || view.Acceptance.Reasons[0].Subject != "eicar.txt" ||
			view.Attachments[1].File != "" || view.Attachments[0].File != "pismo.txt" {
			t.Errorf("document.json: %s", e.read(folder+"/document.json"))
		}
	})
	if err := e.sp.WriteReceived(ctx, 4242); err == nil {
		t.Error("an unknown document written")
	}
}

func TestRunRecovers(t *testing.T) {
	e := newEnv(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.sp.Run(ctx); close(done) }()
	e.put("outbox/a.json", []byte(`{"recipient":"000000002","kind":"Писмо"}`))
	id := e.receive(receivedLetter())
	testkit.Eventually(t, 10*time.Second, "Run takes the drop and writes the document", func() bool {
		return exists(e.path("inbox/"+FolderName(id))) && len(e.files("done")) == 1
	})
	cancel()
	<-done
}

// hasField says whether an .error file names field (or, for "", none).
func hasField(msg, field string) bool {
	if field == "" {
		return !strings.Contains(msg, "field:")
	}
	return strings.Contains(msg, "field: "+field+"\n")
}

// TestWriteReceivedNameCollisions: attachments whose safe names collide,
// also with the name a collision is renamed to, each keep their own file.
func TestWriteReceivedNameCollisions(t *testing.T) {
	e := newEnv(t, "")
	doc := seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо", Attachments: []seos.Attachment{
		{FileName: "a.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("first"))},
		{FileName: "3_a.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("second"))},
		{FileName: "a.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("third"))},
		{FileName: "A.PDF", MIMEType: "application/pdf", Body: seos.Base64Of([]byte("fourth"))},
	}}
	id := e.receive(doc)
	if err := e.sp.WriteReceived(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	folder := "inbox/" + FolderName(id)
	if got := e.files(folder); len(got) != 5 {
		t.Fatalf("%s holds %v, want 4 attachments and document.json", folder, got)
	}
	var view ais.ReceivedDocument
	if err := json.Unmarshal([]byte(e.read(folder+"/document.json")), &view); err != nil {
		t.Fatal(err)
	}
	if len(view.Attachments) != 4 {
		t.Fatalf("document.json lists %d attachments", len(view.Attachments))
	}
	names := map[string]bool{}
	for i, a := range view.Attachments {
		if names[strings.ToLower(a.File)] {
			t.Errorf("attachment %d: file %s is another attachment's too", i+1, a.File)
		}
		names[strings.ToLower(a.File)] = true
		body, _ := doc.Attachments[i].Data()
		if got := e.read(folder + "/" + a.File); got != string(body) {
			t.Errorf("attachment %d (%s): %s holds %q, want %q", i+1, a.FileName, a.File, got, body)
		}
	}
	if view.Attachments[0].File != "a.pdf" || view.Attachments[1].File != "3_a.pdf" || view.Attachments[2].File != "3_2_a.pdf" {
		t.Errorf("files %+v", view.Attachments)
	}
}

// TestDropKeyCoversFiles: a drop's key covers the files it names. A
// template envelope dropped again with a new file is a new document; the
// same envelope with the same files is a repeat, also after a crash.
func TestDropKeyCoversFiles(t *testing.T) {
	const daily = `{"recipient":"000000002","kind":"Отчет","about":"Дневен отчет","attachments":[{"mimeType":"application/pdf","file":"daily/doc.pdf"}]}`
	e := newEnv(t, "")
	drop := func(pdf string) {
		e.put("outbox/daily/doc.pdf", []byte(pdf))
		e.put("outbox/daily.json", []byte(daily))
		e.scan(3)
	}
	sent := func() []string {
		var out []string
		for _, it := range e.items(outbox.KindRegistration) {
			b, _ := it.Request.Document.Attachments[0].Data()
			out = append(out, string(b))
		}
		return out
	}
	drop("%PDF monday")
	drop("%PDF tuesday")
	if got := sent(); strings.Join(got, ",") != "%PDF monday,%PDF tuesday" {
		t.Fatalf("sent %q: the same envelope with a new file must be a new document", got)
	}
	drop("%PDF tuesday") // a real repeat: same envelope, same file
	if got := sent(); len(got) != 2 {
		t.Errorf("an identical re-drop was sent again: %q", got)
	}
	if f := e.files("outbox"); len(f) != 0 {
		t.Errorf("outbox/ still holds %v", f)
	}

	// Claimed before a crash, not queued: queued once on restart.
	e.put("outbox/daily/doc.pdf", []byte("%PDF wednesday"))
	e.put("work/outbox/daily.json", []byte(daily))
	e.sp = e.newSpool()
	e.scan(1)
	e.sp = e.newSpool()
	e.scan(2)
	if got := sent(); strings.Join(got, ",") != "%PDF monday,%PDF tuesday,%PDF wednesday" {
		t.Errorf("after a crash between claim and queue: sent %q", got)
	}

	// Queued before a crash, its file already moved to done/: finished
	// under the key remembered, not sent again.
	e.put("outbox/daily/doc.pdf", []byte("%PDF thursday"))
	e.put("work/outbox/daily.json", []byte(daily))
	id := e.queueAsBeforeCrash("daily.json", []byte(daily))
	e.put(fmt.Sprintf("done/%d_daily.json.files/daily/doc.pdf", id), []byte("%PDF thursday"))
	os.Remove(e.path("outbox/daily/doc.pdf"))
	e.sp = e.newSpool()
	e.scan(2)
	if got := sent(); len(got) != 4 || len(e.files("failed")) != 0 {
		t.Errorf("after a crash between queue and move: sent %q, failed %v", got, e.files("failed"))
	}
	if !exists(e.path(fmt.Sprintf("done/%d_daily.json", id))) {
		t.Errorf("done/: %v", e.files("done"))
	}

	// A key a crash left behind after its drop moved on does not make the
	// next drop of the name look queued.
	e.put("outbox/daily/doc.pdf", []byte("%PDF friday"))
	e.put("work/outbox/daily.json", []byte(daily))
	id = e.queueAsBeforeCrash("daily.json", []byte(daily))
	e.put(fmt.Sprintf("done/%d_daily.json.files/daily/doc.pdf", id), []byte("%PDF friday"))
	os.Remove(e.path("outbox/daily/doc.pdf"))
	if err := os.Rename(e.path("work/outbox/daily.json"), e.path(fmt.Sprintf("done/%d_daily.json", id))); err != nil {
		t.Fatal(err)
	}
	e.sp = e.newSpool()
	e.scan(1)
	e.put("outbox/daily/doc.pdf", []byte("%PDF saturday"))
	e.put("outbox/daily.json", []byte(daily))
	e.scan(3)
	if got := sent(); len(got) != 6 || got[5] != "%PDF saturday" {
		t.Errorf("after a stale key: sent %q", got)
	}
	if f := e.files("work"); len(f) != 0 {
		t.Errorf("work/ holds %v", f)
	}
}

// TestStreamedDropKeepsItsKeyAndHash: a drop whose files are streamed has
// the key and request hash it had when the files were read into memory
// and inlined — the same drop and files after an upgrade are a repeat,
// and a key remembered before one still matches.
func TestStreamedDropKeepsItsKeyAndHash(t *testing.T) {
	e := newEnv(t, "")
	big := make([]byte, 3<<20+1) // past any buffer, not a multiple of 3
	for i := range big {
		big[i] = byte(i * 31)
	}
	e.put("outbox/letter-123/pokana.pdf", big)
	e.put("outbox/opis.txt", []byte("опис"))
	body := []byte(letterJSON)
	env, err := ais.ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	out, files, k, hash, err := e.sp.prepare("letter.json", body, env)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if len(files) != 2 || out.Attachments[0].Content != "" {
		t.Fatalf("files %v; the first attachment was read into memory: %d bytes", files, len(out.Attachments[0].Content))
	}

	// The definition before streaming: the files read whole and inlined.
	open, closeRoot, err := ais.OpenIn(e.path("outbox"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoot()
	inline, _, err := env.Resolve(open)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	part := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	part(body)
	part([]byte(inline.Attachments[0].Content))
	part([]byte(inline.Attachments[1].Content))
	if want := "spool:letter.json:" + hex.EncodeToString(h.Sum(nil)[:16]); k != want {
		t.Errorf("key %s, want %s as before streaming", k, want)
	}
	want, err := ais.RequestHash(inline)
	if err != nil {
		t.Fatal(err)
	}
	if hash != want {
		t.Errorf("request hash %s streamed with the key, %s inlined", hash, want)
	}
	// Again over the same open files: each pass reads from the start.
	if again, err := ais.RequestHash(out); err != nil || again != want {
		t.Errorf("second hash %s, %v", again, err)
	}
}

// TestDropFileChangedWhileReadFails: a file rewritten between being opened
// and being read is refused with the reason, not sent half old, half new.
func TestDropFileChangedWhileReadFails(t *testing.T) {
	e := newEnv(t, "")
	// Large enough to be streamed (a small file is read in at once).
	original := append([]byte("%PDF original"), bytes.Repeat([]byte{' '}, 128<<10)...)
	e.put("outbox/d/scan.pdf", original)
	body := []byte(`{"recipient":"000000002","kind":"Писмо","attachments":[{"mimeType":"application/pdf","file":"d/scan.pdf"}]}`)
	env, err := ais.ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	out, _, _, _, err := e.sp.prepare("d.json", body, env)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// Written in place (same file, new content), as a careless AIS would.
	if err := os.WriteFile(e.path("outbox/d/scan.pdf"), append(original, "rewritten, longer"...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = e.svc.Send(context.Background(), out, "k")
	var ae *ais.Error
	if !errors.As(err, &ae) || ae.Code != "invalid_request" || ae.Field != "attachments[0].file" || !strings.Contains(ae.Msg, "changed while it was read") {
		t.Fatalf("send of a changed file: %v", err)
	}
	if n := len(e.items(outbox.KindRegistration)); n != 0 {
		t.Errorf("%d queued", n)
	}
}

// TestRecipientRefusedWhileRegisterStale: a recipient the register copy
// does not know, or that may not exchange, fails the drop only when the
// copy is fresh; otherwise the drop waits in work/ for a later scan.
func TestRecipientRefusedWhileRegisterStale(t *testing.T) {
	newcomer := testkit.Participant(3, "000000003", "Нова агенция")
	cases := []struct {
		name string
		sync []register.Entity // the register once synced
	}{
		{"unknown recipient", []register.Entity{self, peer, newcomer}},
		// A fresh node before its first sync does not know itself either.
		{"not exchanging", []register.Entity{self, peer, newcomer}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "")
			ctx := context.Background()
			cache := e.svc.Dir.(*register.Cache)
			if c.name == "not exchanging" {
				if err := cache.Apply(ctx, true, []register.Entity{newcomer}, "c0"); err != nil {
					t.Fatal(err)
				}
			}
			stale := errors.New("register copy never synced")
			fresh := error(stale)
			e.sp.RegisterFresh = func(context.Context) error { return fresh }
			e.put("outbox/a.json", []byte(`{"recipient":"000000003","kind":"Писмо"}`))
			e.scan(4)
			if !exists(e.path("work/outbox/a.json")) || len(e.files("failed")) != 0 || len(e.items(outbox.KindRegistration)) != 0 {
				t.Fatalf("with a stale register: work %v failed %v", e.files("work"), e.files("failed"))
			}
			if st := e.sp.Status(); st.Waiting != 1 || st.Failed != 0 || st.LastError != "" {
				t.Errorf("status %+v", st)
			}
			// The register syncs: the drop goes out on the next scan.
			if err := cache.Apply(ctx, true, c.sync, "c1"); err != nil {
				t.Fatal(err)
			}
			fresh = nil
			e.scan(1)
			items := e.items(outbox.KindRegistration)
			if len(items) != 1 || items[0].RecipientGUID != newcomer.GUID {
				t.Fatalf("after the sync: %d queued, work %v failed %v", len(items), e.files("work"), e.files("failed"))
			}
			if st := e.sp.Status(); st.Waiting != 0 || st.Queued != 1 {
				t.Errorf("status %+v", st)
			}
		})
	}
	t.Run("fresh register: failed at once", func(t *testing.T) {
		e := newEnv(t, "")
		asked := 0
		e.sp.RegisterFresh = func(context.Context) error { asked++; return nil }
		e.put("outbox/a.json", []byte(`{"recipient":"000000009","kind":"Писмо"}`))
		e.scan(2)
		if msg := e.read("failed/a.json.error"); !strings.Contains(msg, "code: recipient_unknown\n") || asked != 1 {
			t.Errorf("asked %d; failed/a.json.error:\n%s", asked, msg)
		}
		// Other refusals do not wait for the register.
		e.sp.RegisterFresh = func(context.Context) error { return errors.New("stale") }
		e.put("outbox/b.json", []byte(`{"recipient":"000000002"}`))
		e.scan(2)
		if !exists(e.path("failed/b.json")) {
			t.Errorf("an invalid drop waited for the register: work %v", e.files("work"))
		}
	})
}
