package audit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/testkit"
)

func TestRecordAndList(t *testing.T) {
	db := testkit.DB(t)
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i, e := range []Entry{
		{At: at, Who: "ivan", Role: "operator", Action: "outbox.retry", Target: "outbox/1", Outcome: OK, Detail: "queued"},
		{At: at.Add(time.Minute), Who: "maria", Role: "viewer", Action: "outbox.cancel", Target: "outbox/2", Outcome: Refused, Detail: "viewer"},
		{At: at.Add(2 * time.Minute), Who: "ivan", Role: "operator", Action: "outbox.cancel", Target: "outbox/3", Note: "дубликат", Outcome: OK},
	} {
		id, err := Record(ctx, db, log, e)
		if err != nil || id != int64(i+1) {
			t.Fatalf("record %d: id %d, %v", i, id, err)
		}
	}
	all, err := List(ctx, db, Filter{})
	if err != nil || len(all) != 3 || all[0].Note != "дубликат" || !all[0].At.Equal(at.Add(2*time.Minute)) || all[2].Who != "ivan" {
		t.Fatalf("list: %+v %v", all, err)
	}
	page, err := List(ctx, db, Filter{Who: "ivan", Before: 3, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != 1 {
		t.Fatalf("page: %+v %v", page, err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], `"level":"WARN"`) || !strings.Contains(lines[2], `"who":"ivan"`) || !strings.Contains(lines[2], `"target":"outbox/3"`) {
		t.Fatalf("log lines: %s", logs.String())
	}
}
