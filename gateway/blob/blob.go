// Package blob is the gateway's file store: bulk bytes (attachment
// bodies, the exact bytes of large messages) kept as files in the folder
// beside the database (store.FilesDir), each named by its SHA-256, written
// and fsync'd before the transaction that refers to it commits. Small
// content stays in the row instead (Spill decides). A file no row refers
// to — a crash between writing and committing, a pruned row — is removed
// by Sweep.
package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Store is one folder of content-addressed files.
type Store struct {
	dir string
	// mu orders a writer finding its content already stored (and
	// refreshing the file's time) against removal, so that a file a
	// commit is about to refer to is never swept.
	mu sync.Mutex
}

// TempDir (in the store's folder) holds files being written; whatever is
// there at start is a crash's leftover. No row names them: copies of the
// store (backups) leave it out.
const TempDir = "tmp"

// What stays in a database row and what goes to a file, the same for
// every table: a whole message (the message log's bytes, a queued mail)
// up to InlineMessage, one attachment up to InlineFile.
const (
	InlineMessage = 256 << 10
	InlineFile    = 128 << 10
)

const tmpDir = TempDir

// Open opens (creating, mode 0700) the store at dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, tmpDir), 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Store{dir: dir}, nil
}

// ReadOnly is a store another process writes, for reading its files:
// it creates nothing (a command run as another user must not leave
// folders the node cannot write in).
func ReadOnly(dir string) *Store { return &Store{dir: dir} }

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// IsRef reports whether ref names a file of a store (64 hex digits).
func IsRef(ref string) bool {
	if len(ref) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Path is where the file named ref is.
func (s *Store) Path(ref string) string {
	return filepath.Join(s.dir, ref[:2], ref)
}

// ErrNotFound is a ref the store does not hold.
var ErrNotFound = errors.New("blob: no such file")

// Open opens the file named ref for reading.
func (s *Store) Open(ref string) (*os.File, error) {
	if !IsRef(ref) {
		return nil, fmt.Errorf("blob: %q is not a file name of the store", ref)
	}
	f, err := os.Open(s.Path(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return f, err
}

// Size returns the size of the file named ref.
func (s *Store) Size(ref string) (int64, error) {
	st, err := os.Stat(s.Path(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// Kept is where written content went: Data when it was small enough to
// stay in a row, else the file named Ref.
type Kept struct {
	Size int64
	Data []byte
	Ref  string
}

// Spill takes content of unknown size: the first inline bytes are held
// in memory, more goes to a file being written in the store. Keep ends it.
type Spill struct {
	s      *Store
	inline int
	buf    []byte
	f      *os.File
	h      hash.Hash
	size   int64
	err    error
}

// NewSpill starts content that stays in memory up to inline bytes. On a
// nil store (no folder for files) everything stays in memory.
func (s *Store) NewSpill(inline int) *Spill {
	return &Spill{s: s, inline: inline}
}

// Write takes the next bytes.
func (sp *Spill) Write(p []byte) (int, error) {
	if sp.err != nil {
		return 0, sp.err
	}
	sp.size += int64(len(p))
	if sp.f == nil && (sp.s == nil || len(sp.buf)+len(p) <= sp.inline) {
		sp.buf = append(sp.buf, p...)
		return len(p), nil
	}
	if sp.f == nil {
		f, err := os.CreateTemp(filepath.Join(sp.s.dir, tmpDir), "w-*")
		if err != nil {
			sp.err = fmt.Errorf("blob: %w", err)
			return 0, sp.err
		}
		sp.f, sp.h = f, sha256.New()
		if err := sp.write(sp.buf); err != nil {
			return 0, err
		}
		sp.buf = nil
	}
	if err := sp.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (sp *Spill) write(p []byte) error {
	sp.h.Write(p)
	if _, err := sp.f.Write(p); err != nil {
		sp.err = fmt.Errorf("blob: %w", err)
		return sp.err
	}
	return nil
}

// Size is how many bytes were written so far.
func (sp *Spill) Size() int64 { return sp.size }

// Reader reads back what was written so far (before Keep or Discard).
func (sp *Spill) Reader() io.Reader {
	if sp.f == nil {
		return bytes.NewReader(sp.buf)
	}
	return io.NewSectionReader(sp.f, 0, sp.size)
}

// Prefix returns (a copy of) up to n of the first bytes written.
func (sp *Spill) Prefix(n int) []byte {
	out := make([]byte, min(int64(n), sp.size))
	if _, err := io.ReadFull(sp.Reader(), out); err != nil {
		return nil
	}
	return out
}

// Keep ends the content. Small content comes back as Data; a file is
// synced to disk and given its content name before Keep returns, so a
// commit that refers to it after that survives a crash.
func (sp *Spill) Keep() (Kept, error) {
	if sp.err != nil {
		sp.Discard()
		return Kept{}, sp.err
	}
	if sp.f == nil {
		return Kept{Size: sp.size, Data: sp.buf}, nil
	}
	ref := hex.EncodeToString(sp.h.Sum(nil))
	tmp := sp.f.Name()
	err := sp.f.Sync()
	if cerr := sp.f.Close(); err == nil {
		err = cerr
	}
	sp.f = nil
	if err == nil {
		err = sp.s.place(tmp, ref)
	}
	if err != nil {
		os.Remove(tmp)
		return Kept{}, fmt.Errorf("blob: keep %s: %w", ref, err)
	}
	return Kept{Size: sp.size, Ref: ref}, nil
}

// Discard drops what was written.
func (sp *Spill) Discard() {
	if sp.f != nil {
		name := sp.f.Name()
		sp.f.Close()
		os.Remove(name)
		sp.f = nil
	}
	sp.buf = nil
}

// place moves a synced temporary file to its content name. The same
// content stored before is kept (its time refreshed, so a sweep spares
// it until a commit refers to it again) and the new copy dropped.
func (s *Store) place(tmp, ref string) error {
	final := s.Path(ref)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(final); err == nil {
		now := time.Now()
		os.Remove(tmp)
		return os.Chtimes(final, now, now)
	}
	sub := filepath.Dir(final)
	if _, err := os.Stat(sub); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(sub)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// PutBytes stores b as a file (whatever its size) and returns its name.
func (s *Store) PutBytes(b []byte) (string, error) {
	sp := s.NewSpill(-1)
	sp.Write(b)
	k, err := sp.Keep()
	return k.Ref, err
}

// Copy stores what r yields, as Spill does.
func (s *Store) Copy(r io.Reader, inline int) (Kept, error) {
	sp := s.NewSpill(inline)
	if _, err := io.Copy(sp, r); err != nil {
		sp.Discard()
		return Kept{}, err
	}
	return sp.Keep()
}

// Sweep removes files no row refers to (referenced says which do) and
// leftovers of interrupted writes, when they are older than before: a
// file written just now may be waiting for its commit. It returns how
// many files and bytes went.
func (s *Store) Sweep(before time.Time, referenced func(ref string) bool) (files int, bytes int64, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, 0, fmt.Errorf("blob: sweep: %w", err)
	}
	remove := func(path string, size int64) {
		if os.Remove(path) == nil {
			files++
			bytes += size
		}
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(s.dir, e.Name())
		names, rerr := os.ReadDir(sub)
		if rerr != nil {
			err = errors.Join(err, rerr)
			continue
		}
		for _, n := range names {
			info, ierr := n.Info()
			if ierr != nil || !info.Mode().IsRegular() || !info.ModTime().Before(before) {
				continue
			}
			path := filepath.Join(sub, n.Name())
			if e.Name() == tmpDir {
				remove(path, info.Size())
				continue
			}
			if !IsRef(n.Name()) || referenced(n.Name()) {
				continue
			}
			s.mu.Lock()
			// Again under the lock: a writer may have found this content
			// stored and refreshed its time for a commit to come.
			if st, serr := os.Stat(path); serr == nil && st.ModTime().Before(before) {
				remove(path, st.Size())
			}
			s.mu.Unlock()
		}
	}
	return files, bytes, err
}

// Refs lists the names of every file in the store.
func (s *Store) Refs() ([]string, error) {
	var out []string
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == tmpDir {
			return filepath.SkipDir
		}
		if !d.IsDir() && IsRef(d.Name()) && strings.HasPrefix(d.Name(), filepath.Base(filepath.Dir(path))) {
			out = append(out, d.Name())
		}
		return nil
	})
	return out, err
}
