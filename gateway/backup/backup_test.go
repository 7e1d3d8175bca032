package backup

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/testkit"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// node is a gateway database with a table of the test's own, so the test
// can count what it wrote.
func node(t *testing.T) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "var", "seosgw.db")
	db := testkit.OpenDB(t, path)
	if _, err := db.Exec(`CREATE TABLE load (n INTEGER PRIMARY KEY, pad TEXT)`); err != nil {
		t.Fatal(err)
	}
	return path, db
}

func count(t *testing.T, c *Contents, table string) int64 {
	t.Helper()
	for _, tb := range c.Tables {
		if tb.Name == table {
			return tb.Rows
		}
	}
	t.Fatalf("no table %s in %+v", table, c.Tables)
	return 0
}

// A backup taken while another connection commits row after row holds
// every row committed before it began, and is a consistent database.
func TestCreateWhileWriting(t *testing.T) {
	ctx := context.Background()
	path, db := node(t)
	pad := strings.Repeat("x", 2000)
	var committed atomic.Int64
	for i := 0; i < 200; i++ {
		db.Exec(`INSERT INTO load (pad) VALUES (?)`, pad)
		committed.Add(1)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Exec(`INSERT INTO load (pad) VALUES (?)`, pad); err != nil {
				t.Error(err)
				return
			}
			committed.Add(1)
		}
	}()
	before := committed.Load()
	dest := filepath.Join(t.TempDir(), "backup-1")
	c, err := Create(ctx, path, dest, Options{Now: now, Seosgw: "1.2.3"})
	after := committed.Load()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, "load"); n < before || n > after {
		t.Errorf("backup holds %d rows; %d were committed before it began, %d after it ended", n, before, after)
	}
	if c.Integrity != "ok" || c.SchemaVersion != store.GatewayLatest() || c.Seosgw != "1.2.3" || !c.Created.Equal(now) {
		t.Errorf("contents %+v", c)
	}
	var out bytes.Buffer
	c.Write(&out)
	for _, want := range []string{"integrity ok", "schema version", "load", "register_entities", "files:           0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("description lacks %q:\n%s", want, out.String())
		}
	}
	// The manifest says the same, and Inspect of the copy agrees.
	again, err := Inspect(ctx, filepath.Join(dest, DBName))
	if err != nil || count(t, again, "load") != count(t, c, "load") {
		t.Errorf("Inspect of the copy: %v", err)
	}
	// A backup holds every document: the node's user's alone, whatever
	// the umask.
	for name, want := range map[string]os.FileMode{".": 0o700, DBName: 0o600, ManifestName: 0o600} {
		if st, err := os.Stat(filepath.Join(dest, name)); err != nil || st.Mode().Perm() != want {
			t.Errorf("backup %s: %v, mode %o, want %o", name, err, modeOf(st), want)
		}
	}
	if _, err := Create(ctx, path, dest, Options{Now: now}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second backup into the same folder: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestCreateCopiesTheFilesFolder(t *testing.T) {
	ctx := context.Background()
	path, _ := node(t)
	files := store.FilesDir(path)
	os.MkdirAll(filepath.Join(files, "ab"), 0o700)
	os.WriteFile(filepath.Join(files, "ab", "cdef"), []byte("attachment bytes"), 0o600)
	// A file a request is writing: no row names it, the copy leaves it out.
	os.MkdirAll(filepath.Join(files, blob.TempDir), 0o700)
	os.WriteFile(filepath.Join(files, blob.TempDir, "w-1"), []byte("half a"), 0o600)
	dest := filepath.Join(t.TempDir(), "b")
	c, err := Create(ctx, path, dest, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if c.Files != 1 || c.FileBytes != int64(len("attachment bytes")) {
		t.Errorf("files %d bytes %d", c.Files, c.FileBytes)
	}
	if b, err := os.ReadFile(filepath.Join(dest, FilesName, "ab", "cdef")); err != nil || string(b) != "attachment bytes" {
		t.Errorf("copied file: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dest, FilesName, blob.TempDir)); err == nil {
		t.Error("the files being written were copied")
	}
}

func TestCreateFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	_, err := Create(context.Background(), filepath.Join(dir, "none.db"), filepath.Join(dir, "b"), Options{Now: now})
	if err == nil {
		t.Fatal("backed up a database that does not exist")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// A damaged copy is not taken for a backup.
func TestInspectFindsDamage(t *testing.T) {
	ctx := context.Background()
	path, db := node(t)
	for i := 0; i < 300; i++ {
		db.Exec(`INSERT INTO load (pad) VALUES (?)`, strings.Repeat("y", 500))
	}
	dest := filepath.Join(t.TempDir(), "b")
	if _, err := Create(ctx, path, dest, Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dest, DBName)
	b, _ := os.ReadFile(f)
	// Zero a page in the middle: the b-tree no longer adds up.
	page := 4096
	mid := (len(b) / page / 2) * page
	copy(b[mid:mid+page], make([]byte, page))
	os.WriteFile(f, b, 0o600)
	if _, err := Inspect(ctx, f); err == nil {
		t.Fatal("a damaged database passed the integrity check")
	}
	if _, err := Restore(ctx, dest, filepath.Join(t.TempDir(), "gw.db"), now); err == nil {
		t.Fatal("restored a damaged backup")
	}
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	src, sdb := node(t)
	sdb.Exec(`INSERT INTO load (pad) VALUES ('from the backup')`)
	dest := filepath.Join(t.TempDir(), "b")
	if _, err := Create(ctx, src, dest, Options{Now: now}); err != nil {
		t.Fatal(err)
	}

	target, tdb := node(t)
	tdb.Exec(`INSERT INTO load (pad) VALUES ('replaced')`)

	// Refused while a node holds the target; nothing changes.
	lock, err := store.Acquire(target)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Restore(ctx, dest, target, now)
	var le *store.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("restore over a running node: %v", err)
	}
	lock.Release()
	var pad string
	tdb.QueryRow(`SELECT pad FROM load`).Scan(&pad)
	if pad != "replaced" {
		t.Fatalf("a refused restore changed the database: %q", pad)
	}
	tdb.Close()

	r, err := Restore(ctx, dest, target, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Aside == "" || r.Migrate || r.Contents.Integrity != "ok" {
		t.Errorf("restored %+v", r)
	}
	db, err := store.OpenGateway(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT pad FROM load`).Scan(&pad); err != nil || pad != "from the backup" {
		t.Errorf("restored database holds %q %v", pad, err)
	}
	old, err := store.OpenReadOnly(ctx, r.Aside)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.QueryRow(`SELECT pad FROM load`).Scan(&pad); err != nil || pad != "replaced" {
		t.Errorf("the replaced database kept aside holds %q %v", pad, err)
	}
}

func TestRestoreRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	src, sdb := node(t)
	sdb.Exec(`UPDATE schema_migrations SET version = ?`, store.GatewayLatest()+1)
	sdb.Close()
	dest := filepath.Join(t.TempDir(), "b")
	if _, err := Create(ctx, src, dest, Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "gw.db")
	_, err := Restore(ctx, dest, target, now)
	var newer *store.NewerSchemaError
	if !errors.As(err, &newer) {
		t.Fatalf("want NewerSchemaError, got %v", err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused restore wrote %s", target)
	}
}

func modeOf(st os.FileInfo) os.FileMode {
	if st == nil {
		return 0
	}
	return st.Mode().Perm()
}
