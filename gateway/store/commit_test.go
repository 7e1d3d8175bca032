package store

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Concurrent work shares transactions; a failing part is rolled back
// alone; nobody hears back before the commit.
func TestCommitterGroupsWork(t *testing.T) {
	ctx := context.Background()
	db, err := OpenGateway(ctx, filepath.Join(t.TempDir(), "gw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (v INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	c := NewCommitter(db, 64)
	defer c.Close()
	// The first caller's work holds the transaction until the others
	// have queued: they then go into the next one together.
	release, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.Do(ctx, func(q Querier) error {
			close(started)
			<-release
			_, err := q.ExecContext(ctx, `INSERT INTO t (v) VALUES (0)`)
			return err
		})
	}()
	<-started
	const n = 20
	errs := make([]error, n+1)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Do(ctx, func(q Querier) error {
				if _, err := q.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, i); err != nil {
					return err
				}
				if i == 7 {
					return errors.New("part 7 fails after writing")
				}
				return nil
			})
			if errs[i] == nil {
				var one int
				if err := db.QueryRow(`SELECT 1 FROM t WHERE v = ?`, i).Scan(&one); err != nil {
					errs[i] = errors.New("answered before its work was committed")
				}
			}
		}()
	}
	for len(c.jobs) < n {
		runtime.Gosched() // the others queue behind the held transaction
	}
	close(release)
	wg.Wait()
	for i := 1; i <= n; i++ {
		if (errs[i] != nil) != (i == 7) {
			t.Errorf("part %d: %v", i, errs[i])
		}
	}
	var count int
	db.QueryRow(`SELECT count(*) FROM t`).Scan(&count)
	if count != n {
		t.Errorf("%d rows, want %d (part 7 rolled back alone)", count, n)
	}
	if batches, jobs := c.Stats(); jobs != n+1 || batches != 2 {
		t.Errorf("%d parts in %d transactions, want %d in 2", jobs, batches, n+1)
	}
	c.Close()
	if err := c.Do(ctx, func(Querier) error { return nil }); !errors.Is(err, ErrCommitterClosed) {
		t.Errorf("after Close: %v", err)
	}
}
