package spool

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/clock"
)

// Folders under the spool directory.
const (
	Outbox   = "outbox"   // AIS → seosgw: documents to send, and their files
	Receipts = "receipts" // AIS → seosgw: what the AIS did with received documents
	Inbox    = "inbox"    // seosgw → AIS: received documents, a folder each
	Failed   = "failed"   // drops seosgw refused, each beside NAME.error
	Done     = "done"     // drops seosgw took
	Work     = "work"     // seosgw's own: claimed drops, folders being written
	State    = "state"    // seosgw's own: which inbox folders were written
)

var folders = []string{Outbox, Receipts, Inbox, Failed, filepath.Join(Failed, Receipts), Done, filepath.Join(Done, Receipts),
	filepath.Join(Work, Outbox), filepath.Join(Work, Receipts), filepath.Join(Work, Inbox), filepath.Join(State, "written")}

// Spool runs one spool directory. One seosgw process per directory.
type Spool struct {
	dir     string
	svc     *ais.Service
	mapping *Mapping // nil: XML drops are refused
	every   time.Duration
	log     *slog.Logger
	clk     clock.Clock

	// RegisterFresh, when set, says whether the register copy is synced and
	// current (nil) or not. A drop refused as recipient_unknown or
	// recipient_not_exchanging while it is not — a fresh node before its
	// first sync, a sync stuck on an outage — is not failed but left in
	// work/ for a later scan, since the copy may only be behind. Set it
	// before Run.
	RegisterFresh func(context.Context) error

	scanMu sync.Mutex
	seen   map[string]fileSig // drops seen by the previous scan, to tell when they stop changing
	// files seen by the previous scan and by this one, by the name a drop
	// gives them: a drop is sent only once its files stop changing too.
	filesSeen, filesNow map[string]fileSig
	cursor              int64           // received documents up to this id are written
	held                map[string]bool // claims this scan held back for the register copy
	before              map[string]bool // … and the previous scan, so each is logged loudly once

	writeMu sync.Mutex     // WriteReceived
	prompt  sync.WaitGroup // Received's writes in flight

	mu    sync.Mutex
	state Status
}

type fileSig struct {
	size int64
	mod  time.Time
}

func sigOf(st os.FileInfo) fileSig { return fileSig{st.Size(), st.ModTime()} }

// Status is how the spool is doing, for operators and readiness.
type Status struct {
	// ScanStarted is when the scan under way began (zero between scans):
	// a scan that never ends is reported by Check.
	ScanStarted time.Time `json:"scanStarted,omitempty"`
	LastScan    time.Time `json:"lastScan"`
	LastOK      time.Time `json:"lastOk"`
	LastError   string    `json:"lastError,omitempty"`
	Queued      int       `json:"queued"`   // documents taken from outbox/
	Failed      int       `json:"failed"`   // drops moved to failed/
	Receipts    int       `json:"receipts"` // receipts applied
	Written     int       `json:"written"`  // folders written to inbox/
	Waiting     int       `json:"waiting"`  // drops held in work/: the register copy is not fresh, or their files still change
}

// Options say where the spool is and how it reads.
type Options struct {
	Dir       string        // the spool directory (ais.spool.dir)
	Mapping   string        // the legacy XML mapping file; "": JSON envelopes only
	ScanEvery time.Duration // default 5s
}

// New prepares the spool directory (creating its folders) and loads the
// legacy mapping if one is configured.
func New(opt Options, svc *ais.Service, log *slog.Logger, clk clock.Clock) (*Spool, error) {
	if opt.Dir == "" {
		return nil, errors.New("ais.spool.dir is empty: no spool configured")
	}
	s := &Spool{dir: opt.Dir, svc: svc, every: opt.ScanEvery, log: log, clk: clk, seen: map[string]fileSig{}, held: map[string]bool{}}
	if s.every <= 0 {
		s.every = 5 * time.Second
	}
	for _, f := range folders {
		if err := os.MkdirAll(filepath.Join(s.dir, f), dirMode); err != nil {
			return nil, fmt.Errorf("ais.spool.dir: %w", err)
		}
	}
	if opt.Mapping != "" {
		m, err := LoadMapping(opt.Mapping)
		if err != nil {
			return nil, fmt.Errorf("ais.spool.mapping: %w", err)
		}
		s.mapping = m
	}
	return s, nil
}

// Dir is the spool directory.
func (s *Spool) Dir() string { return s.dir }

// Run scans every ScanEvery until ctx ends. A failed scan (disk, database)
// is logged and shown by Check; the next one tries again. It returns once
// the prompt writes Received started are done.
func (s *Spool) Run(ctx context.Context) {
	defer s.prompt.Wait()
	s.log.Info("watching", "dir", s.dir, "every", s.every.String(), "legacy_mapping", s.mapping != nil)
	for {
		if err := s.Scan(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("scan incomplete; retrying next scan", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.every):
		}
	}
}

// Scan makes one pass: finish claims a previous run left, take drops that
// stopped changing since the previous pass, apply receipts, and write
// received documents not yet written.
func (s *Spool) Scan(ctx context.Context) (err error) {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	s.mu.Lock()
	s.state.ScanStarted = s.clk.Now()
	s.mu.Unlock()
	s.filesNow = map[string]fileSig{}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("spool: scan panicked: %v", p)
			s.log.Error("scan panicked", "panic", p)
		}
		s.filesSeen = s.filesNow
		s.mu.Lock()
		s.state.ScanStarted = time.Time{}
		s.state.LastScan = s.clk.Now()
		if err == nil {
			s.state.LastOK, s.state.LastError = s.state.LastScan, ""
		} else {
			s.state.LastError = err.Error()
		}
		s.mu.Unlock()
	}()
	var errs []error
	// Claims left by a crash, or by a database that was down.
	s.before, s.held = s.held, map[string]bool{}
	defer func() { s.count(func(st *Status) { st.Waiting = len(s.held) }) }()
	for _, kind := range []string{Outbox, Receipts} {
		names, err := listDrops(filepath.Join(s.dir, Work, kind), kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, name := range names {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, s.process(ctx, kind, name))
		}
	}
	// Keys remembered for drops no longer claimed (a crash after the drop
	// moved on): gone before any new drop of the name is claimed.
	errs = append(errs, s.dropStaleKeys())
	seen := map[string]fileSig{}
	for _, kind := range []string{Outbox, Receipts} {
		names, err := s.stable(kind, seen)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, name := range names {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			claimed, err := s.claim(kind, name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if claimed {
				errs = append(errs, s.process(ctx, kind, name))
			}
		}
	}
	s.seen = seen
	errs = append(errs, s.catchUp(ctx))
	return errors.Join(errs...)
}

// Check reports a spool that could not finish a scan lately, or whose scan
// has not ended (a file system that stopped answering).
func (s *Spool) Check(context.Context) error {
	st := s.Status()
	stuck := 3*s.every + time.Minute
	if !st.ScanStarted.IsZero() && s.clk.Now().Sub(st.ScanStarted) > stuck {
		return fmt.Errorf("spool %s: the scan that began at %s has not ended: is the folder on a file system that stopped answering?",
			s.dir, st.ScanStarted.UTC().Format(time.RFC3339))
	}
	if st.LastError != "" {
		return fmt.Errorf("spool %s: %s", s.dir, st.LastError)
	}
	if !st.LastScan.IsZero() && s.clk.Now().Sub(st.LastOK) > 3*s.every+time.Minute {
		return fmt.Errorf("spool %s: no complete scan since %s", s.dir, st.LastOK.UTC().Format(time.RFC3339))
	}
	return nil
}

// Status returns the spool's counters and last scan.
func (s *Spool) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Spool) count(f func(*Status)) {
	s.mu.Lock()
	f(&s.state)
	s.mu.Unlock()
}

// listDrops lists the regular files of a folder that are drops: NAME.json,
// or NAME.xml in outbox/. Everything else (attachment files, NAME.json.tmp,
// hidden files, sub-folders) is left alone.
func listDrops(dir, kind string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && isDrop(e.Name(), kind) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func isDrop(name, kind string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	return len(name) > len(ext) && (ext == ".json" || ext == ".xml" && kind == Outbox)
}

// stable returns the drops in kind/ whose size and modification time are
// what the previous scan saw, recording what this scan sees in seen.
func (s *Spool) stable(kind string, seen map[string]fileSig) ([]string, error) {
	dir := filepath.Join(s.dir, kind)
	names, err := listDrops(dir, kind)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			continue // gone meanwhile
		}
		key := kind + "/" + name
		sig := sigOf(st)
		seen[key] = sig
		if prev, ok := s.seen[key]; ok && prev == sig {
			out = append(out, name)
		}
	}
	return out, nil
}

// claim moves a drop into work/ — atomic, so a drop is taken once.
func (s *Spool) claim(kind, name string) (bool, error) {
	dst := filepath.Join(s.dir, Work, kind, name)
	if exists(dst) || kind == Outbox && exists(s.keyFile(name)) {
		// A drop of the same name is still being worked on; this one waits.
		return false, nil
	}
	if err := os.Rename(filepath.Join(s.dir, kind, name), dst); err != nil {
		if isNotExist(err) {
			return false, nil
		}
		return false, fmt.Errorf("spool: claim %s/%s: %w", kind, name, err)
	}
	return true, nil
}

// process handles one claimed drop. A drop the AIS must fix moves to
// failed/; any other failure leaves it claimed for the next scan.
func (s *Spool) process(ctx context.Context, kind, name string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("drop made seosgw panic; moving it to failed", "drop", kind+"/"+name, "panic", p)
			err = s.fail(kind, name, &ais.Error{Code: "internal", Msg: "seosgw could not read this file (an internal error; see its log)"})
		}
	}()
	if kind == Receipts {
		err = s.applyReceipt(ctx, name)
	} else {
		err = s.send(ctx, name)
	}
	var e *ais.Error
	if errors.As(err, &e) {
		if kind == Outbox && (e.Code == "recipient_unknown" || e.Code == "recipient_not_exchanging") && s.RegisterFresh != nil {
			if ferr := s.RegisterFresh(ctx); ferr != nil {
				s.hold(ctx, kind, name, e, ferr)
				return nil
			}
		}
		return s.fail(kind, name, e)
	}
	return err
}

// hold leaves a claim in work/ for the next scan: the register copy that
// refused its recipient is not fresh, so the refusal may be the copy's.
// Logged once per drop; Status.Waiting counts them.
func (s *Spool) hold(ctx context.Context, kind, name string, e *ais.Error, fresh error) {
	level := slog.LevelWarn
	if s.before[kind+"/"+name] {
		level = slog.LevelDebug
	}
	s.held[kind+"/"+name] = true
	s.log.Log(ctx, level, "spool: recipient refused, but the register copy is not fresh; the drop waits in work/ and is tried again each scan",
		"drop", kind+"/"+name, "code", e.Code, "error", e.Msg, "register", fresh.Error())
}

// keyAndHash returns a drop's idempotency key and the request hash
// (ais.RequestHash) of what it resolved to, reading each file once for
// both. The key is the drop's name, its content and the content of every
// file it names, in order (files are hashed as the base64 the resolved
// request carries, which is the same as hashing their bytes). A drop
// re-read after a crash is queued once, and a drop repeated under the
// same name with the same content and the same files is not sent again;
// the same envelope with a changed file is a new document.
func keyAndHash(name string, envelope []byte, env *ais.Envelope, out *ais.Outgoing) (key, hash string, err error) {
	h := sha256.New()
	size := func(n int64) {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		h.Write(b[:])
	}
	size(int64(len(envelope)))
	h.Write(envelope)
	var lenErr error
	hash, err = ais.RequestHashTee(out, func(i int) io.Writer {
		if env.Attachments[i].File == "" {
			return nil
		}
		n, err := out.Attachments[i].ContentLen()
		lenErr = errors.Join(lenErr, err)
		size(n)
		return h
	})
	if err = errors.Join(err, lenErr); err != nil {
		return "", "", err
	}
	return "spool:" + name + ":" + hex.EncodeToString(h.Sum(nil)[:16]), hash, nil
}

// keyFile keeps a claimed drop's key from just before it is queued until
// the drop has left work/: once its files move to done/, the key can no
// longer be computed from them. Hidden, so it is never taken for a drop.
func (s *Spool) keyFile(name string) string {
	return filepath.Join(s.dir, Work, Outbox, "."+name+".key")
}

func (s *Spool) rememberedKey(name string) (key, hash string, ok bool) {
	b, err := os.ReadFile(s.keyFile(name))
	if err != nil {
		return "", "", false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || !strings.HasPrefix(f[0], "spool:"+name+":") {
		return "", "", false
	}
	if len(f) > 1 {
		hash = f[1] // absent in files an older version wrote
	}
	return f[0], hash, true
}

// rememberKey writes the key file: the key and the hash of the request
// queued under it (ais.RequestHash).
func (s *Spool) rememberKey(name, key, hash string) error {
	if err := writeAtomic(s.keyFile(name), []byte(key+"\n"+hash+"\n")); err != nil {
		return fmt.Errorf("spool: remember the key of %s: %w", name, err)
	}
	return nil
}

// dropStaleKeys removes the keys of drops that are no longer claimed.
func (s *Spool) dropStaleKeys() error {
	dir := filepath.Join(s.dir, Work, Outbox)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var errs []error
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".key") {
			continue
		}
		if drop := strings.TrimSuffix(strings.TrimPrefix(n, "."), ".key"); !exists(filepath.Join(dir, drop)) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !isNotExist(err) {
				errs = append(errs, fmt.Errorf("spool: remove stale key: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// filesSettled reports whether every file env names was seen by the
// previous scan with the size and modification time it has now, recording
// what this scan sees: a file still being written when its drop appeared
// would otherwise be sent cut short. A name that is no regular file inside
// the folder is left to prepare, which refuses it.
func (s *Spool) filesSettled(env *ais.Envelope) bool {
	settled := true
	for _, a := range env.Attachments {
		p := filepath.FromSlash(a.File)
		if a.File == "" || !filepath.IsLocal(p) {
			continue
		}
		st, err := os.Lstat(filepath.Join(s.dir, Outbox, p))
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		sig := sigOf(st)
		s.filesNow[a.File] = sig
		if prev, ok := s.filesSeen[a.File]; !ok || prev != sig {
			settled = false
		}
	}
	return settled
}

// prepare opens a parsed drop's files and returns the request (its
// attachments streamed from the files: Close it when done), the files it
// names, the drop's key and the request hash.
func (s *Spool) prepare(name string, b []byte, env *ais.Envelope) (out *ais.Outgoing, files []string, key, hash string, err error) {
	open, closeRoot, err := ais.OpenIn(filepath.Join(s.dir, Outbox))
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("spool: %w", err)
	}
	out, files, err = env.ResolveFiles(open)
	closeRoot() // the files opened stay open
	if err != nil {
		return nil, nil, "", "", err
	}
	if key, hash, err = keyAndHash(name, b, env, out); err != nil {
		out.Close()
		return nil, nil, "", "", err
	}
	return out, files, key, hash, nil
}

func (s *Spool) send(ctx context.Context, name string) error {
	path := filepath.Join(s.dir, Work, Outbox, name)
	b, err := ais.ReadFile(path, ais.MaxRequestBytes)
	if errors.Is(err, ais.ErrTooLarge) {
		return &ais.Error{Code: "too_large", Msg: fmt.Sprintf("larger than %d MiB", ais.MaxRequestBytes>>20)}
	}
	if errors.Is(err, ais.ErrNotRegular) {
		return &ais.Error{Code: "invalid_request", Msg: "not a regular file (a FIFO, device or folder); write the document as a file"}
	}
	if err != nil {
		return fmt.Errorf("spool: read %s: %w", path, err)
	}
	env, perr := s.parse(name, b)
	if k, h, ok := s.rememberedKey(name); ok {
		// Claimed and about to be queued before a crash: if it was queued,
		// only finish the move (its files may be in done/ already).
		if id, guid, ok, err := s.svc.QueuedByKey(ctx, k, h); err != nil {
			return err
		} else if ok {
			var files []string
			if perr == nil {
				for _, a := range env.Attachments {
					if a.File != "" {
						files = append(files, a.File)
					}
				}
			}
			return s.finish(name, id, guid, files, false)
		}
	}
	if perr != nil {
		return perr
	}
	if !s.filesSettled(env) {
		// Written in place and still growing, or just written: the drop
		// waits in work/ for the next scan, as a drop itself would.
		s.held[Outbox+"/"+name] = true
		s.log.Debug("spool: the drop's files are new or still changing; it waits a scan", "drop", name)
		return nil
	}
	id, guid, files, created, err := s.queue(ctx, name, b, env)
	if err != nil {
		return err
	}
	return s.finish(name, id, guid, files, created)
}

// queue reads the drop's files as streams — once for its key and the
// request hash together, once into the file store — and queues it; the
// files are closed before they move.
func (s *Spool) queue(ctx context.Context, name string, b []byte, env *ais.Envelope) (id int64, guid string, files []string, created bool, err error) {
	out, files, k, hash, err := s.prepare(name, b, env)
	if err != nil {
		return 0, "", nil, false, err
	}
	defer out.Close()
	if err := s.rememberKey(name, k, hash); err != nil {
		return 0, "", nil, false, err
	}
	// Send looks the key up first: the same drop with the same files
	// again, or one queued before a crash, gets its first id back
	// (created=false) and is only moved on. The files are read once more,
	// into the file store.
	id, guid, created, err = s.svc.SendHashed(ctx, out, k, hash)
	return id, guid, files, created, err
}

func (s *Spool) parse(name string, b []byte) (*ais.Envelope, error) {
	if strings.EqualFold(filepath.Ext(name), ".xml") {
		if s.mapping == nil {
			return nil, &ais.Error{Code: "invalid_request", Msg: "a legacy XML document, but no mapping is configured (ais.spool.mapping); drop a JSON envelope instead"}
		}
		return s.mapping.Translate(b)
	}
	return ais.ParseEnvelope(b)
}

// finish moves a queued drop and the files it named to done/, under the
// outbox id (done/ID_NAME, its files in done/ID_NAME.files/).
func (s *Spool) finish(name string, id int64, guid string, files []string, created bool) error {
	// Not checking NAME.files: after a crash it may hold files this drop
	// already moved.
	doneName := freeName(filepath.Join(s.dir, Done), fmt.Sprintf("%d_%s", id, name), "")
	for _, f := range files {
		src := filepath.Join(s.dir, Outbox, filepath.FromSlash(f))
		if !filepath.IsLocal(filepath.FromSlash(f)) || !exists(src) {
			continue // moved before a crash, or never there
		}
		dst := filepath.Join(s.dir, Done, doneName+".files", filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), dirMode); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("spool: move %s to done: %w", f, err)
		}
	}
	if err := os.Rename(filepath.Join(s.dir, Work, Outbox, name), filepath.Join(s.dir, Done, doneName)); err != nil {
		return fmt.Errorf("spool: move %s to done: %w", name, err)
	}
	if err := s.forgetKey(name); err != nil {
		return err
	}
	if created {
		s.count(func(st *Status) { st.Queued++ })
		s.log.Info("document queued", "drop", name, "id", id, "document_guid", guid)
	} else {
		s.log.Info("drop was queued before; not sent again", "drop", name, "id", id, "document_guid", guid)
	}
	return nil
}

// fail moves a claimed drop to failed/ beside NAME.error, which is written
// first so the AIS never sees the drop there without its reason.
func (s *Spool) fail(kind, name string, e *ais.Error) error {
	dir := filepath.Join(s.dir, Failed)
	if kind == Receipts {
		dir = filepath.Join(dir, Receipts)
		e.Field = receiptField(e.Field)
	}
	target := freeName(dir, name, ".error")
	var b strings.Builder
	fmt.Fprintf(&b, "file: %s\nat: %s\ncode: %s\n", name, s.clk.Now().UTC().Format(time.RFC3339), e.Code)
	if e.Field != "" {
		fmt.Fprintf(&b, "field: %s\n", e.Field)
	}
	fmt.Fprintf(&b, "error: %s\n", strings.ReplaceAll(e.Msg, "\n", " "))
	if err := writeAtomic(filepath.Join(dir, target+".error"), []byte(b.String())); err != nil {
		return fmt.Errorf("spool: write %s.error: %w", target, err)
	}
	if err := os.Rename(filepath.Join(s.dir, Work, kind, name), filepath.Join(dir, target)); err != nil {
		return fmt.Errorf("spool: move %s to failed: %w", name, err)
	}
	if kind == Outbox {
		if err := s.forgetKey(name); err != nil {
			return err
		}
	}
	s.count(func(st *Status) { st.Failed++ })
	s.log.Warn("drop refused", "drop", kind+"/"+name, "moved_to", filepath.Join(filepath.Base(dir), target), "code", e.Code, "field", e.Field, "error", e.Msg)
	return nil
}

// forgetKey removes a drop's remembered key once the drop left work/; one
// left by a crash here is removed by the next scan.
func (s *Spool) forgetKey(name string) error {
	if err := os.Remove(s.keyFile(name)); err != nil && !isNotExist(err) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func (s *Spool) applyReceipt(ctx context.Context, name string) error {
	path := filepath.Join(s.dir, Work, Receipts, name)
	b, err := ais.ReadFile(path, 1<<20)
	if errors.Is(err, ais.ErrTooLarge) {
		return &ais.Error{Code: "too_large", Msg: "a receipt is a small JSON object; this file is over 1 MiB"}
	}
	if errors.Is(err, ais.ErrNotRegular) {
		return &ais.Error{Code: "invalid_request", Msg: "not a regular file (a FIFO, device or folder); write the receipt as a file"}
	}
	if err != nil {
		return fmt.Errorf("spool: read %s: %w", path, err)
	}
	r, err := ParseReceipt(b)
	if err != nil {
		return err
	}
	id := r.InboxID
	if id == 0 {
		if id, err = s.svc.FindReceived(ctx, r.SenderGUID, r.DocumentGUID); err != nil {
			return err
		}
	}
	switch r.Action {
	case "register":
		err = s.svc.Register(ctx, id, r.registration())
	case "reject":
		err = s.svc.Reject(ctx, id, r.Reason)
	case "close":
		err = s.svc.Close(ctx, id)
	case "stop":
		err = s.svc.Stop(ctx, id)
	}
	repeat := false
	if e := (*ais.Error)(nil); errors.As(err, &e) && e.Code == "conflict" {
		// Applied before a crash, or sent twice: the document is already
		// where the receipt would put it.
		if it, ierr := s.svc.InboxItem(ctx, id); ierr == nil && it.State == actions[r.Action] {
			err, repeat = nil, true
		}
	}
	if err != nil {
		return err
	}
	used, err := moveFree(path, filepath.Join(s.dir, Done, Receipts), name)
	if err != nil {
		return fmt.Errorf("spool: move receipt %s to done: %w", name, err)
	}
	s.count(func(st *Status) { st.Receipts++ })
	s.log.Info("receipt applied", "receipt", name, "inbox_id", id, "action", r.Action, "repeat", repeat, "moved_to", used)
	return nil
}
