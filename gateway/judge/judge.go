// Package judge applies the acceptance policy to received documents before
// the AIS sees them. The endpoint stores a registration request as
// "checking" and answers DS_WAIT_REGISTRATION at once; the judge's workers
// then take each checking document, evaluate it, and move it to received
// (accept; hold, marked for review) or rejected, queuing a signed
// DS_REJECTED with the bilingual reasons to its sender.
package judge

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// Judge runs the policy over checking documents. Set the fields, then Run.
type Judge struct {
	DB     *sql.DB
	Files  *blob.Store // where the inbox keeps attachments read as streams
	Policy *acceptance.Policy
	Self   seos.Entity // this participant: the sender of DS_REJECTED
	Clock  clock.Clock
	Log    *slog.Logger
	// Metrics, from NewMetrics; nil counts nothing.
	Metrics *Metrics
	// Workers judge documents at once (scans and revocation lookups wait
	// on the network); at least 1.
	Workers int
	// Timeout bounds one document's evaluation: checks still running then
	// are unknown, and their rules' on_unknown decides.
	Timeout time.Duration
	// Poll is how often the checking documents are listed even when no
	// arrival woke the judge (a document whose judgement failed is tried
	// again then).
	Poll time.Duration
	// Received, when set, is told of a document that reached the AIS
	// (accept or hold), to write it to the spool at once; it must not block.
	Received func(inboxID int64)
	// Queued, when set, is told that a notification was queued for
	// delivery; it must not block.
	Queued func()
	// Mail reads and answers the documents that came by e-mail (nil: no
	// mail channel; any such document left from before is judged from the
	// inbox and not answered).
	Mail Mail

	once sync.Once
	wake chan struct{}
	mu   sync.Mutex
	busy map[int64]bool // documents a worker holds
}

func (j *Judge) init() {
	j.once.Do(func() {
		j.wake = make(chan struct{}, 1)
		j.busy = map[int64]bool{}
	})
}

// Arrived wakes the judge for a document the endpoint has just stored; it
// never blocks (the inbound pipeline calls it).
func (j *Judge) Arrived(inboxID int64) {
	j.init()
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// Mail is the e-mail channel as the judge uses it (gateway/mail/mailbox).
type Mail interface {
	// Input is what the policy judges of a document that came by e-mail
	// (with the mail's own checks: encrypted, unreadable); done releases
	// what Input made.
	Input(ctx context.Context, it *inbox.Item) (in acceptance.Input, done func(), err error)
	// Judged follows a verdict in the transaction that records it (the
	// refusal mail of a rejected document).
	Judged(ctx context.Context, tx *sql.Tx, it *inbox.Item, v *acceptance.Verdict) error
	// Wake starts sending what Judged queued, after the commit.
	Wake()
}

const page = 100

// Run judges every checking document — first those left by a stop or a
// crash, then each as it arrives — until ctx ends. A document whose
// judgement was cut short stays checking and is judged again.
func (j *Judge) Run(ctx context.Context) error {
	j.init()
	workers := max(j.Workers, 1)
	jobs := make(chan int64)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				j.judgeOne(ctx, id)
				j.mu.Lock()
				delete(j.busy, id)
				j.mu.Unlock()
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()
	poll := j.Poll
	if poll <= 0 {
		poll = 10 * time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var lastProbe time.Time
	scannerUp := true
	for {
		if time.Since(lastProbe) >= poll {
			lastProbe = time.Now()
			scannerUp = j.probeScanner(ctx, scannerUp)
		}
		if err := j.dispatch(ctx, jobs); err != nil && ctx.Err() == nil {
			j.Log.Error("listing documents to judge", "error", err)
			j.Metrics.failed("list")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-j.wake:
		case <-tick.C:
		}
	}
}

// probeScanner pings clamd, which keeps seosgw_acceptance_scanner_up
// current when no document comes, and logs when it goes and comes back.
func (j *Judge) probeScanner(ctx context.Context, wasUp bool) bool {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := j.Policy.ScannerReady(pctx)
	switch {
	case ctx.Err() != nil:
		return wasUp
	case err != nil && wasUp:
		j.Log.Warn("virus scanner unreachable: documents are held unscanned until it is back", "error", err)
	case err == nil && !wasUp:
		j.Log.Info("virus scanner reachable again")
	}
	return err == nil
}

// dispatch hands every checking document no worker holds to the workers,
// in the order they arrived.
func (j *Judge) dispatch(ctx context.Context, jobs chan<- int64) error {
	var after int64
	for {
		ids, err := inbox.CheckingIDs(ctx, j.DB, after, page)
		if err != nil {
			return err
		}
		for _, id := range ids {
			after = id
			j.mu.Lock()
			taken := j.busy[id]
			j.busy[id] = true
			j.mu.Unlock()
			if taken {
				continue
			}
			select {
			case jobs <- id:
			case <-ctx.Done():
				j.mu.Lock()
				delete(j.busy, id)
				j.mu.Unlock()
				return nil
			}
		}
		if len(ids) < page {
			return nil
		}
	}
}

// judgeOne evaluates one document and records the verdict. Failures leave
// it checking, for the next pass.
func (j *Judge) judgeOne(ctx context.Context, id int64) {
	log := j.Log.With("inbox_id", id)
	it, err := inbox.Get(ctx, j.DB, id)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("reading a document to judge", "error", err)
			j.Metrics.failed("read")
		}
		return
	}
	if it.State != inbox.Checking {
		return
	}
	var in acceptance.Input
	if it.Channel == inbox.ChannelEmail && j.Mail != nil {
		var done func()
		if in, done, err = j.Mail.Input(ctx, it); err != nil {
			if ctx.Err() == nil {
				log.Error("reading a mail to judge", "error", err)
				j.Metrics.failed("read")
			}
			return
		}
		defer done()
	} else {
		var release func()
		if in, release, err = j.fromInbox(ctx, it); err != nil {
			if ctx.Err() == nil {
				log.Error("opening an attachment to judge", "error", err)
				j.Metrics.failed("read")
			}
			return
		}
		defer release()
	}
	v := j.evaluate(ctx, log, in)
	if ctx.Err() != nil {
		return // cut short by the stop: unknowns from cancelled checks are no verdict
	}
	to, mailed, err := j.record(ctx, it, &v)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("recording a verdict", "outcome", v.Outcome, "error", err)
			j.Metrics.failed("record")
		}
		return
	}
	log.Info("judged", "outcome", v.Outcome, "state", to, "sender", it.Sender.GUID, "document_guid", it.DocumentGUID, "why", v.Summary())
	switch {
	case mailed:
		j.Mail.Wake()
	case to == inbox.Rejected && j.Queued != nil:
		j.Queued()
	}
	if to == inbox.Received && j.Received != nil {
		j.Received(id)
	}
}

// fromInbox is what the policy judges of a document as the inbox keeps
// it: its texts and its attachments, read in place. release closes them.
func (j *Judge) fromInbox(ctx context.Context, it *inbox.Item) (acceptance.Input, func(), error) {
	in := acceptance.FromDocument(it.Sender, &it.Document, it.Comment)
	var opened []*inbox.Content
	release := func() {
		for _, c := range opened {
			c.Close()
		}
	}
	for _, a := range it.Attachments {
		c, err := inbox.OpenAttachment(ctx, j.DB, j.Files, it.ID, a.Index)
		if err != nil {
			release()
			return in, nil, fmt.Errorf("attachment %d: %w", a.Index, err)
		}
		opened = append(opened, c)
		in.Attachments = append(in.Attachments, acceptance.Attachment{Name: a.FileName, DeclaredMIME: a.MIMEType, Size: c.Size, Content: c})
	}
	return in, release, nil
}

// evaluate runs the policy within the timeout. A policy that breaks on a
// document (a panic on hostile input) holds it for a clerk rather than
// stopping the node, which would judge it again at every start.
func (j *Judge) evaluate(ctx context.Context, log *slog.Logger, in acceptance.Input) (v acceptance.Verdict) {
	if j.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.Timeout)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			log.Error("the acceptance policy failed on a document", "panic", r, "stack", string(debug.Stack()))
			v = j.Policy.Failed(fmt.Errorf("%v", r))
		}
	}()
	return j.Policy.Evaluate(ctx, in)
}

// record applies the verdict in one transaction: accept and hold move the
// document to received (hold marks it for review); reject moves it to
// rejected and queues DS_REJECTED with the reasons — or, for a document
// that came by e-mail, the refusal mail (mailed). It returns the state the
// document moved to ("" when it was no longer checking).
func (j *Judge) record(ctx context.Context, it *inbox.Item, v *acceptance.Verdict) (to inbox.State, mailed bool, err error) {
	err = store.InTx(ctx, j.DB, func(tx *sql.Tx) error {
		cur, err := inbox.Get(ctx, tx, it.ID)
		if err != nil {
			return err
		}
		if cur.State != inbox.Checking {
			return nil
		}
		now := j.Clock.Now()
		upd := &inbox.Update{State: inbox.Received, Verdict: v}
		if v.Outcome == acceptance.Reject {
			upd.State, upd.Reason = inbox.Rejected, v.RejectionReason()
		}
		if err := inbox.Apply(ctx, tx, it.ID, upd, now); err != nil {
			return err
		}
		to = upd.State
		email := cur.Channel == inbox.ChannelEmail
		if upd.State != inbox.Rejected && !email {
			return nil
		}
		if cur, err = inbox.Get(ctx, tx, it.ID); err != nil {
			return err
		}
		switch {
		case email && j.Mail != nil:
			mailed = true
			return j.Mail.Judged(ctx, tx, cur, v)
		case email:
			return nil // no mail channel to answer by
		}
		_, err = outbox.EnqueueStatus(ctx, tx, j.Self, cur.Sender, it.ID, cur.StatusResponse(), now)
		return err
	})
	if err != nil {
		return "", false, err
	}
	return to, mailed, nil
}
