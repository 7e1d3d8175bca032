package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
)

// TestRegisterAdmin: the admin verbs as an operator runs them, on a test
// register in a temporary folder.
func TestRegisterAdmin(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "register.db")
	ca, err := pki.NewAuthority("Test DAEU CA", pki.WithKeyBits(2048))
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.IssueTransport("node.obmen.local", pki.WithKeyBits(2048))
	if err != nil {
		t.Fatal(err)
	}
	certFile, _, err := id.WriteFiles(dir, "node")
	if err != nil {
		t.Fatal(err)
	}
	guid := "{11111111-2222-4333-8444-555555555555}"

	// Readers do not create a register at a mistyped path.
	for _, verb := range []string{"list", "export"} {
		if _, errOut, code := runCmd(t, "register", "admin", verb, "--db", db); code == 0 || !strings.Contains(errOut, "does not exist") {
			t.Errorf("admin %s of a missing register: exit %d\n%s", verb, code, errOut)
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a reader created %s (%v)", db, err)
	}

	out, errOut, code := runCmd(t, "register", "admin", "add", "--db", db, "--guid", guid, "--eik", "000695089", "--name", "Община Пример",
		"--cert", certFile, "--uri", "https://node.obmen.local/seos", "--applied", "2026-04-01")
	if code != 0 || !strings.Contains(out, pki.SerialHex(id.Cert)) || !strings.Contains(out, "(document exchange)") ||
		!strings.Contains(out, "https://node.obmen.local/seos") || !strings.Contains(out, "joining case of "+guid) {
		t.Fatalf("admin add: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"add", "--guid", guid, "--eik", "1", "--name", "x", "--cert", certFile, "--serial", "0A"}, "not both"},
		{[]string{"add", "--guid", guid, "--eik", "1", "--name", "x", "--status", "active"}, `status "active"`},
		{[]string{"set-status", guid, "Gone"}, `status "Gone"`},
		{[]string{"set-cert", guid, "--cert", filepath.Join(dir, "none.pem")}, "none.pem"},
	} {
		if _, errOut, code := runCmd(t, append(append([]string{"register", "admin"}, tc.args...), "--db", db)...); code == 0 || !strings.Contains(errOut, tc.says) {
			t.Errorf("admin %v: exit %d, want a failure saying %q\n%s", tc.args, code, tc.says, errOut)
		}
	}

	// export FILE replaces the file whole; a failed export leaves no
	// temporary file behind.
	dump := filepath.Join(dir, "register.json")
	if _, errOut, code := runCmd(t, "register", "admin", "export", "--db", db, dump); code != 0 {
		t.Fatalf("admin export: exit %d\n%s", code, errOut)
	}
	if b, err := os.ReadFile(dump); err != nil || !strings.Contains(string(b), guid) {
		t.Errorf("export: %v\n%s", err, b)
	}
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "register.json"), 0o755); err != nil { // a folder where the file should go
		t.Fatal(err)
	}
	if _, errOut, code := runCmd(t, "register", "admin", "export", "--db", db, filepath.Join(blocked, "register.json")); code == 0 {
		t.Errorf("export over a folder: exit 0\n%s", errOut)
	}
	if entries, _ := os.ReadDir(blocked); len(entries) != 1 {
		t.Errorf("a failed export left %v", entries)
	}
}
