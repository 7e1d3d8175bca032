package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/audit"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/ops"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/register"
)

// badFilter answers a list page whose query does not fit.
func (c *Console) badFilter(w http.ResponseWriter, r *http.Request, err error) {
	c.problem(w, r, sessionOf(r), http.StatusBadRequest, "The filter is not valid: "+err.Error())
}

// pathID reads the {id} of a page's path.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// --- overview

type overviewData struct {
	Ready    bool
	Checks   []ops.Result
	Network  *netcheck.Report
	Register *registerView
	Cert     *expiry
	CRL      *expiry
	Today    []msglog.Count
	In, Out  int
	Refused  int
	Outbox   outbox.Counts
	Backlog  inbox.Backlog
	DayStart time.Time
}

type registerView struct {
	State register.SyncState
	Age   time.Duration
	Stale bool
	Err   string
}

type expiry struct {
	At   time.Time
	Days int
	Warn bool
}

func daysLeft(at, now time.Time) *expiry {
	d := int(at.Sub(now).Hours() / 24)
	return &expiry{At: at, Days: d, Warn: d < 30}
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := c.opt.Clock.Now()
	d := overviewData{Ready: true}
	if c.opt.Ready != nil {
		d.Ready, d.Checks = c.opt.Ready(ctx)
	}
	if c.opt.Network != nil {
		if rep, ok := c.opt.Network(); ok {
			d.Network = &rep
		}
	}
	if c.opt.RegisterState != nil {
		st, err := c.opt.RegisterState(ctx)
		rv := &registerView{State: st}
		if err != nil {
			rv.Err = err.Error()
		} else if !st.LastSuccess.IsZero() {
			rv.Age = now.Sub(st.LastSuccess).Round(time.Second)
			rv.Stale = c.opt.StaleAfter > 0 && rv.Age > c.opt.StaleAfter
		} else {
			rv.Stale = true
		}
		d.Register = rv
	}
	if c.opt.Certificate != nil {
		if cert := c.opt.Certificate(); cert != nil {
			d.Cert = daysLeft(cert.NotAfter, now)
		}
	}
	if c.opt.CRLNextUpdate != nil {
		if at, ok := c.opt.CRLNextUpdate(); ok {
			d.CRL = daysLeft(at, now)
			d.CRL.Warn = d.CRL.Days < 2
		}
	}
	local := now.In(clock.Sofia)
	d.DayStart = time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, clock.Sofia)
	var err error
	l := &msglog.Log{DB: c.opt.DB, Files: c.opt.Files}
	if d.Today, err = l.Counts(ctx, d.DayStart); err != nil {
		c.internal(w, r, err)
		return
	}
	for _, n := range d.Today {
		if n.Direction == msglog.In {
			d.In += n.N
		} else {
			d.Out += n.N
		}
		if n.Outcome == "refused" || n.Outcome == "failed" || n.Outcome == "error" {
			d.Refused += n.N
		}
	}
	if d.Outbox, err = outbox.Count(ctx, c.opt.DB); err != nil {
		c.internal(w, r, err)
		return
	}
	if d.Backlog, err = inbox.CountBacklog(ctx, c.opt.DB); err != nil {
		c.internal(w, r, err)
		return
	}
	c.render(w, r, sessionOf(r), http.StatusOK, "overview", "Overview", d)
}

// --- outbox

type outboxListData struct {
	Filter filter
	States []string
	Items  []ais.DocumentSummary
	Next   string // query of the next page, "" on the last
}

func (c *Console) outboxList(w http.ResponseWriter, r *http.Request) {
	f, err := pageFilter(r, filterRules{states: ais.PublicStates, pageSize: c.opt.PageSize})
	if err != nil {
		c.badFilter(w, r, err)
		return
	}
	list, err := c.opt.Service.DocumentPage(r.Context(), f.State, f.Peer, f.Before, f.Limit+1)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	d := outboxListData{Filter: f, States: ais.PublicStates}
	d.Items, d.Next = onePage(f, list.Items, func(it ais.DocumentSummary) int64 { return it.ID })
	c.render(w, r, sessionOf(r), http.StatusOK, "outbox", "Outbox", d)
}

type outboxItemData struct {
	Status    *ais.Status
	CanRetry  bool
	CanCancel bool
	Message   string // what the last action did
}

func (c *Console) outboxItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, "No such document.")
		return
	}
	c.showOutboxItem(w, r, id, http.StatusOK, r.URL.Query().Get("done"))
}

// done messages after an action (the redirect carries only the key).
var doneMessages = map[string]string{"retry": "Queued again: the deliverer takes it now.", "cancel": "Cancelled: it will not be sent."}

func (c *Console) showOutboxItem(w http.ResponseWriter, r *http.Request, id int64, status int, done string) {
	st, err := c.opt.Service.Document(r.Context(), id)
	var apiErr *ais.Error
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, fmt.Sprintf("No outgoing document %d.", id))
		return
	}
	if err != nil {
		c.internal(w, r, err)
		return
	}
	d := outboxItemData{Status: st, Message: doneMessages[done]}
	switch st.State {
	case "failed", "not_found_at_recipient":
		d.CanRetry, d.CanCancel = true, st.State == "failed"
	case "queued", "sending":
		d.CanRetry, d.CanCancel = true, true
	}
	if st.Email != "" { // by e-mail: the mail queue's states (gateway/mail/mailq decides)
		d.CanRetry, d.CanCancel = st.State == "failed", st.State == "queued" || st.State == "sending" || st.State == "failed"
	}
	c.render(w, r, sessionOf(r), status, "outbox_item", fmt.Sprintf("Document %d", id), d)
}

func (c *Console) outboxRetry(w http.ResponseWriter, r *http.Request) {
	c.outboxAction(w, r, "retry", c.opt.Service.Retry)
}

func (c *Console) outboxCancel(w http.ResponseWriter, r *http.Request) {
	c.outboxAction(w, r, "cancel", c.opt.Service.Cancel)
}

// outboxAction carries out a retry or cancel as the AIS API does (the
// outbox's transition table decides), records it in the audit table and
// the log, and shows the document again.
func (c *Console) outboxAction(w http.ResponseWriter, r *http.Request, what string, act func(context.Context, int64, string) (*ais.Status, error)) {
	ss := sessionOf(r)
	action := "outbox." + what
	id, ok := pathID(r)
	if !ok {
		c.problem(w, r, ss, http.StatusNotFound, "No such document.")
		return
	}
	target := fmt.Sprintf("outbox/%d", id)
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if len(note) > 500 {
		c.metrics.actions.WithLabelValues(action, audit.Refused).Inc()
		c.record(r, ss, action, target, note[:500], audit.Refused, "note longer than 500 characters")
		c.problem(w, r, ss, http.StatusBadRequest, "The note is longer than 500 characters.")
		return
	}
	withWho := fmt.Sprintf("by %s in the console", ss.User)
	if note != "" {
		withWho += ": " + note
	}
	st, err := act(r.Context(), id, withWho)
	var apiErr *ais.Error
	switch {
	case errors.As(err, &apiErr):
		c.metrics.actions.WithLabelValues(action, audit.Refused).Inc()
		c.record(r, ss, action, target, note, audit.Refused, apiErr.Msg)
		status := apiErr.Status
		if status == 0 {
			status = http.StatusConflict
		}
		c.problem(w, r, ss, status, apiErr.Msg)
		return
	case err != nil:
		c.metrics.actions.WithLabelValues(action, audit.Failed).Inc()
		c.record(r, ss, action, target, note, audit.Failed, err.Error())
		c.internal(w, r, err)
		return
	}
	c.metrics.actions.WithLabelValues(action, audit.OK).Inc()
	c.record(r, ss, action, target, note, audit.OK, "now "+st.State)
	http.Redirect(w, r, fmt.Sprintf("/outbox/%d?done=%s", id, what), http.StatusSeeOther)
}

// onePage cuts items, fetched with one more than a page (f.Limit+1), to a
// page, and gives the link to the next one when there is more.
func onePage[T any](f filter, items []T, id func(T) int64) ([]T, string) {
	if len(items) <= f.Limit {
		return items, ""
	}
	items = items[:f.Limit]
	return items, f.encode(id(items[len(items)-1]), 0)
}

// --- inbox

// inboxStates are the states the inbox page filters on.
var inboxStates = []string{string(inbox.Checking), string(inbox.Received), string(inbox.Registered), string(inbox.Rejected), string(inbox.Closed), string(inbox.Stopped)}

type inboxListData struct {
	Filter filter
	States []string
	Items  []inbox.Item
	Next   string
}

func (c *Console) inboxList(w http.ResponseWriter, r *http.Request) {
	f, err := pageFilter(r, filterRules{states: inboxStates, pageSize: c.opt.PageSize})
	if err != nil {
		c.badFilter(w, r, err)
		return
	}
	items, err := inbox.Page(r.Context(), c.opt.DB, inbox.PageFilter{State: inbox.State(f.State), Held: f.Held, Before: f.Before, Limit: f.Limit + 1})
	if err != nil {
		c.internal(w, r, err)
		return
	}
	d := inboxListData{Filter: f, States: inboxStates}
	d.Items, d.Next = onePage(f, items, func(it inbox.Item) int64 { return it.ID })
	c.render(w, r, sessionOf(r), http.StatusOK, "inbox", "Inbox", d)
}

func (c *Console) inboxItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	it, err := inbox.Get(r.Context(), c.opt.DB, id)
	if !ok || errors.Is(err, inbox.ErrNotFound) {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, "No such received document.")
		return
	}
	if err != nil {
		c.internal(w, r, err)
		return
	}
	c.render(w, r, sessionOf(r), http.StatusOK, "inbox_item", fmt.Sprintf("Received document %d", id), it)
}

// --- message log

type logListData struct {
	Filter filter
	Items  []msglog.Entry
	Next   string
}

func (c *Console) logList(w http.ResponseWriter, r *http.Request) {
	f, err := pageFilter(r, filterRules{outcomes: true, pageSize: c.opt.PageSize})
	if err != nil {
		c.badFilter(w, r, err)
		return
	}
	l := &msglog.Log{DB: c.opt.DB, Files: c.opt.Files}
	items, err := l.List(r.Context(), msglog.Filter{Direction: f.Direction, Peer: f.Peer, GUID: f.GUID, Outcome: f.Outcome, Since: f.Since, Until: f.Until,
		Before: f.Before, Limit: f.Limit + 1})
	if err != nil {
		c.internal(w, r, err)
		return
	}
	d := logListData{Filter: f}
	d.Items, d.Next = onePage(f, items, func(e msglog.Entry) int64 { return e.ID })
	c.render(w, r, sessionOf(r), http.StatusOK, "log", "Message log", d)
}

type logItemData struct {
	Entry   *msglog.Entry
	Inbox   *inbox.Item
	Replies *msglog.Entry
}

func (c *Console) logItem(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	l := &msglog.Log{DB: c.opt.DB, Files: c.opt.Files}
	e, ok := c.logEntry(w, r, l, id)
	if !ok {
		return
	}
	d := logItemData{Entry: e}
	if it, err := inbox.ByLog(r.Context(), c.opt.DB, id); err == nil {
		d.Inbox = it
	}
	if rep, err := l.ReplyTo(r.Context(), id); err == nil {
		d.Replies = rep
	}
	c.render(w, r, sessionOf(r), http.StatusOK, "log_item", fmt.Sprintf("Log entry %d", id), d)
}

// logEntry reads entry id, or answers 404 (or 500) and says so.
func (c *Console) logEntry(w http.ResponseWriter, r *http.Request, l *msglog.Log, id int64) (*msglog.Entry, bool) {
	e, err := l.Get(r.Context(), id)
	if errors.Is(err, msglog.ErrNotFound) {
		c.problem(w, r, sessionOf(r), http.StatusNotFound, "No such log entry.")
		return nil, false
	}
	if err != nil {
		c.internal(w, r, err)
		return nil, false
	}
	return e, true
}

// logRaw downloads an entry's exact bytes, read as `seosgw log show --raw`
// reads them (from the row or the file store), never shown inline.
func (c *Console) logRaw(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	l := &msglog.Log{DB: c.opt.DB, Files: c.opt.Files}
	e, ok := c.logEntry(w, r, l, id)
	if !ok {
		return
	}
	// Truncated entries hand out what is kept, as `seosgw log show --raw`
	// does; the entry's page says they are not whole.
	if len(e.Raw) == 0 && e.RawFile == "" {
		c.problem(w, r, sessionOf(r), http.StatusGone, "The bytes of this entry are no longer kept (database.message_log_retention).")
		return
	}
	rc, err := l.OpenRaw(e)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="seosgw-log-%d-%s.xml"`, e.ID, e.Direction))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if e.Size > 0 && e.RawFile == "" {
		h.Set("Content-Length", strconv.Itoa(len(e.Raw)))
	}
	if _, err := io.Copy(w, rc); err != nil {
		c.opt.Log.Warn("console: raw download cut", "id", id, "error", err)
	}
}

// --- participants

type participantRow struct {
	Entity     *register.Entity
	Exchange   bool
	LastSeen   time.Time
	CertExpiry *expiry
}

type participantsData struct {
	Filter filter
	Rows   []participantRow
	Total  int
	Prev   string
	Next   string
	Counts map[register.Status]int
}

func (c *Console) participants(w http.ResponseWriter, r *http.Request) {
	f, err := pageFilter(r, filterRules{pageSize: c.opt.PageSize})
	if err != nil {
		c.badFilter(w, r, err)
		return
	}
	ctx := r.Context()
	all, err := c.opt.Cache.List(ctx, "")
	if err != nil {
		c.internal(w, r, err)
		return
	}
	l := &msglog.Log{DB: c.opt.DB}
	last, err := l.LastByPeer(ctx)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	expiries := map[string]time.Time{}
	if c.opt.PeerExpiries != nil {
		for g, t := range c.opt.PeerExpiries() {
			expiries[seos.CanonicalGUID(g)] = t
		}
	}
	q := strings.ToLower(f.Search)
	var rows []participantRow
	now := c.opt.Clock.Now()
	for _, e := range all {
		if q != "" && !strings.Contains(strings.ToLower(e.AdministrativeBodyName), q) && !strings.Contains(strings.ToLower(e.GUID), q) && !strings.Contains(e.Identifier, q) {
			continue
		}
		key := seos.CanonicalGUID(e.GUID)
		row := participantRow{Entity: e, Exchange: e.ExchangeService() != nil, LastSeen: last[key]}
		if t, ok := expiries[key]; ok {
			row.CertExpiry = daysLeft(t, now)
		}
		rows = append(rows, row)
	}
	d := participantsData{Filter: f, Total: len(rows)}
	if d.Counts, err = c.opt.Cache.Counts(ctx); err != nil {
		c.internal(w, r, err)
		return
	}
	start := f.Page * f.Limit
	if start > len(rows) {
		start = len(rows)
	}
	end := min(start+f.Limit, len(rows))
	d.Rows = rows[start:end]
	if f.Page > 0 {
		d.Prev = f.encode(0, f.Page-1)
	}
	if end < len(rows) {
		d.Next = f.encode(0, f.Page+1)
	}
	c.render(w, r, sessionOf(r), http.StatusOK, "participants", "Participants", d)
}

// --- audit

type auditData struct {
	Items []audit.Entry
	Next  string
}

func (c *Console) auditList(w http.ResponseWriter, r *http.Request) {
	f, err := pageFilter(r, filterRules{pageSize: c.opt.PageSize})
	if err != nil {
		c.badFilter(w, r, err)
		return
	}
	items, err := audit.List(r.Context(), c.opt.DB, audit.Filter{Before: f.Before, Limit: f.Limit + 1})
	if err != nil {
		c.internal(w, r, err)
		return
	}
	var d auditData
	d.Items, d.Next = onePage(f, items, func(e audit.Entry) int64 { return e.ID })
	c.render(w, r, sessionOf(r), http.StatusOK, "audit", "Audit log", d)
}
