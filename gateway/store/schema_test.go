package store

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrationsAndStatus(t *testing.T) {
	ctx := context.Background()
	ms, err := Migrations(gatewayMigrations, "migrations")
	if err != nil || len(ms) < 4 || ms[0].Version != 1 || ms[0].Name != "register" {
		t.Fatalf("migrations %+v %v", ms, err)
	}
	latest := ms[len(ms)-1].Version

	path := filepath.Join(t.TempDir(), "gw.db")
	db, err := OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := GatewayStatus(ctx, db)
	if err != nil || st.Current != latest || st.Latest != latest || len(st.Pending) != 0 || st.Dirty || st.Newer() {
		t.Fatalf("fresh database: %+v %v", st, err)
	}
	if !strings.Contains(st.String(), "up to date") {
		t.Errorf("status text: %s", st)
	}
	// As an older seosgw left it: two steps behind.
	if _, err := db.Exec(`UPDATE schema_migrations SET version = ?`, ms[len(ms)-3].Version); err != nil {
		t.Fatal(err)
	}
	st, _ = GatewayStatus(ctx, db)
	if len(st.Pending) != 2 || st.Pending[1].Version != latest || !strings.Contains(st.String(), "pending") {
		t.Errorf("two behind: %+v\n%s", st, st)
	}
	db.Close()
}

// A database a newer seosgw upgraded is refused with what to do, and left
// as it was.
func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	db, err := OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations(gatewayMigrations, "migrations")
	latest := ms[len(ms)-1].Version
	if _, err := db.Exec(`UPDATE schema_migrations SET version = ?`, latest+7); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err = OpenGateway(ctx, path)
	var newer *NewerSchemaError
	if !errors.As(err, &newer) || newer.Current != latest+7 || newer.Known != latest {
		t.Fatalf("want NewerSchemaError, got %v", err)
	}
	for _, want := range []string{"newer than this seosgw knows", "Rollback", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if v, _, err := Version(ctx, ro); err != nil || v != latest+7 {
		t.Errorf("the refused database was changed: version %d %v", v, err)
	}
}

func TestOpenRefusesDirtySchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gw.db")
	db, err := OpenGateway(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`UPDATE schema_migrations SET dirty = 1`)
	db.Close()
	_, err = OpenGateway(ctx, path)
	var dirty *DirtyError
	if !errors.As(err, &dirty) || !strings.Contains(err.Error(), "failed halfway") {
		t.Fatalf("want DirtyError, got %v", err)
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.db")
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.Contains(err.Error(), "systemctl stop seosgw") {
		t.Fatalf("second Acquire: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l, err = Acquire(path)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l.Release()
}

// A node killed with SIGKILL cannot release its lock; the kernel does.
func TestLockOfKilledProcess(t *testing.T) {
	if os.Getenv("SEOSGW_LOCK_HELPER") != "" {
		return // the helper runs in TestMain
	}
	path := filepath.Join(t.TempDir(), "gw.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SEOSGW_LOCK_HELPER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q %v", line, err)
	}
	_, err = Acquire(path)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("while the helper runs: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(path)
	if err != nil {
		t.Fatalf("after SIGKILL: %v", err)
	}
	l.Release()
}

func TestMain(m *testing.M) {
	if path := os.Getenv("SEOSGW_LOCK_HELPER"); path != "" {
		if _, err := Acquire(path); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		bufio.NewReader(os.Stdin).ReadString('\n') // until the test kills us
		os.Exit(0)
	}
	os.Exit(m.Run())
}
