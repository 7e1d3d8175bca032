//go:build unix

package spool

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/outbox"
)

// scanReturns runs one scan and fails the test if it does not return: a
// scan blocked on a FIFO never would. unblock frees it for the cleanup.
func (e *env) scanReturns(unblock func()) {
	e.t.Helper()
	done := make(chan error, 1)
	go func() { done <- e.sp.Scan(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			e.t.Fatalf("scan: %v", err)
		}
	case <-time.After(time.Minute):
		unblock()
		<-done
		e.t.Fatal("the scan blocked")
	}
}

// A FIFO named as an attachment (or dropped as a receipt) is refused into
// failed/ without being opened, and the scans go on: a drop after it is
// queued.
func TestFIFOsNeverBlockTheSpool(t *testing.T) {
	e := newEnv(t, "")
	fifo := e.path("outbox/docs/x.bin")
	os.MkdirAll(filepath.Dir(fifo), 0o755)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	unblock := func() { // a writer frees a reader blocked in open(2)
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
	e.put("outbox/fifo.json", []byte(`{"recipient":"000000002","kind":"Писмо","attachments":[{"fileName":"x.bin","mimeType":"application/pdf","file":"docs/x.bin"}]}`))
	e.put("outbox/docs/ok.pdf", []byte("%PDF"))
	e.put("outbox/ok.json", []byte(`{"recipient":"000000002","kind":"Писмо","attachments":[{"mimeType":"application/pdf","file":"docs/ok.pdf"}]}`))
	for range 3 {
		e.scanReturns(unblock)
	}
	msg := e.read("failed/fifo.json.error")
	if !strings.Contains(msg, "field: attachments[0].file\n") || !strings.Contains(msg, `"docs/x.bin" is not a regular file (a FIFO)`) {
		t.Errorf("failed/fifo.json.error:\n%s", msg)
	}
	if n := len(e.items(outbox.KindRegistration)); n != 1 {
		t.Errorf("%d queued, want the drop after the FIFO", n)
	}
	if err := e.sp.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}

	// A FIFO in receipts/ or outbox/ under a drop's name is no drop.
	for _, p := range []string{"receipts/r.json", "outbox/pipe.json"} {
		if err := syscall.Mkfifo(e.path(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.scanReturns(func() {})
	e.scanReturns(func() {})
	if !exists(e.path("receipts/r.json")) || !exists(e.path("outbox/pipe.json")) {
		t.Errorf("a FIFO was taken as a drop: %v %v", e.files("work"), e.files("failed"))
	}
}

// A hard link in the spool to a file outside it passes every path check;
// a file with more than one link is refused.
func TestHardLinksAreRefused(t *testing.T) {
	e := newEnv(t, "")
	secret := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(secret, []byte("root:$6$secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(e.path("outbox/docs"), 0o755)
	if err := os.Link(secret, e.path("outbox/docs/report.pdf")); err != nil {
		t.Fatal(err)
	}
	e.put("outbox/link.json", []byte(`{"recipient":"000000002","kind":"Писмо","attachments":[{"mimeType":"application/pdf","file":"docs/report.pdf"}]}`))
	e.scan(3)
	if n := len(e.items(outbox.KindRegistration)); n != 0 {
		t.Fatalf("%d queued: a hard link out of the spool was sent", n)
	}
	if msg := e.read("failed/link.json.error"); !strings.Contains(msg, `"docs/report.pdf" has 2 hard links`) {
		t.Errorf("failed/link.json.error:\n%s", msg)
	}
}

// An attachment still being written when its drop appears is sent only
// once two scans see it unchanged, whole.
func TestAttachmentStillBeingWrittenWaits(t *testing.T) {
	e := newEnv(t, "")
	e.put("outbox/big.json", []byte(`{"recipient":"000000002","kind":"Писмо","attachments":[{"mimeType":"application/pdf","file":"docs/big.pdf"}]}`))
	os.MkdirAll(e.path("outbox/docs"), 0o755)
	f, err := os.OpenFile(e.path("outbox/docs/big.pdf"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := ""
	for i := range 6 { // the drop is seen, claimed, then waits for the file
		chunk := strings.Repeat(string(rune('a'+i)), 1000)
		f.WriteString(chunk)
		want += chunk
		e.scan(1)
		if n := len(e.items(outbox.KindRegistration)); n != 0 {
			t.Fatalf("scan %d: queued while the file grows", i+1)
		}
	}
	if st := e.sp.Status(); st.Waiting != 1 {
		t.Errorf("status %+v: the drop should count as waiting", st)
	}
	f.Close()
	e.scan(2)
	items := e.items(outbox.KindRegistration)
	if len(items) != 1 {
		t.Fatalf("%d queued once the file stopped changing", len(items))
	}
	if b, _ := items[0].Request.Document.Attachments[0].Data(); string(b) != want {
		t.Errorf("sent %d bytes, the file has %d", len(b), len(want))
	}
}

// A scan that never ends (a file system that stopped answering) makes the
// spool not ready.
func TestStuckScanIsNotReady(t *testing.T) {
	e := newEnv(t, "")
	e.scan(1)
	e.sp.mu.Lock()
	e.sp.state.ScanStarted = e.clk.Now()
	e.sp.mu.Unlock()
	if err := e.sp.Check(context.Background()); err != nil {
		t.Fatalf("a scan just begun: %v", err)
	}
	e.clk.Advance(2 * time.Minute)
	if err := e.sp.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "has not ended") {
		t.Errorf("a scan two minutes old: %v", err)
	}
}
