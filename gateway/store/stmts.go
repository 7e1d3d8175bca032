package store

import (
	"context"
	"database/sql"
	"sync"
)

// Stmts prepares each query text once and reuses it: SQLite spends about
// as long parsing a statement as running a simple one, and the endpoint
// runs the same dozen statements for every request. Queries built at run
// time past maxStmts distinct texts simply run unprepared.
type Stmts struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

const maxStmts = 256

// NewStmts caches statements of db.
func NewStmts(db *sql.DB) *Stmts {
	return &Stmts{db: db, m: map[string]*sql.Stmt{}}
}

// On is a Querier running queries through prepared statements on q: the
// database itself, or one of its transactions.
func (s *Stmts) On(q Querier) Querier {
	if tx, ok := q.(*sql.Tx); ok {
		return &stmtQuerier{s: s, q: q, tx: tx}
	}
	return &stmtQuerier{s: s, q: q}
}

// Close closes the prepared statements.
func (s *Stmts) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.m {
		st.Close()
		delete(s.m, k)
	}
}

func (s *Stmts) get(ctx context.Context, query string) *sql.Stmt {
	s.mu.RLock()
	st := s.m[query]
	s.mu.RUnlock()
	if st != nil {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.m[query]; st != nil {
		return st
	}
	if len(s.m) >= maxStmts {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the query itself reports the problem
	}
	s.m[query] = st
	return st
}

type stmtQuerier struct {
	s  *Stmts
	q  Querier
	tx *sql.Tx
}

func (q *stmtQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := q.s.get(ctx, query)
	if st != nil && q.tx != nil {
		// The transaction's connection reuses what was prepared on it.
		st = q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q *stmtQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.q.ExecContext(ctx, query, args...)
}

func (q *stmtQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.q.QueryContext(ctx, query, args...)
}

func (q *stmtQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.q.QueryRowContext(ctx, query, args...)
}
