package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/textsafe"
	"github.com/seosgw/seosgw/register"
)

// hostile is what a peer, the register or the AIS may write into a field
// an operator later reads: a CR LF that forges a whole line, an 8-bit CSI
// (U+009B) and a 7-bit escape that drive the terminal, a right-to-left
// override that reorders what follows.
// XML carries no C0 control but CR, LF and tab, so a message holds the
// same without the escape.
const (
	hostile    = "ok\r\nState:             registered\r\nfrom:            Министерство\u009b2J\x1b[8m\u202efdp.exe"
	hostileXML = "ok\r\nState:             registered\r\nfrom:            Министерство\u009b2J[8m\u202efdp.exe"
)

// forged finds a line the hostile text would have made its own (a value
// printed over several lines is indented under its label).
var forged = regexp.MustCompile(`(?m)^(State: {13}registered|from: +Министерство)`)

// TestOperatorOutputIsSanitised runs each command that shows what others
// wrote — status, log list and show, register list and show — over a
// database holding hostile values, and finds no control character, bidi
// override or forged line in what it prints.
func TestOperatorOutputIsSanitised(t *testing.T) {
	cfg, svc := aisNode(t)
	ctx := context.Background()
	now := time.Now()
	peer := "{00000002-0000-4000-8000-000000000002}"

	evil := register.Entity{Identifier: "000000003", GUID: "{00000003-0000-4000-8000-000000000003}", AdministrativeBodyName: hostile,
		Status: register.Active, LastChange: now.UTC().Truncate(time.Second), Contact: register.Contact{Phone: hostile},
		Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: hostile, URI: "https://x.obmen.local/seos", Status: register.Active, Version: "1"}}}
	if err := register.NewCache(svc.DB, clock.System).Apply(ctx, false, []register.Entity{evil}, "c2"); err != nil {
		t.Fatal(err)
	}

	// Two sent documents: one the peer registered under a hostile number,
	// one it rejected for a hostile reason.
	sent := func(status seos.DocStatus, id seos.DocumentID, reason *string) int64 {
		t.Helper()
		n, guid, _, err := svc.Send(ctx, &ais.Outgoing{Recipient: peer, Kind: "Писмо"}, "")
		if err != nil {
			t.Fatal(err)
		}
		it, err := outbox.Get(ctx, svc.DB, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := outbox.Record(ctx, svc.DB, it, outbox.Outcome{Delivered: true, DocStatus: string(seos.StatusWaitRegistration)}, now); err != nil {
			t.Fatal(err)
		}
		id.GUID = guid
		if _, err := outbox.ApplyStatus(ctx, svc.DB, peer, &seos.StatusResponse{DocID: id, Status: status, RejectionReason: reason}, now); err != nil {
			t.Fatal(err)
		}
		return n
	}
	registered := sent(seos.StatusRegistered, seos.DocumentID{Number: &seos.DocumentNumber{Number: hostile, Date: "2026-11-23"}}, nil)
	rejected := sent(seos.StatusRejected, seos.DocumentID{}, seos.Str(hostile))

	// A received message whose texts are hostile, logged with a hostile
	// refusal detail.
	m := seos.NewMessage(seos.Entity{Identifier: "000000002", AdministrativeBodyName: hostileXML, GUID: peer},
		svc.Self, now, seos.Body{RegistrationRequest: &seos.RegistrationRequest{Comment: hostileXML, Document: seos.Document{
			ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: hostileXML, About: seos.Str(hostileXML),
			Attachments: []seos.Attachment{{FileName: hostileXML, MIMEType: "application/pdf", Body: seos.Base64Of([]byte("%PDF"))}}}}})
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env, err := soap.Submit(b)
	if err != nil {
		t.Fatal(err)
	}
	logID, err := msglog.Insert(ctx, svc.DB, &msglog.Entry{Direction: msglog.In, At: now, PeerGUID: peer, MessageType: string(seos.TypeRegistrationRequest),
		MessageGUID: m.Header.MessageGUID, Outcome: "refused", Reason: hostile, Detail: hostile, Size: len(env), Raw: env})
	if err != nil {
		t.Fatal(err)
	}

	msgFile := filepath.Join(t.TempDir(), "message.xml")
	if err := os.WriteFile(msgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"message", "show", msgFile},
		{"status", fmt.Sprint(registered)},
		{"status", fmt.Sprint(rejected)},
		{"log", "show", fmt.Sprint(logID)},
		{"log", "list"},
		{"register", "list"},
		{"register", "show", evil.GUID},
		{"register", "show", "000000003"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if args[0] != "message" {
				args = append(args, "--config", cfg)
			}
			code, out, errOut := cli(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			for _, r := range out + errOut {
				if textsafe.Unsafe(r) && r != '\n' {
					t.Fatalf("%U reached the terminal:\n%q", r, out)
				}
			}
			if forged.MatchString(out) {
				t.Fatalf("a forged line:\n%s", out)
			}
			if !strings.Contains(out, `\u009b2J`) || !strings.Contains(out, `\u202efdp.exe`) {
				t.Fatalf("the hostile value is not shown escaped:\n%s", out)
			}
		})
	}
}
