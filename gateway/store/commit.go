package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Querier is what work inside a transaction uses: a *sql.Tx, or a
// *sql.DB outside one.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Committer runs the work of concurrent callers in shared transactions
// (group commit): while one transaction commits, work arriving queues; the
// next transaction takes all of it, each caller's part under a savepoint
// of its own, and one commit — one fsync — makes all of it durable. No
// caller hears back before its work is committed, and a caller whose work
// fails has only its own part rolled back.
type Committer struct {
	db    *sql.DB
	stmts *Stmts
	max   int
	jobs  chan *job
	done  chan struct{}
	// closing guards jobs: no send after Close closed it.
	closing sync.RWMutex
	closed  bool
	mu      sync.Mutex // guards the counts
	batches int64
	jobsRun int64
}

type job struct {
	ctx context.Context
	// fn may run twice (see commit): it must only do database work and
	// set what it reports afresh each time.
	fn   func(Querier) error
	err  error
	done chan struct{}
}

// NewCommitter starts a committer on db taking up to maxBatch callers'
// work into one transaction.
func NewCommitter(db *sql.DB, maxBatch int) *Committer {
	c := &Committer{db: db, stmts: NewStmts(db), max: max(maxBatch, 1), jobs: make(chan *job, 4*max(maxBatch, 1)), done: make(chan struct{})}
	go c.run()
	return c
}

// ErrCommitterClosed is work offered after Close.
var ErrCommitterClosed = errors.New("store: the committer is closed")

// Do runs fn inside a shared transaction and returns once that
// transaction committed (nil) or fn's part of it was rolled back (its
// error). fn must do only database work: others wait for it.
func (c *Committer) Do(ctx context.Context, fn func(Querier) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	c.closing.RLock()
	if c.closed {
		c.closing.RUnlock()
		return ErrCommitterClosed
	}
	c.jobs <- j
	c.closing.RUnlock()
	<-j.done
	return j.err
}

// Close stops the committer once the work queued is done.
func (c *Committer) Close() {
	c.closing.Lock()
	if !c.closed {
		c.closed = true
		close(c.jobs)
	}
	c.closing.Unlock()
	<-c.done
}

// Stats says how many transactions carried how many callers' work.
func (c *Committer) Stats() (batches, jobs int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batches, c.jobsRun
}

func (c *Committer) run() {
	defer close(c.done)
	batch := make([]*job, 0, c.max)
	for {
		j, ok := <-c.jobs
		if !ok {
			return
		}
		batch = append(batch[:0], j)
	more:
		for len(batch) < c.max {
			select {
			case j, ok := <-c.jobs:
				if !ok {
					break more
				}
				batch = append(batch, j)
			default:
				break more
			}
		}
		c.commit(batch)
		c.mu.Lock()
		c.batches++
		c.jobsRun += int64(len(batch))
		c.mu.Unlock()
		for _, j := range batch {
			close(j.done)
		}
	}
}

// commit runs a batch in one transaction. The work of a batch nearly
// always succeeds, so it first runs as it is; should one part fail, the
// transaction is rolled back and the batch runs again with each part
// under a savepoint of its own, so that only the failed part is lost.
func (c *Committer) commit(batch []*job) {
	if c.commitTogether(batch) {
		return
	}
	c.commitApart(batch)
}

// commitTogether runs the batch without savepoints; false when a part
// failed and nothing was kept.
func (c *Committer) commitTogether(batch []*job) bool {
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range batch {
			j.err = fmt.Errorf("store: begin: %w", err)
		}
		return true
	}
	q := c.stmts.On(tx)
	for _, j := range batch {
		if j.ctx.Err() != nil || runJob(j, q) != nil {
			tx.Rollback()
			return false
		}
	}
	if err := tx.Commit(); err != nil {
		for _, j := range batch {
			j.err = fmt.Errorf("store: commit: %w", err)
		}
	}
	return true
}

func (c *Committer) commitApart(batch []*job) {
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range batch {
			j.err = fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	q := c.stmts.On(tx)
	ok := 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err // its caller is gone; nothing of it is stored
			continue
		}
		if _, err := q.ExecContext(ctx, "SAVEPOINT job"); err != nil {
			j.err = err
			continue
		}
		j.err = runJob(j, q)
		if j.err != nil {
			if _, err := q.ExecContext(ctx, "ROLLBACK TO job"); err != nil {
				// The transaction can no longer be trusted: nobody's work is kept.
				tx.Rollback()
				for _, k := range batch {
					if k.err == nil {
						k.err = fmt.Errorf("store: roll back a failed part: %w", err)
					}
				}
				return
			}
		}
		if _, err := q.ExecContext(ctx, "RELEASE job"); err != nil && j.err == nil {
			j.err = err
		}
		if j.err == nil {
			ok++
		}
	}
	if ok == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		for _, j := range batch {
			if j.err == nil {
				j.err = fmt.Errorf("store: commit: %w", err)
			}
		}
	}
}

func runJob(j *job, q Querier) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: panic in a transaction: %v", r)
		}
	}()
	return j.fn(q)
}
