package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ChromiumCommand is the browser that prints report.pdf: Debian's chromium.
const ChromiumCommand = "chromium"

// FindChromium returns the path of Debian's chromium, or an error that says
// how to get it. A run with --pdf checks it first, so a half-hour run does
// not end without its PDF.
func FindChromium() (string, error) {
	p, err := exec.LookPath(ChromiumCommand)
	if err != nil {
		return "", fmt.Errorf("report.pdf needs Debian's chromium, which is not installed (apt-get install chromium): %w", err)
	}
	return p, nil
}

// pdfTimeout bounds one print; Chromium prints a report in about a second.
const pdfTimeout = 2 * time.Minute

// PrintPDF renders an HTML report to PDF with headless Chromium. The
// browser gets a fresh profile, no network (the report is self-contained,
// and no host name resolves), and the page's own A4 layout.
func PrintPDF(ctx context.Context, htmlPath, pdfPath string) error {
	bin, err := FindChromium()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "seosgw-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(ctx, pdfTimeout)
	defer cancel()
	tmp := pdfPath + ".tmp"
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-pdf-header-footer",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir="+profile, "--print-to-pdf="+tmp,
		(&url.URL{Scheme: "file", Path: abs}).String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	b, err := os.ReadFile(tmp)
	if runErr != nil || err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		os.Remove(tmp)
		return fmt.Errorf("chromium could not print %s: %w\n%s", htmlPath, errors.Join(runErr, err), lastLines(out.String(), 5))
	}
	if err := os.Rename(tmp, pdfPath); err != nil {
		return fmt.Errorf("report.pdf: %w", err)
	}
	return nil
}

// lastLines keeps the end of Chromium's chatter, where its error is.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
