package ais

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvelope(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "покана.pdf"), []byte("%PDF-1.4 покана"), 0o644)
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, "files", "опис.txt"), []byte("опис"), 0o644)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(outside, []byte("secret"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	open, closeRoot, err := OpenIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoot()

	const head = `{"recipient":"000000002","kind":"Писмо","attachments":[`
	cases := []struct {
		name  string
		json  string
		field string // the error's field; "" for success
		code  string
		files []string
	}{
		{"content", head + `{"fileName":"a.pdf","mimeType":"application/pdf","content":"JVBERi0xLjQK"}]}`, "", "", nil},
		{"file beside", head + `{"mimeType":"application/pdf","file":"покана.pdf"}]}`, "", "", []string{"покана.pdf"}},
		{"file in a folder", head + `{"fileName":"Опис.txt","mimeType":"text/plain","file":"files/опис.txt"}]}`, "", "", []string{"files/опис.txt"}},
		{"no attachments", `{"recipient":"x","kind":"y"}`, "", "", nil},
		{"content and file", head + `{"fileName":"a","mimeType":"b","content":"AAAA","file":"покана.pdf"}]}`, "attachments[0].file", "invalid_request", nil},
		{"missing file", head + `{"fileName":"a","mimeType":"b"},{"fileName":"a","mimeType":"b","file":"няма.pdf"}]}`, "attachments[1].file", "invalid_request", nil},
		{"parent folder", head + `{"fileName":"a","mimeType":"b","file":"../secret.txt"}]}`, "attachments[0].file", "invalid_request", nil},
		{"absolute", head + `{"fileName":"a","mimeType":"b","file":"` + outside + `"}]}`, "attachments[0].file", "invalid_request", nil},
		{"symlink out", head + `{"fileName":"a","mimeType":"b","file":"link.txt"}]}`, "attachments[0].file", "invalid_request", nil},
		{"a folder", head + `{"fileName":"a","mimeType":"b","file":"sub"}]}`, "attachments[0].file", "invalid_request", nil},
		{"unknown field", head + `{"fileName":"a","mimeType":"b","path":"x"}]}`, "path", "invalid_request", nil},
		{"unknown top field", `{"recipient":"x","kind":"y","sender":"z"}`, "sender", "invalid_request", nil},
		{"wrong type", `{"recipient":"x","kind":"y","attachments":{}}`, "attachments", "invalid_request", nil},
		{"not JSON", `recipient: x`, "", "invalid_request", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(c.json))
			var out *Outgoing
			var files []string
			if err == nil {
				out, files, err = env.Resolve(open)
			}
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(files, ",") != strings.Join(c.files, ",") {
					t.Errorf("files %v, want %v", files, c.files)
				}
				for _, a := range out.Attachments {
					if a.FileName == "" || a.Content == "" {
						t.Errorf("attachment %+v", a)
					}
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code || e.Field != c.field {
				t.Fatalf("error %#v, want %s field %q", err, c.code, c.field)
			}
		})
	}
}

func TestReadEnvelopeFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "scans"), 0o755)
	os.WriteFile(filepath.Join(dir, "scans", "Заповед.pdf"), []byte("%PDF заповед"), 0o644)
	doc := filepath.Join(dir, "doc.json")
	os.WriteFile(doc, []byte(`{"recipient":"000000002","kind":"Заповед","attachments":[{"mimeType":"application/pdf","file":"scans/Заповед.pdf"}]}`), 0o644)
	out, err := ReadEnvelopeFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Attachments) != 1 || out.Attachments[0].FileName != "Заповед.pdf" || out.Attachments[0].Content != base64.StdEncoding.EncodeToString([]byte("%PDF заповед")) {
		t.Errorf("attachments %+v", out.Attachments)
	}
	if _, err := ReadEnvelopeFile(filepath.Join(dir, "none.json")); err == nil {
		t.Error("a missing file read")
	}
}

func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"recipient":"000000002","kind":"Писмо","attachments":[{"fileName":"a.pdf","mimeType":"application/pdf","content":"JVBERi0xLjQK"}]}`,
		`{"recipient":"{00000002-0000-4000-8000-000000000002}","kind":"k","number":{"number":"1","date":"2026-01-02"},"attachments":[{"mimeType":"x","file":"a/b.pdf"}]}`,
		`{"recipient":"x","kind":"y","parent":{"guid":"{00000002-0000-4000-8000-000000000002}","uri":{"registerIndex":"1"}},"correspondents":[{"name":"a","city":"b","kind":"Corr_Other"}],"addData":"<a>b</a>"}`,
		`{"attachments":[{"file":"../x"}]}`, `[]`, `{`, `null`,
	} {
		f.Add([]byte(s))
	}
	open := func(name string) (io.ReadCloser, error) {
		if strings.Contains(name, "missing") {
			return nil, os.ErrNotExist
		}
		return io.NopCloser(strings.NewReader("file " + name)), nil
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnvelope(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, _, err := env.Resolve(open)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := out.document(); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "invalid_request" {
				t.Fatalf("untyped error %v", err)
			}
		}
	})
}

// TestResolveFiles: files the opener opens as files stay open and are
// streamed, giving the content Resolve inlines; other readers are read as
// before; the size limit is judged before a byte is read.
func TestResolveFiles(t *testing.T) {
	dir := t.TempDir()
	body := []byte(strings.Repeat("%PDF поток ", 9000)) // past one read, not a multiple of 3
	os.WriteFile(filepath.Join(dir, "a.pdf"), body, 0o644)
	big, err := os.Create(filepath.Join(dir, "huge.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(MaxRequestBytes/4*3 + 1) // sparse: nothing to read
	big.Close()
	open, closeRoot, err := OpenIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoot()

	env, err := ParseEnvelope([]byte(`{"recipient":"x","kind":"y","attachments":[{"mimeType":"application/pdf","file":"a.pdf"},{"fileName":"b","mimeType":"text/plain","content":"AAAA"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out, files, err := env.ResolveFiles(open)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	a := &out.Attachments[0]
	if len(files) != 1 || a.Content != "" || a.file == nil || a.FileName != "a.pdf" {
		t.Fatalf("files %v, attachment %+v: not left in its file", files, a)
	}
	want := base64.StdEncoding.EncodeToString(body)
	var got strings.Builder
	if err := a.WriteContent(&got); err != nil || got.String() != want {
		t.Errorf("streamed content differs (%d bytes, want %d): %v", got.Len(), len(want), err)
	}
	if n, err := a.ContentLen(); err != nil || n != int64(len(want)) {
		t.Errorf("content length %d, want %d: %v", n, len(want), err)
	}
	if n, _ := out.Attachments[1].ContentLen(); n != 4 {
		t.Errorf("inline content length %d", n)
	}

	// A reader that is no file (nothing to read at an offset) is inlined.
	mem := func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("в паметта")), nil }
	out2, _, err := env.ResolveFiles(mem)
	if err != nil || out2.Attachments[0].file != nil || out2.Attachments[0].Content != base64.StdEncoding.EncodeToString([]byte("в паметта")) {
		t.Errorf("a plain reader: %+v, %v", out2, err)
	}

	env, err = ParseEnvelope([]byte(`{"recipient":"x","kind":"y","attachments":[{"mimeType":"application/pdf","file":"huge.pdf"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, _, err := env.ResolveFiles(open); !errors.As(err, &e) || e.Code != "too_large" {
		t.Errorf("a file over the limit: %v", err)
	}
}

// countedFile is a file OpenIn opened, counted while it is open.
type countedFile struct {
	*os.File
	open *int
}

func (f countedFile) Close() error { *f.open--; return f.File.Close() }

// TestResolveFilesBoundsOpenFiles: a drop naming many files (small ones,
// large ones past maxStreamed, one name again and again) keeps at most
// maxStreamed of them open, gives the request hash Resolve gives, and
// leaves none open once closed or refused.
func TestResolveFilesBoundsOpenFiles(t *testing.T) {
	dir := t.TempDir()
	large := bytes.Repeat([]byte("данни"), streamAbove/10+7) // past streamAbove
	os.WriteFile(filepath.Join(dir, "large.bin"), large, 0o644)
	os.WriteFile(filepath.Join(dir, "small.txt"), []byte("малък файл"), 0o644)
	for i := range maxStreamed + 3 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("l%d.bin", i)), append(large, byte(i)), 0o644)
	}
	inner, closeRoot, err := OpenIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoot()
	open, peak := 0, 0
	counting := func(name string) (io.ReadCloser, error) {
		rc, err := inner(name)
		if err != nil {
			return nil, err
		}
		open++
		peak = max(peak, open)
		return countedFile{rc.(*os.File), &open}, nil
	}
	envelope := func(names []string) *Envelope {
		var atts []string
		for _, n := range names {
			atts = append(atts, fmt.Sprintf(`{"mimeType":"application/octet-stream","file":%q}`, n))
		}
		env, err := ParseEnvelope([]byte(`{"recipient":"x","kind":"y","attachments":[` + strings.Join(atts, ",") + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	var names []string
	for i := range maxStreamed + 3 {
		names = append(names, "small.txt", "large.bin", fmt.Sprintf("l%d.bin", i))
	}

	for _, tc := range []struct {
		name    string
		names   []string
		refused bool
	}{
		{"many files", names, false},
		{"many files, the last missing", append(names[:len(names):len(names)], "missing.bin"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, peak = 0, 0
			env := envelope(tc.names)
			out, _, err := env.ResolveFiles(counting)
			if tc.refused {
				if err == nil {
					out.Close()
					t.Fatal("a missing file was not refused")
				}
				if open != 0 {
					t.Errorf("%d files left open after the drop was refused", open)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if open > maxStreamed || peak > maxStreamed+1 {
				t.Errorf("%d files open (at most %d at once) for %d names; want at most %d", open, peak, len(tc.names), maxStreamed)
			}
			got, err := RequestHash(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil || open != 0 {
				t.Errorf("close: %v, %d files still open", err, open)
			}
			inlined, _, err := env.Resolve(inner)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := RequestHash(inlined); got != want {
				t.Errorf("request hash %s, Resolve gives %s", got, want)
			}
		})
	}
}
