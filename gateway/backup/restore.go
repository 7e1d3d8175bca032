package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/seosgw/seosgw/gateway/store"
)

// Restored is what Restore did.
type Restored struct {
	Contents *Contents
	// Aside is where the database that was replaced went (with its -wal),
	// "" when there was none; AsideFiles likewise for its files folder.
	Aside, AsideFiles string
	// Migrate says the backup's schema is older than this seosgw's: serve
	// (or migrate up) brings it up to date.
	Migrate bool
}

// Locate finds the database of a backup: a backup folder, or a database
// file given directly.
func Locate(src string) (dbFile, filesDir string, err error) {
	st, err := os.Stat(src)
	if err != nil {
		return "", "", fmt.Errorf("restore: %w", err)
	}
	if !st.IsDir() {
		return src, "", nil
	}
	dbFile = filepath.Join(src, DBName)
	if _, err := os.Stat(dbFile); err != nil {
		return "", "", fmt.Errorf("restore: %s is not a seosgw backup folder (no %s): %w", src, DBName, err)
	}
	filesDir = filepath.Join(src, FilesName)
	if _, err := os.Stat(filesDir); errors.Is(err, fs.ErrNotExist) {
		filesDir = ""
	}
	return dbFile, filesDir, nil
}

// Restore puts the backup src in place of the database at dbPath. It
// refuses while a node holds the database (see store.Lock), and refuses a
// backup that fails the integrity check or whose schema is newer than
// this seosgw. The database it replaces is kept beside it, renamed with
// the time; nothing is deleted.
func Restore(ctx context.Context, src, dbPath string, now time.Time) (*Restored, error) {
	dbFile, filesDir, err := Locate(src)
	if err != nil {
		return nil, err
	}
	c, err := Inspect(ctx, dbFile)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(src, ManifestName)); err == nil {
		var m Contents
		if json.Unmarshal(b, &m) == nil {
			c.Created, c.Source, c.Seosgw, c.Files, c.FileBytes = m.Created, m.Source, m.Seosgw, m.Files, m.FileBytes
		}
	}
	latest := store.GatewayLatest()
	if c.SchemaVersion > latest {
		return nil, &store.NewerSchemaError{Path: dbFile, Current: c.SchemaVersion, Known: latest}
	}
	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	lock, err := store.Acquire(dbPath)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	// Copy next to the target first, so the swap below is renames only.
	incoming := dbPath + ".restoring"
	incomingFiles := store.FilesDir(dbPath) + ".restoring"
	os.Remove(incoming)
	os.RemoveAll(incomingFiles)
	if _, err := copyFile(dbFile, incoming); err != nil {
		os.Remove(incoming)
		return nil, fmt.Errorf("restore: copy %s: %w", dbFile, err)
	}
	if filesDir != "" {
		if _, _, err := copyTree(filesDir, incomingFiles); err != nil {
			os.Remove(incoming)
			os.RemoveAll(incomingFiles)
			return nil, fmt.Errorf("restore: copy %s: %w", filesDir, err)
		}
	}
	r := &Restored{Contents: c, Migrate: c.SchemaVersion < latest}
	stamp := now.UTC().Format("20060102T150405Z")
	if _, err := os.Stat(dbPath); err == nil {
		r.Aside = dbPath + ".before-restore-" + stamp
		// The WAL goes with its database: it may hold committed pages, and
		// left behind it would be replayed into the restored file.
		for _, suffix := range []string{"", "-wal"} {
			if err := os.Rename(dbPath+suffix, r.Aside+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("restore: keep the old database aside: %w", err)
			}
		}
	}
	if err := os.Remove(dbPath + "-shm"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if _, err := os.Stat(store.FilesDir(dbPath)); err == nil {
		r.AsideFiles = store.FilesDir(dbPath) + ".before-restore-" + stamp
		if err := os.Rename(store.FilesDir(dbPath), r.AsideFiles); err != nil {
			return nil, fmt.Errorf("restore: keep the old files folder aside: %w", err)
		}
	}
	if err := os.Rename(incoming, dbPath); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if filesDir != "" {
		if err := os.Rename(incomingFiles, store.FilesDir(dbPath)); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	// Run as root for a node that runs as its own user: the restored files
	// belong to whoever owns the folder, or the node could not open them.
	if err := store.MatchOwner(dbPath); err != nil {
		return r, fmt.Errorf("restore: %w", err)
	}
	return r, nil
}
