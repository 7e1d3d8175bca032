package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSpillKeepsSmallContentInMemoryAndLargeInFiles(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "gw.files"))
	if err != nil {
		t.Fatal(err)
	}
	small := s.NewSpill(10)
	small.Write([]byte("abc"))
	small.Write([]byte("defg"))
	k, err := small.Keep()
	if err != nil || string(k.Data) != "abcdefg" || k.Ref != "" || k.Size != 7 {
		t.Fatalf("small: %+v %v", k, err)
	}
	big := bytes.Repeat([]byte("x"), 100)
	sp := s.NewSpill(10)
	for i := 0; i < len(big); i += 7 {
		sp.Write(big[i:min(i+7, len(big))])
	}
	k, err = sp.Keep()
	sum := sha256.Sum256(big)
	if err != nil || k.Data != nil || k.Ref != hex.EncodeToString(sum[:]) || k.Size != 100 {
		t.Fatalf("large: %+v %v", k, err)
	}
	st, err := os.Stat(s.Path(k.Ref))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v %v", st, err)
	}
	f, err := s.Open(k.Ref)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, big) {
		t.Error("content differs")
	}
	// The same content again: one file.
	again, err := s.Copy(bytes.NewReader(big), 10)
	if err != nil || again.Ref != k.Ref {
		t.Fatalf("again: %+v %v", again, err)
	}
	if refs, _ := s.Refs(); len(refs) != 1 {
		t.Errorf("refs %v", refs)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir(), tmpDir)); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestSweepRemovesOnlyOldUnreferencedFiles(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keep, _ := s.PutBytes([]byte("kept: a row refers to it"))
	orphan, _ := s.PutBytes([]byte("orphan: its commit never came"))
	young, _ := s.PutBytes([]byte("young: its commit may still come"))
	leftover := s.NewSpill(0)
	leftover.Write([]byte("a write a crash interrupted"))
	old := time.Now().Add(-2 * time.Hour)
	for _, ref := range []string{keep, orphan} {
		os.Chtimes(s.Path(ref), old, old)
	}
	tmps, _ := os.ReadDir(filepath.Join(s.Dir(), tmpDir))
	for _, e := range tmps {
		os.Chtimes(filepath.Join(s.Dir(), tmpDir, e.Name()), old, old)
	}
	files, bytes, err := s.Sweep(time.Now().Add(-time.Hour), func(ref string) bool { return ref == keep })
	if err != nil || files != 2 || bytes == 0 {
		t.Fatalf("swept %d files, %d bytes: %v", files, bytes, err)
	}
	for ref, want := range map[string]bool{keep: true, orphan: false, young: true} {
		if _, err := os.Stat(s.Path(ref)); (err == nil) != want {
			t.Errorf("%s: present=%v, want %v", ref[:8], err == nil, want)
		}
	}
	// Content that is stored again gets a fresh time: a sweep spares it.
	os.Chtimes(s.Path(keep), old, old)
	if _, err := s.PutBytes([]byte("kept: a row refers to it")); err != nil {
		t.Fatal(err)
	}
	if files, _, _ := s.Sweep(time.Now().Add(-time.Hour), func(string) bool { return false }); files != 0 {
		t.Errorf("swept content stored again just now")
	}
}
