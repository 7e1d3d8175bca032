package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/msglog"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/store"
)

// log show reads a large message's bytes from the files beside the
// database, as the endpoint keeps them: --raw gives them byte for byte,
// and the summary reads the message inside.
func TestLogShowReadsFiles(t *testing.T) {
	cfg, svc := aisNode(t)
	ctx := context.Background()
	m := seos.NewMessage(svc.Self, svc.Self, time.Now(), seos.Body{RegistrationRequest: &seos.RegistrationRequest{Document: seos.Document{
		ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо",
		Attachments: []seos.Attachment{{FileName: "голям.pdf", MIMEType: "application/pdf", Body: seos.Base64Of([]byte(strings.Repeat("%PDF ", 100000)))}}}}})
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env, err := soap.Submit(b)
	if err != nil {
		t.Fatal(err)
	}
	files, err := blob.Open(store.FilesDir(filepath.Join(filepath.Dir(cfg), "gw.db")))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := files.PutBytes(env)
	if err != nil {
		t.Fatal(err)
	}
	id, err := msglog.Insert(ctx, svc.DB, &msglog.Entry{Direction: msglog.In, At: time.Now(), PeerGUID: svc.Self.GUID,
		MessageType: string(seos.TypeRegistrationRequest), MessageGUID: m.Header.MessageGUID, Outcome: "refused", Size: len(env), RawFile: ref})
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli(t, nil, "log", "show", "--raw", "--config", cfg, strconv.FormatInt(id, 10)); code != 0 || out != string(env) {
		t.Errorf("log show --raw: exit %d, %d bytes of %d\n%s", code, len(out), len(env), errOut)
	}
	if code, out, errOut := cli(t, nil, "log", "show", "--config", cfg, strconv.FormatInt(id, 10)); code != 0 || !strings.Contains(out, "голям.pdf") {
		t.Errorf("log show: exit %d\n%s%s", code, out, errOut)
	}
}
