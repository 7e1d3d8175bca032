package seos

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/seosgw/seosgw/gateway/xmldoc"
	"github.com/seosgw/seosgw/gateway/xmltok"
	"github.com/seosgw/seosgw/integration/extools"
)

// readStreamed reads b a byte at a time with bodies streamed into buffers.
func readStreamed(b []byte, opts ReadOptions) (*Message, [][]byte, error) {
	var bodies []*bytes.Buffer
	opts.Body = func(int) (io.Writer, error) {
		bodies = append(bodies, &bytes.Buffer{})
		return bodies[len(bodies)-1], nil
	}
	tz := xmltok.NewSize(iotest.OneByteReader(bytes.NewReader(b)), opts.Limits, 1)
	m, _, err := ReadMessage(tz, opts)
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = b.Bytes()
	}
	return m, out, err
}

// sameAsParse requires the streamed read to reach Parse's verdict, with the
// same error, and the same model with bodies moved out.
func sameAsParse(t *testing.T, name string, b []byte) {
	t.Helper()
	want, _, werr := Parse(b)
	got, bodies, err := readStreamed(b, ReadOptions{})
	if (werr == nil) != (err == nil) || werr != nil && werr.Error() != err.Error() {
		t.Fatalf("%s: streamed %v, Parse %v", name, err, werr)
	}
	if werr != nil {
		return
	}
	var atts []Attachment
	if want.Body.RegistrationRequest != nil {
		atts = want.Body.RegistrationRequest.Document.Attachments
	}
	if len(bodies) != len(atts) {
		t.Fatalf("%s: %d bodies streamed, %d attachments", name, len(bodies), len(atts))
	}
	for i, a := range atts {
		dec, err := a.Body.Decode()
		if err != nil {
			t.Fatal(err)
		}
		g := &got.Body.RegistrationRequest.Document.Attachments[i]
		if !bytes.Equal(dec, bodies[i]) || g.Stored == nil || g.Stored.Size != int64(len(dec)) || g.Body != "" {
			t.Fatalf("%s: attachment %d: streamed %d bytes, stored %+v, want %d bytes", name, i, len(bodies[i]), g.Stored, len(dec))
		}
		g.Stored, g.Body = nil, a.Body
	}
	if want.Body.RegistrationRequest != nil {
		wd, gd := &want.Body.RegistrationRequest.Document, &got.Body.RegistrationRequest.Document
		if wd.AddData.String() != gd.AddData.String() || wd.AuthorSignature.String() != gd.AuthorSignature.String() {
			t.Fatalf("%s: open content differs", name)
		}
		gd.AddData, gd.AuthorSignature = wd.AddData, wd.AuthorSignature
	}
	if want.Body.StatusResponse != nil {
		want.Body.StatusResponse.AddData, got.Body.StatusResponse.AddData = nil, nil
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s: models differ:\n%+v\n%+v", name, want, got)
	}
}

// TestReadMessageMatchesParse reads every variant of the differential test
// and the corpus both ways.
func TestReadMessageMatchesParse(t *testing.T) {
	for _, v := range mutations(t) {
		sameAsParse(t, v.name, v.data)
	}
	files, _ := filepath.Glob(filepath.Join(extools.RepoRoot(), "schemas", "testdata", "corpus", "*", "*.xml"))
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sameAsParse(t, f, b)
	}
	// Base64 the way peers wrap it, and broken in each way IsBase64 knows.
	good, _ := fullMessage().Marshal()
	body := string(Base64Of([]byte("%PDF-1.4 test")))
	for _, repl := range []string{"JVBE\r\nRi0x\nLjQg dGVz\tdA==", "JVBERi0xLjQgdGVzdA=", "JVBERi0xLjQgdGVzdA==A", "JVBERi0xLjQgdGVzdB==",
		"JVBERi0xLjQgdGVzd===", "JVBERi0xLjQg*GVzdA==", "", strings.Repeat("QUJD", 40) + "!", "JVBERi0xLjQgdGVzdA=" + "="} {
		sameAsParse(t, fmt.Sprintf("body %.20q", repl), []byte(strings.Replace(string(good), body, repl, 1)))
	}
}

func TestReadMessageLimits(t *testing.T) {
	good, _ := fullMessage().Marshal()
	wide := strings.Replace(string(good), "<DocAddData>", "<DocAddData>"+strings.Repeat("<a/>", 200), 1)
	long := strings.Replace(string(good), "<DocAbout>", "<DocAbout>"+strings.Repeat("я", 600), 1)
	for _, c := range []struct {
		name string
		in   string
		opts ReadOptions
		want string
	}{
		{"elements besides attachments", wide, ReadOptions{MaxTreeNodes: 150}, "more than 150 elements"},
		{"bytes besides attachments", long, ReadOptions{MaxTreeBytes: 1000}, "more than 1000 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readStreamed([]byte(c.in), c.opts)
			var xe *xmldoc.Error
			if !errors.As(err, &xe) || !xe.Limit || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a limit error with %q", err, c.want)
			}
		})
	}
	// A large attachment costs nothing against the tree's limits, and
	// its size against MaxBodyBytes.
	m := fullMessage()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	m.Body.RegistrationRequest.Document.Attachments[0].Body = Base64Of(big)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := readStreamed(b, ReadOptions{MaxTreeBytes: 64 << 10}); err != nil {
		t.Fatalf("a 1 MiB attachment counted against the tree: %v", err)
	}
	_, _, err = readStreamed(b, ReadOptions{MaxBodyBytes: int64(len(big) - 1)})
	var tl *BodyTooLarge
	if !errors.As(err, &tl) || tl.Index != 0 || !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("over MaxBodyBytes: %v", err)
	}
}

func FuzzReadMessage(f *testing.F) {
	good, _ := fullMessage().Marshal()
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), string(Base64Of([]byte("%PDF-1.4 test"))), base64.StdEncoding.EncodeToString([]byte("x")), 1)))
	f.Fuzz(func(t *testing.T, b []byte) { sameAsParse(t, "fuzz", b) })
}
