package xmltok

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// drain reads every token and renders them one per line, a text run
// (however many chunks it came in) as one.
func drain(tz *Tokenizer) (string, error) {
	var b strings.Builder
	var run []byte
	for {
		tok, err := tz.Next()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		switch tok.Kind {
		case StartElement:
			fmt.Fprintf(&b, "%d<{%s}%s", tok.Depth, tok.Name.Space, qn(tok.Name.Prefix, tok.Name.Local))
			for _, a := range tok.Attr {
				fmt.Fprintf(&b, " {%s}%s=%q", a.Space, qn(a.Prefix, a.Local), a.Value)
			}
			b.WriteString(">\n")
		case EndElement:
			fmt.Fprintf(&b, "%d</{%s}%s>\n", tok.Depth, tok.Name.Space, tok.Name.Local)
		case Text:
			run = append(run, tok.Data...)
			if !tok.More {
				fmt.Fprintf(&b, "%d text %q cdata=%v\n", tok.Depth, run, tok.CDATA)
				run = run[:0]
			}
		case Comment:
			fmt.Fprintf(&b, "%d comment %q\n", tok.Depth, tok.Data)
		case ProcInst:
			fmt.Fprintf(&b, "%d pi %s %q\n", tok.Depth, tok.Name.Local, tok.Data)
		}
	}
}

func TestTokens(t *testing.T) {
	in := `<?xml version="1.0"?><p:a xmlns:p="urn:p" xmlns="urn:d" x="1&amp;2" p:y='3'><b>t&lt;<![CDATA[<c>]]></b><!--c--><?pi z?><c xmlns=""/></p:a>`
	want := `0 pi xml "version=\"1.0\""
1<{urn:p}p:a {}xmlns:p="urn:p" {}xmlns="urn:d" {}x="1&2" {urn:p}p:y="3">
2<{urn:d}b>
2 text "t<" cdata=false
2 text "<c>" cdata=true
2</{urn:d}b>
1 comment "c"
1 pi pi "z"
2<{}c {}xmlns="">
2</{}c>
1</{urn:p}a>
`
	got, err := drain(NewBytes([]byte(in), Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Long text comes in chunks whose concatenation is the text, whatever the
// reader's pieces; a chunk never splits a character.
func TestLongTextInChunks(t *testing.T) {
	text := strings.Repeat("абв&amp;\r\n", 40000)
	in := "<a>" + text + "</a>"
	want := strings.ReplaceAll(strings.ReplaceAll(text, "&amp;", "&"), "\r\n", "\n")
	for name, r := range map[string]io.Reader{
		"whole":     bytes.NewReader([]byte(in)),
		"one byte":  iotest.OneByteReader(strings.NewReader(in)),
		"half":      iotest.HalfReader(strings.NewReader(in)),
		"data+EOF":  iotest.DataErrReader(strings.NewReader(in)),
		"4K buffer": io.MultiReader(strings.NewReader(in[:5000]), strings.NewReader(in[5000:])),
	} {
		t.Run(name, func(t *testing.T) {
			tz := NewSize(r, Limits{}, 4096)
			var got bytes.Buffer
			chunks := 0
			for {
				tok, err := tz.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if tok.Kind == Text {
					chunks++
					if len(tok.Data) > 0 && !bytes.Equal(bytes.ToValidUTF8(tok.Data, nil), tok.Data) {
						t.Fatalf("chunk %d splits a character", chunks)
					}
					got.Write(tok.Data)
				}
			}
			if got.String() != want {
				t.Fatalf("text differs (%d vs %d bytes)", got.Len(), len(want))
			}
			if chunks < 2 {
				t.Errorf("%d chunks; a long run should come in several", chunks)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	attrs := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, ` a%d="1"`, i)
		}
		return b.String()
	}
	lim := Limits{MaxDepth: 4, MaxNameBytes: 16, MaxAttrsPerElement: 8, MaxAttrs: 20, MaxNamespacesPerElement: 2, MaxNamespaces: 3,
		MaxTokens: 50, MaxMarkupBytes: 1024}
	cases := []struct{ name, in, want string }{
		{"depth", "<a><a><a><a><a/></a></a></a></a>", "deeper than 4"},
		{"long name", "<" + strings.Repeat("n", 17) + "/>", "name longer than 16"},
		{"long attribute name", `<a ` + strings.Repeat("n", 17) + `="1"/>`, "name longer than 16"},
		{"attributes on one element", "<a" + attrs(9) + "/>", "more than 8 attributes on one element"},
		{"attributes in the document", "<r>" + strings.Repeat("<a"+attrs(7)+"/>", 3) + "</r>", "more than 20 attributes in the document"},
		{"namespaces on one element", `<a xmlns:a="u" xmlns:b="u" xmlns:c="u"/>`, "too many namespace"},
		{"namespaces in the document", `<r xmlns:a="u"><b xmlns:b="u"/><c xmlns:c="u" xmlns:d="u"/></r>`, "too many namespace"},
		{"tokens", "<r>" + strings.Repeat("<a/>", 50) + "</r>", "more than 50"},
		{"long tag", `<a x="` + strings.Repeat("v", 2000) + `"/>`, "markup longer than 1024"},
		{"long comment", `<a><!--` + strings.Repeat("v", 2000) + `--></a>`, "markup longer than 1024"},
		{"long reference", `<a>&#` + strings.Repeat("0", 2000) + `65;</a>`, "reference longer than 1024"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, tz := range []*Tokenizer{NewBytes([]byte(c.in), lim), NewSize(iotest.HalfReader(strings.NewReader(c.in)), lim, 64)} {
				_, err := drain(tz)
				var xe *Error
				if !errors.As(err, &xe) || !xe.Limit || !IsLimit(err) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want a limit error with %q", err, c.want)
				}
			}
		})
	}
}

// An attribute bomb is refused as soon as the cap is passed: the rest of
// the input is never read.
func TestBombRefusedEarly(t *testing.T) {
	var read int
	bomb := &countingReader{r: io.MultiReader(strings.NewReader("<a"), &repeatReader{s: ` x="1"`, n: 5_000_000}), n: &read}
	_, err := drain(New(bomb, Limits{}))
	if !IsLimit(err) {
		t.Fatalf("got %v", err)
	}
	if read > 1<<20+300<<10 {
		t.Errorf("read %d bytes before refusing", read)
	}
}

type repeatReader struct {
	s string
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := 0
	for r.n > 0 && len(p)-k >= len(r.s) {
		k += copy(p[k:], r.s)
		r.n--
	}
	return k, nil
}

type countingReader struct {
	r io.Reader
	n *int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += n
	return n, err
}

// A failing reader's error comes back as it is, not as an XML error.
func TestReaderErrorPassesThrough(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("<a>some text"), iotest.ErrReader(boom))
	_, err := drain(New(r, Limits{}))
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	var xe *Error
	if errors.As(err, &xe) {
		t.Fatal("a reader error became an XML error")
	}
}

func TestInScope(t *testing.T) {
	tz := NewBytes([]byte(`<a xmlns="u" xmlns:p="v"><b xmlns:p="w" xmlns=""><c/></b></a>`), Limits{})
	for {
		tok, err := tz.Next()
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind == StartElement && tok.Name.Local == "c" {
			break
		}
	}
	got := map[string]string{}
	tz.InScope(func(p, u string) { got[p] = u })
	if len(got) != 1 || got["p"] != "w" {
		t.Errorf("in scope at c: %v", got)
	}
}

func FuzzTokenizer(f *testing.F) {
	for _, s := range []string{`<a x="1"/>`, "<a>t&amp;<![CDATA[x]]><!--c--><?p i?></a>", `<p:a xmlns:p="u"><p:b p:x="1"/></p:a>`, "\ufeff<a>\r\n</a>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		whole, err1 := drain(NewBytes(b, Limits{}))
		pieces, err2 := drain(NewSize(iotest.OneByteReader(bytes.NewReader(b)), Limits{}, 1))
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("whole: %v, in pieces: %v", err1, err2)
		}
		for _, err := range []error{err1, err2} {
			var xe *Error
			if err != nil && !errors.As(err, &xe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
		if err1 == nil && whole != pieces {
			t.Fatalf("tokens differ:\n%s\n%s", whole, pieces)
		}
	})
}
