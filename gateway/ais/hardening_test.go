package ais

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func apiError(t *testing.T, body []byte) ErrorBody {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return e
}

// A document whose text is not UTF-8 gets 400 naming the field, and
// nothing is queued.
func TestAPIRefusesTextThatIsNotUTF8(t *testing.T) {
	f := newFixture(t)
	b, _ := json.Marshal(with(letter(), "about", "Покана PLACEHOLDER"))
	for field, bad := range map[string]string{"about": "\xff\xfe", "comment": `\ud800`} {
		body := strings.Replace(string(b), "PLACEHOLDER", bad, 1)
		if field == "comment" {
			body = strings.Replace(string(b), `"comment":"Моля, регистрирайте"`, `"comment":"Моля `+bad+`"`, 1)
		}
		status, _, answer := f.do("POST", Prefix+"/documents", body)
		if e := apiError(t, answer); status != http.StatusBadRequest || e.Code != "invalid_request" || e.Field != field || !strings.Contains(e.Message, "UTF-8") {
			t.Errorf("%s %q: %d %+v", field, bad, status, e)
		}
	}
	if n := len(f.outboxItems("registration")); n != 0 {
		t.Errorf("%d documents queued", n)
	}
}

// An attachment's fileName is a file's name, nothing else: 400 with the
// rule, and nothing is queued.
func TestAPIRefusesFileNamesThatAreNotNames(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"../../x.pdf", "/etc/passwd", "..", ".", `C:\Users\x.pdf`, "a\x00b.pdf", "ред\nState: registered.pdf",
		"evil\u202efdp.exe", "csi\u009b.pdf", "tab\t.pdf", strings.Repeat("я", 128) + ".pdf", strings.Repeat("x", 5000), " "} {
		doc := with(letter(), "attachments", []any{map[string]any{"fileName": name, "mimeType": "application/pdf", "content": "JVBERi0xLjQK"}})
		status, _, answer := f.do("POST", Prefix+"/documents", doc)
		if e := apiError(t, answer); status != http.StatusBadRequest || e.Field != "attachments[0].fileName" || !strings.Contains(e.Message, FileNameRule) {
			t.Errorf("fileName %q: %d %+v", name, status, e)
		}
	}
	for _, name := range []string{"Писмо до община.pdf", "a..b.pdf", ".hidden", strings.Repeat("я", 125) + ".pdf"} {
		doc := with(letter(), "attachments", []any{map[string]any{"fileName": name, "mimeType": "application/pdf", "content": "JVBERi0xLjQK"}})
		if status, _, answer := f.do("POST", Prefix+"/documents", doc); status != http.StatusAccepted {
			t.Errorf("fileName %q: %d %s", name, status, answer)
		}
	}
	if n := len(f.outboxItems("registration")); n != 4 {
		t.Errorf("%d documents queued, want the 4 with good names", n)
	}
}

// A document to ourselves, by GUID or EIK, is 422 recipient_is_self.
func TestAPIRefusesUsAsTheRecipient(t *testing.T) {
	f := newFixture(t)
	for _, to := range []string{self.GUID, strings.ToUpper(self.GUID), self.Identifier} {
		status, _, answer := f.do("POST", Prefix+"/documents", with(letter(), "recipient", to))
		if e := apiError(t, answer); status != http.StatusUnprocessableEntity || e.Code != "recipient_is_self" || e.Field != "recipient" {
			t.Errorf("recipient %s: %d %+v", to, status, e)
		}
	}
	if n := len(f.outboxItems("registration")); n != 0 {
		t.Errorf("%d documents queued", n)
	}
}
