package extools

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Browser is headless Chromium (Debian's chromium) driven over the DevTools
// protocol on a pipe (--remote-debugging-pipe: NUL-terminated JSON on file
// descriptors 3 and 4), so tests can ask a real browser what a page shows
// without a network port or a client library.
type Browser struct {
	cmd     *exec.Cmd
	in      *os.File // commands to Chromium (its fd 3)
	session string
	nextID  int
	mu      sync.Mutex
	replies map[int]chan cdpMessage
	events  chan cdpMessage
	done    chan struct{}
	err     error // why the reader stopped
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// cdpTimeout bounds one command; a page of the tests renders in well under it.
const cdpTimeout = time.Minute

// StartBrowser starts headless Chromium with a page of width×height CSS
// pixels. The browser resolves no host names: pages under test are local
// files or served on loopback addresses (http://127.0.0.1:PORT). It skips, or fails under SEOSGW_REQUIRE_TOOLS=1, without chromium.
func StartBrowser(t testing.TB, width, height int) *Browser {
	t.Helper()
	bin := Require(t, "chromium")
	profile := t.TempDir()
	toChrome, in, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--hide-scrollbars", "--remote-debugging-pipe", "--user-data-dir="+profile, "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fds 3 and 4
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	toChrome.Close()
	fromChrome.Close()
	b := &Browser{cmd: cmd, in: in, replies: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 256), done: make(chan struct{})}
	go b.read(out)
	t.Cleanup(func() {
		b.call("", "Browser.close", nil, nil)
		in.Close()
		waited := make(chan struct{})
		go func() { cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-waited
		}
	})
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	b.session = attached.SessionID
	for _, c := range []struct {
		method string
		params map[string]any
	}{
		{"Page.enable", nil},
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}},
	} {
		if err := b.call(b.session, c.method, c.params, nil); err != nil {
			t.Fatalf("chromium %s: %v", c.method, err)
		}
	}
	return b
}

func (b *Browser) read(out *os.File) {
	defer close(b.done)
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadBytes(0)
		if err != nil {
			b.err = fmt.Errorf("chromium closed the DevTools pipe: %w", err)
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(line[:len(line)-1], &m); err != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.replies[m.ID]
			delete(b.replies, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody waits for this event
		}
	}
}

// call sends a command and decodes its result into out (when not nil).
func (b *Browser) call(session, method string, params any, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.replies[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := b.in.Write(append(raw, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: %w", method, b.err)
	case <-time.After(cdpTimeout):
		return fmt.Errorf("%s: no answer from chromium within %s", method, cdpTimeout)
	}
}

// Open loads url and waits for its load event.
func (b *Browser) Open(t testing.TB, url string) {
	t.Helper()
	b.drain()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.call(b.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil || nav.ErrorText != "" {
		t.Fatalf("chromium: open %s: %v %s", url, err, nav.ErrorText)
	}
	b.waitLoad(t, url)
}

// drain drops the events of an earlier page.
func (b *Browser) drain() {
	for {
		select {
		case <-b.events:
		default:
			return
		}
	}
}

// Type focuses the element selector names and types text into it, as
// keyboard input (Input.insertText), replacing what it held.
func (b *Browser) Type(t testing.TB, selector, text string) {
	t.Helper()
	var found bool
	b.Eval(t, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.focus(); e.select && e.select(); return true })()`, jsString(selector)), &found)
	if !found {
		t.Fatalf("chromium: no element %s to type into", selector)
	}
	if err := b.call(b.session, "Input.insertText", map[string]any{"text": text}, nil); err != nil {
		t.Fatalf("chromium: type into %s: %v", selector, err)
	}
}

// Click clicks the element selector names with the mouse, at its centre.
func (b *Browser) Click(t testing.TB, selector string) {
	t.Helper()
	var box struct {
		X, Y  float64
		Found bool
	}
	b.Eval(t, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return {found: false};
		e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
		return {x: r.left + r.width / 2, y: r.top + r.height / 2, found: true} })()`, jsString(selector)), &box)
	if !box.Found {
		t.Fatalf("chromium: no element %s to click", selector)
	}
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		if err := b.call(b.session, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": box.X, "y": box.Y, "button": "left", "clickCount": 1}, nil); err != nil {
			t.Fatalf("chromium: click %s: %v", selector, err)
		}
	}
}

// ClickAndWait clicks and waits for the page the click loads (a form's
// submission, a link).
func (b *Browser) ClickAndWait(t testing.TB, selector string) {
	t.Helper()
	b.drain()
	b.Click(t, selector)
	b.waitLoad(t, selector)
}

// Text is the text the element selector names shows ("" when there is
// none).
func (b *Browser) Text(t testing.TB, selector string) string {
	t.Helper()
	var s string
	b.Eval(t, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : "" })()`, jsString(selector)), &s)
	return s
}

// Count is how many elements selector matches.
func (b *Browser) Count(t testing.TB, selector string) int {
	t.Helper()
	var n int
	b.Eval(t, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(selector)), &n)
	return n
}

// URL is the address of the page shown.
func (b *Browser) URL(t testing.TB) string {
	t.Helper()
	var s string
	b.Eval(t, `location.href`, &s)
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (b *Browser) waitLoad(t testing.TB, what string) {
	t.Helper()
	url := what
	deadline := time.After(cdpTimeout)
	for {
		select {
		case ev := <-b.events:
			if ev.Method == "Page.loadEventFired" && ev.SessionID == b.session {
				return
			}
		case <-b.done:
			t.Fatalf("chromium: %v", b.err)
		case <-deadline:
			t.Fatalf("chromium: %s did not load within %s", url, cdpTimeout)
		}
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its
// (JSON-serialisable) value into out; a promise is awaited.
func (b *Browser) Eval(t testing.TB, expr string, out any) {
	t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if e := res.ExceptionDetails; e != nil {
		t.Fatalf("chromium: %s %s", e.Text, e.Exception.Description)
	}
	if err := json.Unmarshal(res.Result.Value, out); err != nil {
		t.Fatalf("chromium: evaluate: %v (%s)", err, res.Result.Value)
	}
}

// Screenshot returns a PNG of what the viewport shows.
func (b *Browser) Screenshot(t testing.TB) []byte {
	t.Helper()
	var res struct {
		Data string `json:"data"`
	}
	if err := b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		t.Fatalf("chromium: screenshot: %v", err)
	}
	return png
}

// ArtifactDir is where tests keep files for people to look at (screenshots,
// PDFs): $SEOSGW_TEST_ARTIFACTS when set, else the test's temporary folder.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SEOSGW_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}
