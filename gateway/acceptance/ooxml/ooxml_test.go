package ooxml_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/ooxml"
)

func TestTextOfLibreOfficeDocx(t *testing.T) {
	o := acceptancetest.MakeOffice(t)
	for path, want := range map[string]string{o.DOCX: acceptancetest.LetterText, o.PlainDOCX: acceptancetest.PlainText} {
		b := acceptancetest.Read(t, path)
		got, err := ooxml.Text(bytes.NewReader(b), int64(len(b)), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(want), " ") {
			t.Errorf("%s:\n got %q\nwant %q", path, got, want)
		}
	}
	b := acceptancetest.Read(t, o.XLSX)
	if _, err := ooxml.Text(bytes.NewReader(b), int64(len(b)), 100); err == nil {
		t.Error("a workbook read as a Word document")
	}
}

func FuzzText(f *testing.F) {
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ooxml.Text(bytes.NewReader(b), int64(len(b)), 1000)
		if err == nil && len(s) > 1000 {
			t.Fatal("over the limit")
		}
	})
}
