package register

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/store"
)

// Cache is seosgw's copy of the register. It lives in the gateway database
// file (tables register_entities and register_sync, migrations in
// gateway/store), so one file holds everything a node needs and a backup
// of it is consistent. It is safe for concurrent use.
type Cache struct {
	db    *sql.DB
	clk   clock.Clock
	stmts *store.Stmts // every request looks participants up: statements parsed once
	memo  *memo        // shared by every Cache on the same db
}

// memo keeps the lookups every request makes (its sender, ourselves, the
// TLS client's serial) for a moment: the copy changes only when a sync
// applies (which clears the memo of every Cache on that db at once) or,
// rarely, when another process applies to the same file (seen within
// memoFor).
type memo struct {
	gen    atomic.Uint64 // counts applied syncs: what is kept is of one generation
	mu     sync.Mutex
	filled time.Time
	of     uint64
	guid   map[string]*Entity
	serial map[string][]*Entity
}

// memos holds one memo per database (*sql.DB → *memo).
var memos sync.Map

const (
	memoFor  = 2 * time.Second
	memoSize = 1024
)

// fresh empties the memo when a sync applied or it is old; caller holds mu.
func (m *memo) fresh(gen uint64) {
	if m.guid == nil || m.of != gen || time.Since(m.filled) > memoFor || len(m.guid)+len(m.serial) > memoSize {
		m.guid, m.serial, m.of, m.filled = map[string]*Entity{}, map[string][]*Entity{}, gen, time.Now()
	}
}

// NewCache uses db, a gateway database from store.OpenGateway.
func NewCache(db *sql.DB, clk clock.Clock) *Cache {
	if clk == nil {
		clk = clock.System
	}
	m, _ := memos.LoadOrStore(db, new(memo))
	return &Cache{db: db, clk: clk, stmts: store.NewStmts(db), memo: m.(*memo)}
}

// ListRemoved is the List filter for entities a full listing no longer has.
const ListRemoved Status = "removed"

// entityColumns read an Entity; CertificateSN is the register's text.
const entityColumns = `guid, eik, parent_guid, name, phone, fax, email, certificate_sn_text, status, last_change, removed, services_json`

var bareGUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// guidKey is the cache key of a GUID: lower case with braces, so that any
// spelling of the same GUID finds the same row.
func guidKey(guid string) string {
	g := strings.TrimSpace(guid)
	if bareGUID.MatchString(g) {
		g = "{" + g + "}"
	}
	return strings.ToLower(g)
}

// ByGUID returns the entity with guid (any case, braces optional), or nil,
// nil when the register does not know it. Removed entities are returned
// with Removed set.
func (c *Cache) ByGUID(ctx context.Context, guid string) (*Entity, error) {
	k := guidKey(guid)
	gen := c.memo.gen.Load()
	c.memo.mu.Lock()
	c.memo.fresh(gen)
	e, ok := c.memo.guid[k]
	c.memo.mu.Unlock()
	if ok {
		return copyEntity(e), nil
	}
	es, err := c.query(ctx, `WHERE guid_key = ?`, k)
	if err != nil {
		return nil, err
	}
	if len(es) > 0 {
		e = es[0]
	}
	c.memo.mu.Lock()
	if c.memo.of == gen {
		c.memo.guid[k] = e
	}
	c.memo.mu.Unlock()
	return copyEntity(e), nil
}

// copyEntity is a copy a caller may change without changing the memo.
func copyEntity(e *Entity) *Entity {
	if e == nil {
		return nil
	}
	c := *e
	c.Services = append([]Service(nil), e.Services...)
	return &c
}

// ByEIK returns the entities with an EIK/BULSTAT; several bodies may share one.
func (c *Cache) ByEIK(ctx context.Context, eik string) ([]*Entity, error) {
	return c.query(ctx, `WHERE eik = ? ORDER BY removed, name, guid_key`, strings.TrimSpace(eik))
}

// BySerial returns the entities whose transport certificate has serial,
// written in any notation (see pki.NormalizeSerial).
func (c *Cache) BySerial(ctx context.Context, serial string) ([]*Entity, error) {
	if strings.TrimSpace(serial) == "" {
		return nil, nil
	}
	k := pki.NormalizeSerial(serial)
	gen := c.memo.gen.Load()
	c.memo.mu.Lock()
	c.memo.fresh(gen)
	es, ok := c.memo.serial[k]
	c.memo.mu.Unlock()
	if !ok {
		var err error
		if es, err = c.query(ctx, `WHERE certificate_sn = ? ORDER BY removed, name, guid_key`, k); err != nil {
			return nil, err
		}
		c.memo.mu.Lock()
		if c.memo.of == gen {
			c.memo.serial[k] = es
		}
		c.memo.mu.Unlock()
	}
	out := make([]*Entity, len(es))
	for i, e := range es {
		out[i] = copyEntity(e)
	}
	return out, nil
}

// Lookup finds participants by what an operator types: a GUID (braces
// optional, any case) finds that one; anything else is tried as an
// EIK/BULSTAT and as a certificate serial (an EIK is valid hex too), and
// the matches are merged, each entity once.
func (c *Cache) Lookup(ctx context.Context, key string) ([]*Entity, error) {
	k := strings.TrimSpace(key)
	if k == "" {
		return nil, nil
	}
	if isGUID(k) {
		e, err := c.ByGUID(ctx, k)
		if e == nil || err != nil {
			return nil, err
		}
		return []*Entity{e}, nil
	}
	byEIK, err := c.ByEIK(ctx, k)
	if err != nil {
		return nil, err
	}
	bySerial, err := c.BySerial(ctx, k)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []*Entity
	for _, e := range append(byEIK, bySerial...) {
		if g := guidKey(e.GUID); !seen[g] {
			seen[g] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// isGUID accepts a GUID with or without braces.
func isGUID(s string) bool {
	if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	return bareGUID.MatchString(s)
}

// List returns the entities with status, or all when status is "" (removed
// ones included and marked). ListRemoved lists the removed ones; any other
// status lists entities still in the register.
func (c *Cache) List(ctx context.Context, status Status) ([]*Entity, error) {
	switch status {
	case "":
		return c.query(ctx, `ORDER BY removed, name, guid_key`)
	case ListRemoved:
		return c.query(ctx, `WHERE removed = 1 ORDER BY name, guid_key`)
	}
	return c.query(ctx, `WHERE removed = 0 AND status = ? ORDER BY name, guid_key`, string(status))
}

// Counts returns how many entities have each status; removed entities
// count under ListRemoved only.
func (c *Cache) Counts(ctx context.Context) (map[Status]int, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT CASE WHEN removed = 1 THEN 'removed' ELSE status END, count(*) FROM register_entities GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("register cache: count: %w", err)
	}
	defer rows.Close()
	out := map[Status]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("register cache: count: %w", err)
		}
		out[Status(s)] = n
	}
	return out, rows.Err()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (c *Cache) query(ctx context.Context, where string, args ...any) ([]*Entity, error) {
	return queryEntities(ctx, c.stmts.On(c.db), where, args...)
}

func queryEntities(ctx context.Context, q querier, where string, args ...any) ([]*Entity, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+entityColumns+` FROM register_entities `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("register cache: %w", err)
	}
	defer rows.Close()
	var out []*Entity
	for rows.Next() {
		var e Entity
		var lastChange, services string
		var status string
		if err := rows.Scan(&e.GUID, &e.Identifier, &e.ParentGUID, &e.AdministrativeBodyName,
			&e.Contact.Phone, &e.Contact.Fax, &e.Contact.EmailAddress, &e.CertificateSN,
			&status, &lastChange, &e.Removed, &services); err != nil {
			return nil, fmt.Errorf("register cache: read entity: %w", err)
		}
		e.Status = Status(status)
		if e.LastChange, err = parseStamp(lastChange); err != nil {
			return nil, fmt.Errorf("register cache: entity %s: last_change: %w", e.GUID, err)
		}
		if err := json.Unmarshal([]byte(services), &e.Services); err != nil {
			return nil, fmt.Errorf("register cache: entity %s: services: %w", e.GUID, err)
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("register cache: %w", err)
	}
	return out, nil
}

// Stamps are stored as RFC 3339 with nanoseconds; "" is the zero time.
func formatStamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func parseStamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// LastCertificateChange is the latest change of a participant's transport
// certificate serial the copy saw (ok false: none since the copy was made).
func (c *Cache) LastCertificateChange(ctx context.Context, guid string) (ch CertificateChange, ok bool, err error) {
	var seen string
	err = c.db.QueryRowContext(ctx, `SELECT old_serial, new_serial, seen_at FROM register_certificate_changes WHERE guid_key = ?
		ORDER BY seen_at DESC, id DESC LIMIT 1`, guidKey(guid)).Scan(&ch.From, &ch.To, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return ch, false, nil
	}
	if err != nil {
		return ch, false, fmt.Errorf("register cache: certificate changes of %s: %w", guid, err)
	}
	if ch.SeenAt, err = parseStamp(seen); err != nil {
		return ch, false, fmt.Errorf("register cache: certificate changes of %s: %w", guid, err)
	}
	ch.GUID = guid
	return ch, true, nil
}
