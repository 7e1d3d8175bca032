package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/loadtest"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/extools"
)

// BenchmarkInboundSubmit is the first row, on whole processes: a
// `seosgw serve` receiver (mutual TLS, signature checks, an fsync'd store,
// signed replies) loaded by this process with b.N registrations of 2 KiB,
// 64 at a time over kept-alive connections. gateway-cpu-ms/submit is the
// receiver's CPU per Submit from its own /metrics; ns/op is wall time per
// Submit with the load generator on the same cores; p99-ms-at-80% is the
// 99th percentile of a second run paced at 80 % of the first one's rate.
func BenchmarkInboundSubmit(b *testing.B) {
	dir := b.TempDir()
	r := newReceiver(b, dir, filepath.Join(dir, "b.db"))
	r.fields["ENDPOINT"] = ", max_concurrent: 64, max_concurrent_per_peer: 64" // one load generator, one certificate
	writeConfig(b, r.cfg, r.fields)
	node := r.start(b, filepath.Join(dir, "b.log"))
	defer node.Stop(syscall.SIGTERM)
	o := loadtest.Options{From: r.a.entity, To: r.b.entity, Identity: r.a.id, URL: r.url, N: b.N, C: 64, Size: 1200,
		TLS:     testkit.ClientTLS(r.a.id, r.tp.Authority.Pool(), "b.obmen.local"),
		Metrics: "http://" + r.ops + "/metrics"}
	envs, err := loadtest.Prepare(o)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(envs[0])))
	b.ResetTimer()
	rep, err := loadtest.Send(context.Background(), o, envs)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Accepted != b.N {
		b.Fatalf("%d of %d accepted: %s", rep.Accepted, b.N, rep.FirstProblem)
	}
	b.ReportMetric(float64(rep.CPUPerSubmit.Nanoseconds())/1e6, "gateway-cpu-ms/submit")
	b.ReportMetric(rep.Throughput(), "submits/s")
	b.ReportMetric(float64(rep.P99.Nanoseconds())/1e6, "p99-ms")
	// The latency goal is at 80 % of the rate just reached: as many new
	// registrations again, paced.
	o.Rate = int(0.8 * rep.Throughput())
	if envs, err = loadtest.Prepare(o); err != nil {
		b.Fatal(err)
	}
	paced, err := loadtest.Send(context.Background(), o, envs)
	if err != nil || paced.Accepted != b.N {
		b.Fatalf("paced at %d/s: %d of %d accepted, %v: %s", o.Rate, paced.Accepted, b.N, err, paced.FirstProblem)
	}
	b.ReportMetric(float64(paced.P99.Nanoseconds())/1e6, "p99-ms-at-80%")
	// The floor, measured now on the same cores: the CPU time of one
	// RSA-2048 signature, which every reply needs.
	b.ReportMetric(float64(rsaSignCPU(b, r.b.id.Key).Nanoseconds())/1e6, "rsa-sign-cpu-ms")
}

// rsaSignCPU is the CPU time one RSA PKCS#1 v1.5 SHA-256 signature takes
// here (this process's, over a run of them).
func rsaSignCPU(b *testing.B, key crypto.Signer) time.Duration {
	digest := sha256.Sum256([]byte("floor"))
	const n = 300
	start := processCPU(b)
	for i := 0; i < n; i++ {
		if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	return (processCPU(b) - start) / n
}

// processCPU is this process's user and system time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLargeDocument is the 64 MiB row: a 64 MiB PDF sent
// through A's AIS API to B and back from B to A, every limit at its
// default, read out of the receiver's AIS API byte for byte. It reports
// each gateway process's peak RSS (VmHWM) over the message's size on the
// wire (85 MiB of base64 and envelope).
func BenchmarkLargeDocument(b *testing.B) {
	const size = 64 << 20
	pdf := make([]byte, size)
	rand.Read(pdf)
	copy(pdf, "%PDF-1.7\n")
	sum := sha256.Sum256(pdf)
	content := base64.StdEncoding.EncodeToString(pdf)
	wire := float64(len(content) + 8<<10) // the message: base64 plus envelope
	for i := 0; i < b.N; i++ {
		x := newExchange(b, nil)
		x.a.start()
		x.b.start()
		for _, dir := range []struct{ from, to *gateway }{{x.a, x.b}, {x.b, x.a}} {
			doc := &ais.Outgoing{Recipient: dir.to.p.entity.GUID, Kind: "Писмо", About: "голям документ", Comment: "за регистрация",
				Attachments: []ais.Attachment{{FileName: "голям.pdf", MIMEType: "application/pdf", Content: content}}}
			q, _, err := dir.from.api.Send(context.Background(), doc, "")
			if err != nil {
				b.Fatal(err)
			}
			dir.from.waitFor(q.ID, 5*time.Minute, state("waiting_registration"))
			got := dir.to.receivedAttachment(q.DocumentGUID)
			if got != sum {
				b.Fatal("the document arrived changed")
			}
		}
		for _, g := range []*gateway{x.a, x.b} {
			rss, err := g.node.PeakRSS()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(rss)/wire, "peak-rss-"+map[bool]string{true: "a", false: "b"}[g == x.a]+"/msg")
			b.ReportMetric(float64(rss)/(1<<20), "peak-rss-"+map[bool]string{true: "a", false: "b"}[g == x.a]+"-MiB")
		}
		x.a.node.Stop(syscall.SIGTERM)
		x.b.node.Stop(syscall.SIGTERM)
	}
}

// receivedAttachment reads the first attachment of a received document
// from the node's AIS API and returns its SHA-256.
func (g *gateway) receivedAttachment(docGUID string) [32]byte {
	g.t.Helper()
	var id int64
	db := testkit.OpenDB(g.t, g.db)
	if err := db.QueryRow(`SELECT id FROM inbox WHERE document_guid_key = ?`, seos.CanonicalGUID(docGUID)).Scan(&id); err != nil {
		g.t.Fatalf("not received: %v", err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s%s/inbox/%d/attachments/1", g.api.BaseURL, ais.Prefix, id), nil)
	req.Header.Set("Authorization", "Bearer "+g.api.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil || resp.StatusCode != 200 {
		g.t.Fatalf("attachment: HTTP %d %v", resp.StatusCode, err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// BenchmarkSignVerify10MiB is the sign and verify rows: the
// `seosgw message sign` and `message verify` commands against xmlsec1 on
// the same 10 MiB message in the same run, whole processes each (start
// included). It reports the time ratios and verify's peak RSS over the
// message's size.
func BenchmarkSignVerify10MiB(b *testing.B) {
	xmlsec := extools.Require(b, "xmlsec1")
	dir := b.TempDir()
	tp, ps := participants(b, dir, "a.obmen.local")
	a := ps["a.obmen.local"]
	bin := testkit.Binary(b)
	att := make([]byte, 7680<<10)
	rand.Read(att)
	m := seos.NewMessage(a.entity, a.entity, time.Now(), seos.Body{RegistrationRequest: &seos.RegistrationRequest{Comment: "за регистрация",
		Document: seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо",
			Attachments: []seos.Attachment{{FileName: "голям.pdf", MIMEType: "application/pdf", Body: seos.Base64Of(att)}}}}})
	unsigned, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	in := filepath.Join(dir, "unsigned.xml")
	os.WriteFile(in, unsigned, 0o644)
	end := bytes.LastIndex(unsigned, []byte("</Message>"))
	tmpl := filepath.Join(dir, "template.xml")
	os.WriteFile(tmpl, append(append(append([]byte{}, unsigned[:end]...), xmlsecTemplate...), unsigned[end:]...), 0o644)
	signed := filepath.Join(dir, "signed.xml")
	xsigned := filepath.Join(dir, "xmlsec-signed.xml")
	ca := tp.CACert
	var ours, theirs [2]time.Duration // sign, verify
	var rss int64
	// Each writes its output to a file, as xmlsec1 --output does.
	run := func(out string, name string, args ...string) time.Duration {
		cmd := exec.Command(name, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out != "" {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cmd.Stdout = f
		}
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
		}
		return time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := run(signed, bin, "message", "sign", "--cert", a.files.Cert, "--key", a.files.Key, in)
		ours[0] += t
		t = run("", bin, "message", "verify", "--ca", ca, signed)
		ours[1] += t
		rss = max(rss, peakRSS(b, bin, "message", "verify", "--ca", ca, signed))
		t = run("", xmlsec, "--sign", "--privkey-pem", a.files.Key+","+a.files.Cert, "--output", xsigned, tmpl)
		theirs[0] += t
		t = run("", xmlsec, "--verify", "--enabled-reference-uris", "empty", "--trusted-pem", ca, signed)
		theirs[1] += t
	}
	b.StopTimer()
	b.ReportMetric(float64(ours[0])/float64(theirs[0]), "sign/xmlsec1")
	b.ReportMetric(float64(ours[1])/float64(theirs[1]), "verify/xmlsec1")
	b.ReportMetric(float64(ours[0].Milliseconds())/float64(b.N), "sign-ms")
	b.ReportMetric(float64(ours[1].Milliseconds())/float64(b.N), "verify-ms")
	b.ReportMetric(float64(rss)/float64(len(unsigned)), "verify-peak-rss/msg")
}

// peakRSS runs a command under GNU time and returns its peak resident
// memory: the rusage of a child forked from this process would count the
// memory it shared with us before its exec.
func peakRSS(b *testing.B, name string, args ...string) int64 {
	cmd := exec.Command(gnuTime(b), append([]string{"-f", "%M", name}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", name, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		b.Fatalf("GNU time said %q", stderr.String())
	}
	return kb << 10
}

// gnuTime is GNU time's path (the shell's builtin has no -f).
func gnuTime(b *testing.B) string {
	p := "/usr/bin/time"
	if _, err := os.Stat(p); err != nil {
		extools.Require(b, "gnu-time") // fails (or skips) naming the package
	}
	return p
}

// xmlsecTemplate is the Signature xmlsec1 fills in: the SEOS profile.
const xmlsecTemplate = `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>` +
	`<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms>` +
	`<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>`

// BenchmarkConcurrentLarge is the last row and the configuration's
// worst case on a whole process: 32 Submits of 20 MiB documents at once,
// and then 32 hostile requests of 60 MiB at once (a text run the reader
// would hold), each against a fresh `seosgw serve`. It reports the
// receiver's peak RSS (VmHWM) per request, and over the 20 MiB document.
func BenchmarkConcurrentLarge(b *testing.B) {
	const n = 32
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		r := newReceiver(b, dir, filepath.Join(dir, "b.db"))
		r.fields["ENDPOINT"] = ", max_concurrent: 32, max_concurrent_per_peer: 32"
		writeConfig(b, r.cfg, r.fields)
		o := loadtest.Options{From: r.a.entity, To: r.b.entity, Identity: r.a.id, N: n, C: n, Size: 20 << 20,
			TLS: testkit.ClientTLS(r.a.id, r.tp.Authority.Pool(), "b.obmen.local")}
		honest, err := loadtest.Prepare(o)
		if err != nil {
			b.Fatal(err)
		}
		hostile := make([][]byte, n)
		text := strings.Repeat("текст ", (60<<20)/len("текст "))
		m := registrationMsg(r.a.entity, r.b.entity, seos.NewGUID())
		unsigned, _ := m.Marshal()
		for k := range hostile {
			msg := strings.Replace(string(unsigned), "</Document>", "<DocAddData>"+text+"</DocAddData></Document>", 1)
			env, err := soap.Submit([]byte(msg))
			if err != nil {
				b.Fatal(err)
			}
			hostile[k] = env
		}
		for _, run := range []struct {
			name   string
			envs   [][]byte
			honest bool
		}{{"20MiB", honest, true}, {"hostile60MiB", hostile, false}} {
			node := r.start(b, filepath.Join(dir, run.name+".log"))
			o.URL = r.url
			base, _ := node.PeakRSS()
			rep, err := loadtest.Send(context.Background(), o, run.envs)
			if err != nil {
				b.Fatal(err)
			}
			if run.honest && rep.Accepted != n || !run.honest && rep.Refused != n {
				b.Fatalf("%s: %d accepted, %d refused, %d failed: %s", run.name, rep.Accepted, rep.Refused, rep.Failed, rep.FirstProblem)
			}
			peak, err := node.PeakRSS()
			if err != nil {
				b.Fatal(err)
			}
			node.Stop(syscall.SIGTERM)
			b.ReportMetric(float64(peak-base)/n/(1<<20), run.name+"-rss-MiB/request")
			b.ReportMetric(float64(peak)/(1<<20), run.name+"-peak-rss-MiB")
			if run.honest {
				b.ReportMetric(float64(peak)/n/float64(o.Size), run.name+"-rss/document")
			}
		}
	}
}
