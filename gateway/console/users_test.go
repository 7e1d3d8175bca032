package console

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

const testHash = "$2a$04$abcdefghijklmnopqrstuuWPc7MJ6xbsVhW2lFm3tpcnxyv4v0Y6a"

func TestParseUsers(t *testing.T) {
	h, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	good := "# comment\n\nivan operator " + string(h) + "\nivan.petrov@example.bg viewer !\n"
	u, err := ParseUsers(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if usr, ok := u.Find("IVAN"); !ok || usr.Role != Operator {
		t.Fatalf("find: %+v", usr)
	}
	if usr, ok := u.Find("ivan.petrov@example.bg"); !ok || usr.Hash != NoPassword {
		t.Fatalf("certificate-only user: %+v", usr)
	}
	again, err := ParseUsers(bytes.NewReader(u.Format()))
	if err != nil || len(again.List()) != 2 {
		t.Fatalf("Format does not parse back: %v", err)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"two fields", "ivan operator\n", "line 1: want NAME ROLE HASH"},
		{"bad role", "ivan admin " + string(h), `role "admin"`},
		{"not bcrypt", "ivan viewer plaintext", "not bcrypt"},
		{"bad name", "../x viewer !", "not a user name"},
		{"twice", "ivan viewer !\nIvan operator !", "line 2: Ivan is listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseUsers(strings.NewReader(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want %q", err, tc.want)
			}
		})
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("a short password was hashed")
	}
}

func FuzzParseUsers(f *testing.F) {
	f.Add("ivan operator " + testHash + "\n")
	f.Add("# c\nmaria viewer !\n")
	f.Add("a b c d\n")
	f.Add(strings.Repeat("x", 5000))
	f.Fuzz(func(t *testing.T, text string) {
		u, err := ParseUsers(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, usr := range u.List() {
			if !ValidName(usr.Name) || !usr.Role.Valid() || (usr.Hash != NoPassword && !isBcrypt(usr.Hash)) {
				t.Fatalf("accepted a bad user %+v", usr)
			}
		}
		again, err := ParseUsers(bytes.NewReader(u.Format()))
		if err != nil || len(again.List()) != len(u.List()) {
			t.Fatalf("Format of an accepted file does not parse back: %v", err)
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Add("state=failed&peer=%7B00000002-0000-4000-8000-000000000002%7D&before=10&limit=20")
	f.Add("since=2026-11-23T10:00&until=2026-11-24&outcome=refused&direction=in&held=1&q=%D0%BC&page=2")
	f.Add("limit=999999999999&before=-3&state=failed&state=queued")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := parseFilter(v, filterRules{states: []string{"failed", "queued"}, outcomes: true, pageSize: 50})
		if err != nil {
			return
		}
		if fl.Limit < 1 || fl.Limit > maxPage || fl.Before < 0 || fl.Page < 0 || len(fl.Search) > maxSearch {
			t.Fatalf("out of bounds: %+v", fl)
		}
		if fl.State != "" && fl.State != "failed" && fl.State != "queued" {
			t.Fatalf("state %q passed", fl.State)
		}
		// What a page links to parses to the same filter.
		back, err := url.ParseQuery(fl.encode(fl.Before, fl.Page))
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseFilter(back, filterRules{states: []string{"failed", "queued"}, outcomes: true, pageSize: 50})
		if err != nil || again.State != fl.State || again.Peer != fl.Peer || again.Before != fl.Before || again.Held != fl.Held || again.Search != fl.Search {
			t.Fatalf("round trip %q: %+v != %+v (%v)", raw, again, fl, err)
		}
	})
}
