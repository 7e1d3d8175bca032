//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestFIFOInSpoolAndSIGTERM runs `seosgw serve` with a spool whose outbox
// holds a FIFO named as an attachment: the drop is refused into failed/
// without the scan blocking, the next drop is queued, and SIGTERM stops
// the process in order.
func TestFIFOInSpoolAndSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	r := newReceiver(t, dir, filepath.Join(dir, "b.db"))
	spool := filepath.Join(dir, "spool")
	r.fields["SPOOL"] = spool
	writeConfig(t, r.cfg, r.fields)
	fifo := filepath.Join(spool, "outbox", "docs", "x.bin")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	drop := func(name, body string) {
		t.Helper()
		p := filepath.Join(spool, "outbox", name)
		if err := os.WriteFile(p+".tmp", []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	drop("fifo.json", `{"recipient":"`+r.a.entity.GUID+`","kind":"Писмо","attachments":[{"fileName":"x.pdf","mimeType":"application/pdf","file":"docs/x.bin"}]}`)
	node := r.start(t, filepath.Join(dir, "b.log"))
	defer func() { // a blocked spool would hold the process: free it before the kill
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}()

	failed := filepath.Join(spool, "failed", "fifo.json.error")
	testkit.Eventually(t, time.Minute, "the FIFO's drop refused into failed/", func() bool {
		b, err := os.ReadFile(failed)
		return err == nil && strings.Contains(string(b), "is not a regular file (a FIFO)")
	})
	if err := os.WriteFile(filepath.Join(spool, "outbox", "docs", "ok.pdf"), []byte("%PDF-1.4 ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	drop("ok.json", `{"recipient":"`+r.a.entity.GUID+`","kind":"Писмо","attachments":[{"mimeType":"application/pdf","file":"docs/ok.pdf"}]}`)
	testkit.Eventually(t, time.Minute, "the next drop queued (in done/)", func() bool {
		entries, _ := os.ReadDir(filepath.Join(spool, "done"))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), "_ok.json") {
				return true
			}
		}
		return false
	})

	node.Stop(syscall.SIGTERM)
	if code := node.ExitCode(); code != 0 || !strings.Contains(node.Output(), "seosgw stopped") {
		t.Errorf("SIGTERM: exit %d\n%s", code, node.Output())
	}
}
