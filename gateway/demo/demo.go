// Package demo is `make demo`: a local register, two gateways for two
// administrations, and one document exchanged end to end over mutual TLS
// with a test PKI made on the spot, its registration coming back. It runs
// seosgw's own binary for every process, as an administration would.
package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/pdf"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/testregister"
)

// Options of a demo run.
type Options struct {
	Binary string    // the seosgw binary to run
	Dir    string    // work folder; a temporary one when empty
	Keep   bool      // keep the work folder (and print where it is)
	Out    io.Writer // the narration
}

// admin is one administration in the demo.
type admin struct {
	name, host, eik, guid string
	endpoint, ops, api    string // listen addresses
	token                 string
	proc                  *exec.Cmd
	done                  chan struct{}
	log                   string
}

type run struct {
	opt   Options
	dir   string
	procs []*exec.Cmd
	dones []chan struct{}
}

func (r *run) say(format string, args ...any) { fmt.Fprintf(r.opt.Out, "==> "+format+"\n", args...) }

func (r *run) detail(format string, args ...any) { fmt.Fprintf(r.opt.Out, "    "+format+"\n", args...) }

// ErrCancelled is Run's error when its context was cancelled (Ctrl-C):
// the processes are stopped and the folder removed unless Keep.
var ErrCancelled = errors.New("demo cancelled")

// Run performs the demo and cleans up after itself: the folder holds
// private keys, so it goes unless Keep, or the demo failed (to look at).
func Run(parent context.Context, opt Options) (err error) {
	r := &run{opt: opt}
	if opt.Dir == "" {
		if r.dir, err = os.MkdirTemp("", "seosgw-demo-"); err != nil {
			return err
		}
	} else {
		r.dir = opt.Dir
		// Removed afterwards: never a folder that holds something else.
		if entries, err := os.ReadDir(r.dir); err == nil && len(entries) > 0 {
			return fmt.Errorf("--dir %s is not empty; give a new or empty folder (the demo removes it afterwards)", r.dir)
		}
		if err := os.MkdirAll(r.dir, 0o700); err != nil {
			return err
		}
	}
	defer func() {
		r.stopAll()
		if parent.Err() != nil {
			err = ErrCancelled
		}
		switch {
		case opt.Keep || err != nil && !errors.Is(err, ErrCancelled):
			fmt.Fprintf(opt.Out, "\nThe demo's files (configs, PKI with private keys, databases, logs) are in %s\n", r.dir)
		default:
			os.RemoveAll(r.dir)
		}
	}()
	ctx, cancel := context.WithTimeout(parent, 3*time.Minute)
	defer cancel()

	a := &admin{name: "Министерство на електронното управление (демо)", host: "ministry-a.obmen.local", eik: "177394200", guid: seos.NewGUID()}
	b := &admin{name: "Община Благоевград (демо)", host: "municipality-b.obmen.local", eik: "000024688", guid: seos.NewGUID()}
	const regHost = "register.obmen.local"

	r.say("Making a test PKI: a DAEU-like CA and transport certificates for the register and both administrations")
	tp, err := pki.MakeTestPKI(filepath.Join(r.dir, "pki"), []string{regHost, a.host, b.host}, pki.WithLoopback())
	if err != nil {
		return err
	}
	for _, ad := range []*admin{a, b} {
		id, err := pki.LoadIdentity(tp.Hosts[ad.host].Cert, tp.Hosts[ad.host].Key)
		if err != nil {
			return err
		}
		r.detail("%-28s serial %s", ad.host, pki.SerialHex(id.Cert))
		for _, p := range []*string{&ad.endpoint, &ad.ops, &ad.api} {
			if *p, err = freePort(); err != nil {
				return err
			}
		}
		ad.token = seos.NewGUID() + seos.NewGUID()
	}
	regAddr, err := freePort()
	if err != nil {
		return err
	}

	r.say("Starting a local participant register listing both administrations as active")
	if err := r.seedRegister(ctx, tp, a, b); err != nil {
		return err
	}
	regLog := filepath.Join(r.dir, "register.log")
	if _, _, err := r.start(regLog, "register", "serve", "--listen", regAddr, "--db", filepath.Join(r.dir, "register.db"),
		"--tls-cert", tp.Hosts[regHost].Cert, "--tls-key", tp.Hosts[regHost].Key, "--client-ca", tp.CACert); err != nil {
		return err
	}
	if err := waitTCP(ctx, regAddr); err != nil {
		return r.failure(err, regLog)
	}
	r.detail("register at https://%s/service/", regAddr)

	r.say("Starting two gateways: %s and %s", a.host, b.host)
	for _, ad := range []*admin{a, b} {
		cfg, err := r.writeConfig(ad, tp, "https://"+regAddr+"/service/")
		if err != nil {
			return err
		}
		ad.log = filepath.Join(r.dir, ad.host+".log")
		if ad.proc, ad.done, err = r.start(ad.log, "serve", "--config", cfg); err != nil {
			return err
		}
	}
	for _, ad := range []*admin{a, b} {
		if err := waitReady(ctx, ad); err != nil {
			return r.failure(err, ad.log)
		}
		r.detail("%-28s SEOS endpoint https://%s/seos/endpoint, AIS API http://%s, ops http://%s", ad.host, ad.endpoint, ad.api, ad.ops)
	}

	pdf := makePDF("Писмо за регистрация от демото на seosgw")
	r.say("A's records system sends a letter with a PDF attachment (%d bytes) to B through A's AIS API", len(pdf))
	var queued struct {
		ID           int64  `json:"id"`
		DocumentGUID string `json:"documentGuid"`
	}
	doc := map[string]any{
		"recipient": b.guid, "kind": "Писмо", "about": "Покана за среща по проекта за електронно връчване",
		"comment": "Моля за регистрация", "number": map[string]string{"number": "МЕУ-12-345", "date": time.Now().Format("2006-01-02")},
		"correspondents": []map[string]string{{"name": "Иван Петров", "city": "София", "kind": "Corr_Applicant"}},
		"attachments":    []map[string]string{{"fileName": "покана.pdf", "mimeType": "application/pdf", "content": base64.StdEncoding.EncodeToString(pdf)}},
	}
	if err := call(ctx, a, "POST", "/api/v1/documents", doc, &queued); err != nil {
		return r.failure(err, a.log)
	}
	r.detail("queued as A's outgoing document %d, DocumentGUID %s", queued.ID, queued.DocumentGUID)

	r.say("Waiting for B's signed acknowledgement (DS_WAIT_REGISTRATION)")
	st, err := waitState(ctx, a, queued.ID, "waiting_registration")
	if err != nil {
		return r.failure(err, a.log)
	}
	r.detail("A's document is %s after %d attempt(s)", st.State, st.Attempts)

	r.say("The document is in B's inbox")
	var inbox ais.InboxList
	if err := call(ctx, b, "GET", "/api/v1/inbox?state=received", nil, &inbox); err != nil {
		return r.failure(err, b.log)
	}
	var inboxID int64
	for _, it := range inbox.Items {
		if seos.EqualGUID(it.DocumentGUID, queued.DocumentGUID) {
			inboxID = it.ID
			r.detail("inbox %d: %s from %s: %q", it.ID, it.Kind, it.Sender.Name, it.About)
		}
	}
	if inboxID != 0 {
		var item ais.ReceivedDocument
		if err := call(ctx, b, "GET", fmt.Sprintf("/api/v1/inbox/%d", inboxID), nil, &item); err != nil {
			return r.failure(err, b.log)
		}
		for _, at := range item.Attachments {
			r.detail("attachment %d: %s (%s, %d bytes)", at.Index, at.FileName, at.MIMEType, at.Size)
		}
	}
	if inboxID == 0 {
		return r.failure(errors.New("the document did not reach B's inbox"), b.log)
	}
	got, err := download(ctx, b, fmt.Sprintf("/api/v1/inbox/%d/attachments/1", inboxID))
	if err != nil {
		return r.failure(err, b.log)
	}
	if !bytes.Equal(got, pdf) {
		return fmt.Errorf("the attachment B received differs from what A sent (%d vs %d bytes)", len(got), len(pdf))
	}
	r.detail("attachment 1 downloaded from B: %d bytes, identical to what A sent", len(got))

	number := fmt.Sprintf("Б-%s-%04d", time.Now().Format("2006"), 1)
	r.say("B's records system registers it as %s through B's AIS API", number)
	if err := call(ctx, b, "POST", fmt.Sprintf("/api/v1/inbox/%d/register", inboxID),
		map[string]any{"number": map[string]string{"number": number, "date": time.Now().Format("2006-01-02")}}, nil); err != nil {
		return r.failure(err, b.log)
	}

	r.say("Waiting for the registration to reach A (DS_REGISTERED)")
	if st, err = waitState(ctx, a, queued.ID, "registered"); err != nil {
		return r.failure(err, a.log)
	}
	if st.PeerNumber == nil || st.PeerNumber.Number != number {
		return fmt.Errorf("A's document is registered, but with number %+v, not %s", st.PeerNumber, number)
	}
	r.detail("A's document %d: %s by B as %s of %s", st.ID, st.State, st.PeerNumber.Number, st.PeerNumber.Date)
	for _, h := range st.History {
		r.detail("  %s  %-10s %s", h.At.Local().Format("15:04:05"), h.Event, h.Detail)
	}
	r.say("Done: a document went from A to B over mutual TLS, signed both ways, and its registration came back.")
	return nil
}

func waitState(ctx context.Context, a *admin, id int64, want string) (*ais.Status, error) {
	var st ais.Status
	for {
		if err := call(ctx, a, "GET", fmt.Sprintf("/api/v1/documents/%d", id), nil, &st); err != nil {
			return nil, err
		}
		switch {
		case st.State == want:
			return &st, nil
		case st.State == "failed":
			return nil, fmt.Errorf("document %d failed: %s", id, st.Error)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("document %d is %s, still not %s: %w", id, st.State, want, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *run) seedRegister(ctx context.Context, tp *pki.TestPKI, admins ...*admin) error {
	reg, err := testregister.Open(ctx, filepath.Join(r.dir, "register.db"), testregister.Options{})
	if err != nil {
		return err
	}
	defer reg.Close()
	for _, ad := range admins {
		id, err := pki.LoadIdentity(tp.Hosts[ad.host].Cert, tp.Hosts[ad.host].Key)
		if err != nil {
			return err
		}
		e := register.Entity{Identifier: ad.eik, GUID: ad.guid, AdministrativeBodyName: ad.name, Status: register.Active,
			CertificateSN: pki.SerialHex(id.Cert), Contact: register.Contact{EmailAddress: "seos@" + ad.host},
			Services: []register.Service{{GUID: register.ExchangeServiceGUID, Name: "Обмен на документи", Status: register.Active,
				URI: "https://" + ad.endpoint + "/seos/endpoint", Type: "SEOS", Version: "1"}}}
		if _, err := reg.Add(ctx, e, nil); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) writeConfig(ad *admin, tp *pki.TestPKI, registerURL string) (string, error) {
	token := filepath.Join(r.dir, ad.host+".token")
	if err := os.WriteFile(token, []byte(ad.token+"\n"), 0o600); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`participant: {guid: %q, eik: %q, name: %q}
tls: {cert: %q, key: %q, ca: %q}
endpoint: {listen: %q, path: /seos/endpoint}
register: {url: %q, refresh: 5s}
database: {path: %q}
outbound: {retry_first: 2s, poll: 2s}
ais: {listen: %q, token_file: %q}
ops: {listen: %q}
log: {level: info, format: json}
`, ad.guid, ad.eik, ad.name, tp.Hosts[ad.host].Cert, tp.Hosts[ad.host].Key, tp.CACert, ad.endpoint, registerURL,
		filepath.Join(r.dir, ad.host+".db"), ad.api, token, ad.ops)
	path := filepath.Join(r.dir, ad.host+".yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

func (r *run) start(logPath string, args ...string) (*exec.Cmd, chan struct{}, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(r.opt.Binary, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("start seosgw %s: %w", strings.Join(args, " "), err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	r.procs, r.dones = append(r.procs, cmd), append(r.dones, done)
	return cmd, done, nil
}

func (r *run) stopAll() {
	for i := len(r.procs) - 1; i >= 0; i-- {
		r.procs[i].Process.Signal(syscall.SIGTERM)
		select {
		case <-r.dones[i]:
		case <-time.After(20 * time.Second):
			r.procs[i].Process.Kill()
			<-r.dones[i]
		}
	}
}

// failure adds the last lines of a process log to err.
func (r *run) failure(err error, logPath string) error {
	b, _ := os.ReadFile(logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Errorf("%w\n--- last lines of %s:\n%s", err, logPath, strings.Join(lines, "\n"))
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitTCP(ctx context.Context, addr string) error {
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not listen: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitReady waits for /readyz: the register copy synced, database writable.
func waitReady(ctx context.Context, ad *admin) error {
	var last string
	for {
		select {
		case <-ad.done:
			return errors.New(ad.host + " exited")
		default:
		}
		if resp, err := http.Get("http://" + ad.ops + "/readyz"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = string(b)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %s", ad.host, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func call(ctx context.Context, ad *admin, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, "http://"+ad.api+path, body)
	req.Header.Set("Authorization", "Bearer "+ad.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func download(ctx context.Context, ad *admin, path string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ad.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+ad.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// makePDF writes a one-page PDF with a line of (ASCII-transliterated) text.
func makePDF(title string) []byte { return pdf.Simple("seosgw demo: " + title) }
