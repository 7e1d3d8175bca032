// Package loadtest drives a running SEOS endpoint with signed document
// registrations over mutual TLS, as many peers at once would, and reports
// what it took: throughput, latency, refusals, and the endpoint's CPU time
// per Submit read from its /metrics. `seosgw bench submit` wires it.
package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// Options of a run.
type Options struct {
	From     seos.Entity   // the sender: this node
	To       seos.Entity   // the recipient, as its register entry names it
	Identity *pki.Identity // our transport certificate: TLS and signatures
	// TLS is the client configuration for the recipient (its certificate
	// checked); Identity's certificate is presented.
	TLS      *tls.Config
	URL      string // the recipient's endpoint
	N        int    // registrations to send
	C        int    // at once (connections kept alive)
	Rate     int    // per second, 0: as fast as replies come
	Size     int    // attachment bytes
	Metrics  string // the recipient's /metrics URL ("" : no CPU figure)
	Progress io.Writer
}

// Report is what a run measured.
type Report struct {
	N, C, Accepted, Refused, Failed int
	Prepare                         time.Duration // signing the messages, before the run
	Elapsed                         time.Duration
	P50, P99, Max                   time.Duration
	// CPUPerSubmit is the recipient's process CPU time over the run per
	// Submit sent (0 when not measured).
	CPUPerSubmit time.Duration
	FirstProblem string
}

// Throughput is Submits per second.
func (r *Report) Throughput() float64 { return float64(r.N) / r.Elapsed.Seconds() }

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent %d registrations (%d at once) in %s: %.0f/s\n", r.N, r.C, r.Elapsed.Round(time.Millisecond), r.Throughput())
	fmt.Fprintf(&b, "latency: p50 %s, p99 %s, max %s\n", r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
	fmt.Fprintf(&b, "replies: %d accepted (DS_WAIT_REGISTRATION), %d refused, %d failed (no reply)\n", r.Accepted, r.Refused, r.Failed)
	if r.CPUPerSubmit > 0 {
		fmt.Fprintf(&b, "recipient CPU: %s per Submit (process_cpu_seconds_total)\n", r.CPUPerSubmit.Round(time.Microsecond))
	}
	if r.FirstProblem != "" {
		fmt.Fprintf(&b, "first problem: %s\n", r.FirstProblem)
	}
	fmt.Fprintf(&b, "(messages signed beforehand in %s)\n", r.Prepare.Round(time.Millisecond))
	return b.String()
}

// Run prepares N signed registrations, then sends them C at a time.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.N < 1 || o.C < 1 {
		return nil, errors.New("loadtest: N and C must be at least 1")
	}
	start := time.Now()
	envs, err := Prepare(o)
	if err != nil {
		return nil, err
	}
	rep, err := Send(ctx, o, envs)
	if rep != nil {
		rep.Prepare = time.Since(start) - rep.Elapsed
	}
	return rep, err
}

// Prepare signs N distinct registrations (new DocumentGUIDs and
// MessageGUIDs), on every core, and wraps them in Submit envelopes.
func Prepare(o Options) ([][]byte, error) {
	att := make([]byte, o.Size)
	for i := range att {
		att[i] = byte('A' + i%26)
	}
	signer := &xmldsig.Signer{Key: o.Identity.Key, Cert: o.Identity.Cert, Hash: xmldsig.SHA256}
	envs := make([][]byte, o.N)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.N {
					return
				}
				m := seos.NewMessage(o.From, o.To, time.Now(), seos.Body{RegistrationRequest: &seos.RegistrationRequest{
					Document: seos.Document{ID: seos.DocumentID{GUID: seos.NewGUID()}, Kind: "Писмо", About: seos.Str(fmt.Sprintf("Натоварване %d", i)),
						Attachments: []seos.Attachment{{FileName: "test.txt", MIMEType: "text/plain", Body: seos.Base64Of(att)}}},
					Comment: "тест на натоварване: не е нужно да се регистрира"}})
				signed, err := signer.SignMessage(m)
				if err == nil {
					envs[i], err = soap.Submit(signed)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return envs, firstErr
}

// Send posts the envelopes C at a time over kept-alive connections.
func Send(ctx context.Context, o Options, envs [][]byte) (*Report, error) {
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     o.TLS,
		MaxIdleConnsPerHost: o.C,
		MaxConnsPerHost:     o.C,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ForceAttemptHTTP2:   false,
	}, Timeout: 5 * time.Minute}
	defer client.CloseIdleConnections()
	cpu0, cpuErr := cpuSeconds(ctx, o.Metrics)
	rep := &Report{N: len(envs), C: o.C}
	lat := make([]time.Duration, len(envs))
	var mu sync.Mutex
	problem := func(s string) {
		mu.Lock()
		if rep.FirstProblem == "" {
			rep.FirstProblem = s
		}
		mu.Unlock()
	}
	var accepted, refused, failed atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.C; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t0 := time.Now()
				ok, why := submit(ctx, client, o.URL, envs[i])
				lat[i] = time.Since(t0)
				switch {
				case ok:
					accepted.Add(1)
				case why == "":
					failed.Add(1)
				default:
					refused.Add(1)
					problem(why)
				}
			}
		}()
	}
	var tick <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(o.Rate))
		defer t.Stop()
		tick = t.C
	}
	for i := range envs {
		if tick != nil {
			<-tick
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- i
		if o.Progress != nil && (i+1)%max(len(envs)/10, 1) == 0 {
			fmt.Fprintf(o.Progress, "%d/%d\n", i+1, len(envs))
		}
	}
	close(jobs)
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.Accepted, rep.Refused, rep.Failed = int(accepted.Load()), int(refused.Load()), int(failed.Load())
	slices.Sort(lat)
	rep.P50, rep.P99, rep.Max = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
	if o.Metrics != "" {
		cpu1, err := cpuSeconds(ctx, o.Metrics)
		if err = errors.Join(cpuErr, err); err != nil {
			return rep, fmt.Errorf("loadtest: the recipient's CPU time: %w", err)
		}
		rep.CPUPerSubmit = time.Duration((cpu1 - cpu0) / float64(len(envs)) * float64(time.Second))
	}
	return rep, ctx.Err()
}

// submit posts one envelope; ok when the reply is DS_WAIT_REGISTRATION,
// else why ("" when there was no reply at all).
func submit(ctx context.Context, c *http.Client, url string, env []byte) (ok bool, why string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(env))
	if err != nil {
		return false, ""
	}
	req.Header.Set("Content-Type", soap.ContentType)
	req.Header.Set("SOAPAction", `"`+soap.Action+`"`)
	resp, err := c.Do(req)
	if err != nil {
		return false, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, ""
	}
	result, err := soap.ParseSubmitResponse(body)
	if err != nil {
		return false, fmt.Sprintf("HTTP %d: %v", resp.StatusCode, err)
	}
	// The status and the error's text are all the load needs from a reply:
	// read them off the tokens, leaving the cores to the endpoint.
	status, description, err := replyStatus(result)
	switch {
	case err != nil:
		return false, "reply: " + err.Error()
	case status == string(seos.StatusWaitRegistration):
		return true, ""
	case description != "":
		return false, description
	}
	return false, "reply status " + status
}

// replyStatus reads DocRegStatus and ErrorDescription from a reply.
func replyStatus(b []byte) (status, description string, err error) {
	tz := xmltok.NewBytes(b, xmltok.Limits{})
	var in string
	for {
		tok, err := tz.Next()
		if err == io.EOF {
			return status, description, nil
		}
		if err != nil {
			return "", "", err
		}
		switch tok.Kind {
		case xmltok.StartElement:
			in = tok.Name.Local
		case xmltok.EndElement:
			in = ""
		case xmltok.Text:
			switch in {
			case "DocRegStatus":
				status += string(tok.Data)
			case "ErrorDescription":
				description += string(tok.Data)
			}
		}
	}
}

// cpuSeconds reads process_cpu_seconds_total from a /metrics page.
func cpuSeconds(ctx context.Context, url string) (float64, error) {
	if url == "" {
		return 0, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s has no process_cpu_seconds_total", url)
}
