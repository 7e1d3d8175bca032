package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seosgw/seosgw/gateway/backup"
	"github.com/seosgw/seosgw/gateway/buildinfo"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/store"
)

const backupHelp = `DEST is a new folder; it appears whole or not at all and holds seosgw.db (a consistent
snapshot: VACUUM INTO in one read transaction, so the node keeps serving), the database's
files folder when there is one, and backup.json. The copy is verified (PRAGMA integrity_check)
and what it holds is printed. Run it as the node's user or as root.`

const restoreHelp = `SRC is a folder seosgw backup made (or a database file). The node must be stopped:
restore refuses while a seosgw serve holds the database. The backup is verified first and
must not be from a newer seosgw; the database it replaces is kept beside it, renamed
*.before-restore-TIME. An older backup is brought up to date when serve next starts.`

func runBackup(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	arg, code, ok := io.parseOne(fs, args, "the DEST folder")
	if !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(io, "%v", err)
	}
	dest, err := filepath.Abs(arg)
	if err != nil {
		return fail(io, "backup: %v", err)
	}
	c, err := backup.Create(ctx, cfg.Path(cfg.Database.Path), dest, backup.Options{Now: clock.System.Now(), Seosgw: buildinfo.Get().Version})
	if err != nil {
		return fail(io, "%v", err)
	}
	fmt.Fprintf(io.out, "backup:          %s\n", dest)
	if err := c.Write(io.out); err != nil {
		return fail(io, "backup: %v", err)
	}
	return 0
}

func runRestore(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	arg, code, ok := io.parseOne(fs, args, "the SRC backup folder")
	if !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(io, "%v", err)
	}
	db := cfg.Path(cfg.Database.Path)
	r, err := backup.Restore(ctx, arg, db, clock.System.Now())
	if err != nil {
		return fail(io, "%v", err)
	}
	fmt.Fprintf(io.out, "restored:        %s\nfrom:            %s\n", db, arg)
	if err := r.Contents.Write(io.out); err != nil {
		return fail(io, "restore: %v", err)
	}
	if r.Aside != "" {
		fmt.Fprintf(io.out, "replaced database kept as %s (delete it once the node works)\n", r.Aside)
	}
	if r.AsideFiles != "" {
		fmt.Fprintf(io.out, "replaced files folder kept as %s\n", r.AsideFiles)
	}
	if r.Migrate {
		fmt.Fprintf(io.out, "the backup's schema is older than this seosgw's (%d): serve brings it up to date at start\n", store.GatewayLatest())
	}
	fmt.Fprintln(io.out, "start the node: systemctl start seosgw")
	return 0
}

func migrateVerbs() map[string]command {
	return map[string]command{
		"status": {args: "[--config FILE]", summary: "the schema version of the database, and the migrations this seosgw would apply", run: migrateStatus,
			help: "Only reads: safe while the node runs. Exit 0: up to date or migrations pending; 1: the database is from a newer seosgw."},
		"up": {args: "[--config FILE]", summary: "apply the pending migrations now (serve does at start)", run: migrateUp,
			help: "The node must be stopped. Take a backup first (seosgw backup)."},
	}
}

func migrateStatus(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(io, "%v", err)
	}
	db, err := store.OpenReadOnly(ctx, cfg.Path(cfg.Database.Path))
	if err != nil {
		return fail(io, "%v", err)
	}
	defer db.Close()
	st, err := store.GatewayStatus(ctx, db)
	if err != nil {
		return fail(io, "%v", err)
	}
	fmt.Fprintf(io.out, "database: %s\n%s", cfg.Path(cfg.Database.Path), st)
	if st.Newer() {
		return 1
	}
	return 0
}

func migrateUp(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(io, "%v", err)
	}
	path := cfg.Path(cfg.Database.Path)
	if _, err := os.Stat(path); err != nil {
		return fail(io, "migrate up: %v (serve creates the database at its first start)", err)
	}
	lock, err := store.Acquire(path)
	if err != nil {
		return fail(io, "migrate up: %v", err)
	}
	defer lock.Release()
	before, err := schemaVersion(ctx, path)
	if err != nil {
		return fail(io, "migrate up: %v", err)
	}
	db, err := store.OpenGateway(ctx, path)
	if err != nil {
		var newer *store.NewerSchemaError
		if errors.As(err, &newer) {
			return fail(io, "%v", err)
		}
		return fail(io, "migrate up: %v", err)
	}
	st, err := store.GatewayStatus(ctx, db)
	db.Close()
	if err != nil {
		return fail(io, "migrate up: %v", err)
	}
	// Run as root: the node's user must still own its database.
	if err := store.MatchOwner(path); err != nil {
		return fail(io, "migrate up: %v", err)
	}
	if st.Current == before {
		fmt.Fprintf(io.out, "database %s: schema version %d, up to date\n", path, st.Current)
	} else {
		fmt.Fprintf(io.out, "database %s: schema version %d → %d\n", path, before, st.Current)
	}
	return 0
}

func schemaVersion(ctx context.Context, path string) (uint, error) {
	db, err := store.OpenReadOnly(ctx, path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	v, _, err := store.Version(ctx, db)
	return v, err
}
