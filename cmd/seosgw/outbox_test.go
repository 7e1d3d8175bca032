package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// The outbox verbs over a node's API: list the failed, send one again,
// cancel another, retry a participant's waiting deliveries; peers' text is
// printed made safe.
func TestOutboxVerbs(t *testing.T) {
	cfg, svc := aisNode(t)
	ctx := context.Background()
	send := func(about string) int64 {
		t.Helper()
		id, _, _, err := svc.Send(ctx, &ais.Outgoing{Recipient: "000000002", Kind: "Писмо", About: about}, "")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	now := time.Now()
	failed, other, waiting := send("първо"), send("второ"), send("трето")
	// A hostile peer's ErrorDescription with a terminal escape sequence.
	testkit.Attempt(t, svc.DB, failed, outbox.Outcome{Final: true, Detail: "the recipient answered ERR_EXTERNAL: \x1b[2Jизтрито"}, now)
	testkit.Attempt(t, svc.DB, other, outbox.Outcome{Final: true, Detail: "ERR_EXTERNAL"}, now)
	testkit.Attempt(t, svc.DB, waiting, outbox.Outcome{Detail: "network", RetryAt: now.Add(64 * time.Hour)}, now)
	peer := "{00000002-0000-4000-8000-000000000002}"

	code, out, errOut := cli(t, nil, "outbox", "list", "--config", cfg, "--state", "failed", "--peer", peer)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d  ", failed)) || !strings.Contains(out, "Министерство Б") {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `\u001b[2Jизтрито`) {
		t.Errorf("a peer's text is printed raw:\n%q", out)
	}
	if strings.Contains(out, "трето") || strings.Count(out, "\n") != 3 {
		t.Errorf("list --state failed shows more than the two failed:\n%s", out)
	}
	code, out, _ = cli(t, nil, "outbox", "list", "--config", cfg, "--json")
	var l ais.DocumentList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Items) != 3 {
		t.Errorf("list --json: %d %s", code, out)
	}

	code, out, errOut = cli(t, nil, "outbox", "retry", "--config", cfg, "--note", "B е отново на линия", fmt.Sprint(failed))
	if code != 0 || !strings.Contains(errOut, "queued") || !strings.Contains(out, "manual_retry") || strings.Contains(out, "\x1b") ||
		!strings.Contains(out, "B е отново на линия") {
		t.Errorf("retry: %d %q %q", code, out, errOut)
	}
	code, out, errOut = cli(t, nil, "outbox", "cancel", "--config", cfg, fmt.Sprint(other))
	if code != 0 || !strings.Contains(out, "cancelled") {
		t.Errorf("cancel: %d %q %q", code, out, errOut)
	}
	code, out, errOut = cli(t, nil, "outbox", "retry", "--config", cfg, "--peer", peer)
	// The retried one is due now already; the waiting one is made due.
	if want := fmt.Sprintf("1 delivery to %s made due now: %d\n", peer, waiting); code != 0 || out != want {
		t.Errorf("retry --peer: %d %q %q, want %q", code, out, errOut, want)
	}
	if it, _ := outbox.Get(ctx, svc.DB, waiting); it.NextAttemptAt.After(time.Now()) {
		t.Errorf("the waiting delivery is still due at %s", it.NextAttemptAt)
	}

	// Refusals are failures (exit 1) that say why; mistakes are usage (2).
	for _, c := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"outbox", "cancel", "--config", cfg, fmt.Sprint(other + 1000)}, 1, "not_found"},
		{[]string{"outbox", "retry", "--config", cfg, fmt.Sprint(other)}, 1, "cancelled"},
		{[]string{"outbox", "retry", "--config", cfg}, 2, "give one document ID"},
		{[]string{"outbox", "retry", "--config", cfg, "--peer", peer, "7"}, 2, "not both"},
		{[]string{"outbox", "retry", "--config", cfg, "--peer", "B"}, 2, "not a participant GUID"},
		{[]string{"outbox", "cancel", "--config", cfg, "x7"}, 2, "not a document ID"},
		{[]string{"outbox", "list", "--config", cfg, "--state", "lost"}, 2, `"lost" is not one of queued, sending`},
		{[]string{"outbox", "list", "--config", cfg, "--limit", "0"}, 2, "--limit 0"},
	} {
		code, out, errOut := cli(t, nil, c.args...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.say) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d saying %q", c.args[1:], code, out, errOut, c.code, c.say)
		}
	}
}
