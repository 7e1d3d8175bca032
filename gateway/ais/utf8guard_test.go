package ais

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// Text that is not UTF-8 is refused naming the field (encoding/json would
// store U+FFFD in its place), read whole or a byte at a time.
func TestInvalidUTF8IsRefusedNamingTheField(t *testing.T) {
	for _, c := range []struct{ name, body, field string }{
		{"valid Cyrillic", `{"kind":"Писмо","about":"Относно"}`, ""},
		{"a replacement character written as such", "{\"about\":\"\xef\xbf\xbd и \\ufffd\"}", ""},
		{"a surrogate pair", `{"about":"\ud83d\ude00 \uD83D\uDE00"}`, ""},
		{"an escaped backslash before ud800", `{"about":"\\ud800"}`, ""},
		{"a bad byte", "{\"recipient\":\"x\",\"kind\":\"Пис\xffмо\"}", "kind"},
		{"a truncated sequence at the end", "{\"kind\":\"Писм\xd0\"}", "kind"},
		{"an overlong encoding", "{\"kind\":\"\xc0\xaf\"}", "kind"},
		{"an encoded surrogate", "{\"kind\":\"\xed\xa0\x80\"}", "kind"},
		{"a lone high surrogate", `{"about":"x\ud800"}`, "about"},
		{"a high surrogate and a letter", `{"about":"\ud83dx"}`, "about"},
		{"a high surrogate and another escape", `{"about":"\ud83d\n"}`, "about"},
		{"a lone low surrogate", `{"about":"\udc00"}`, "about"},
		{"deep in an array", "{\"kind\":\"x\",\"attachments\":[{\"fileName\":\"a.pdf\",\"content\":\"QQ==\"},{\"fileName\":\"b\xc3.pdf\"}]}", "attachments[1].fileName"},
		{"after numbers and literals", "{\"n\":[1,true,null,-2.5e3,\"\xff\"]}", "n[4]"},
		{"in nested objects", "{\"parent\":{\"number\":{\"number\":\"\xfe\",\"date\":\"2026-01-01\"}}}", "parent.number.number"},
		{"in a field name", "{\"ki\xffnd\":\"x\"}", "(top level)"},
	} {
		for _, oneByte := range []bool{false, true} {
			rd := bytes.NewReader([]byte(c.body))
			var v map[string]any
			var err error
			if oneByte {
				err = DecodeJSON(iotest.OneByteReader(rd), &v, false)
			} else {
				err = DecodeJSON(rd, &v, false)
			}
			var e *Error
			switch {
			case c.field == "" && err != nil:
				t.Errorf("%s: %v", c.name, err)
			case c.field != "" && (!errors.As(err, &e) || e.Field != c.field || e.Status != 400 || !strings.Contains(e.Msg, "UTF-8")):
				t.Errorf("%s (one byte at a time: %v): %v, want a 400 naming %s", c.name, oneByte, err, c.field)
			}
		}
	}
}

// FuzzUTF8Guard: the guard finds a bad string exactly when encoding/json
// would put a U+FFFD that the text did not have.
func FuzzUTF8Guard(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":["\ud800"]}`, "{\"a\":\"\xff\"}", `{"a":{"b":[1,"\ud83d\ude00"]}}`, `{"\"":"\\u"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		g := &utf8Guard{r: bytes.NewReader(b)}
		var w any
		if err := json.NewDecoder(g).Decode(&w); err != nil {
			t.Fatal(err)
		}
		replaced := hasReplacement(v)
		claimed := bytes.Contains(b, []byte("\xef\xbf\xbd")) || bytes.Contains(bytes.ToLower(b), []byte(`\ufffd`))
		switch {
		case g.why != "" && !replaced:
			t.Fatalf("%q: the guard found %q at %s, but encoding/json replaced nothing", b, g.why, g.field)
		case g.why == "" && replaced && !claimed:
			t.Fatalf("%q: encoding/json replaced text the guard let through", b)
		}
	})
}

func hasReplacement(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, '\ufffd')
	case []any:
		for _, e := range x {
			if hasReplacement(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, '\ufffd') || hasReplacement(e) {
				return true
			}
		}
	}
	return false
}
