// Package acceptancetest is the test kit of the acceptance policy: it starts
// the real services the checks talk to (clamd, an OCSP responder, a CRL
// server on loopback) and makes real artefacts (a qualified-provider-like PKI,
// CAdES with openssl, Office files with LibreOffice, PDFs). Tests only.
package acceptancetest

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/clamav"
	"github.com/seosgw/seosgw/integration/extools"
)

// EICAR is the antivirus test string; the test database names it
// EICARSignature.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// EICARSignature is the name the test database gives EICAR. clamd adds
// ".UNOFFICIAL" to signatures from databases it does not know.
const EICARSignature = "Seosgw.Test.EICAR.UNOFFICIAL"

// Clamd is a running clamd with a test-only signature database.
type Clamd struct {
	Addr string // unix:/path/clamd.sock
	cmd  *exec.Cmd
	done chan struct{}
}

// StartClamd starts clamd in the foreground on a unix socket in a temporary
// folder, with one body signature for EICAR made on the spot, so no network
// or freshclam is needed. It stops with the test.
func StartClamd(t testing.TB) *Clamd { return StartClamdLimited(t, "64M") }

// StartClamdLimited is StartClamd with clamd.conf's StreamMaxLength set to
// streamMax (e.g. "1M"): clamd refuses a longer INSTREAM.
func StartClamdLimited(t testing.TB, streamMax string) *Clamd {
	t.Helper()
	bin := extools.Require(t, "clamd")
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	sig := "Seosgw.Test.EICAR:0:*:" + hex.EncodeToString([]byte(EICAR)) + "\n"
	if err := os.WriteFile(filepath.Join(db, "seosgw-test.ndb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "clamd.sock")
	conf := strings.Join([]string{
		"Foreground yes",
		"LocalSocket " + sock,
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + dir,
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"PidFile " + filepath.Join(dir, "clamd.pid"),
		"StreamMaxLength " + streamMax,
		"Bytecode no",
		"",
	}, "\n")
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Clamd{Addr: "unix:" + sock, cmd: exec.Command(bin, "-c", confPath), done: make(chan struct{})}
	// clamd logs to its LogFile; its chatter on stdout would drown test output.
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start clamd: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.Stop)

	client, err := clamav.New(c.Addr, 5*time.Second, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// clamd opens its socket once the database is loaded; wait for it, not for a fixed time.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-c.done:
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
			t.Fatalf("clamd exited while starting: %s", log)
		default:
		}
		if err := client.Ping(context.Background()); err == nil {
			return c
		} else if time.Now().After(deadline) {
			t.Fatalf("clamd did not answer PING within 2 minutes: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends clamd and waits for it.
func (c *Clamd) Stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// String is for test logs.
func (c *Clamd) String() string { return fmt.Sprintf("clamd at %s", c.Addr) }
