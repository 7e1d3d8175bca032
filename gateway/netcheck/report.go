package netcheck

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/textsafe"
)

// Names of the checks; they are also the values of the metric label "check".
// A configured prefix adds a check named "route " + the prefix.
const (
	CheckInterface   = "interface"
	CheckDNS         = "dns"
	CheckRoute       = "route"
	CheckTCP         = "tcp"
	CheckTLS         = "tls"
	CheckCertificate = "certificate"
)

// PrefixCheck is the name of the route check for a network.prefixes entry.
func PrefixCheck(p netip.Prefix) string { return CheckRoute + " " + p.String() }

// Item is one line of the checklist.
type Item struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Skipped means the check was not tried because a check it needs failed;
	// a skipped item is never OK, and its Fix points at that check.
	Skipped bool `json:"skipped,omitempty"`
	// Warning marks a failure the node can serve with: our certificate
	// expires within network.cert_min_days. Preflight fails on it, but serve
	// neither refuses to start nor turns not ready (Report.Blocking).
	Warning bool   `json:"warning,omitempty"`
	Detail  string `json:"detail"`
	Fix     string `json:"fix,omitempty"`
}

// Report is the outcome of one run of the checks, in the order they ran.
type Report struct {
	Mode     Mode      `json:"mode"`
	Register string    `json:"register"` // host:port checked
	At       time.Time `json:"at"`
	Items    []Item    `json:"items"`
}

// OK reports whether every check passed.
func (r Report) OK() bool {
	for _, it := range r.Items {
		if !it.OK {
			return false
		}
	}
	return len(r.Items) > 0
}

// Item returns the item named name.
func (r Report) Item(name string) (Item, bool) {
	for _, it := range r.Items {
		if it.Name == name {
			return it, true
		}
	}
	return Item{}, false
}

// Err is nil when every check passed, else one error naming the failed checks
// (and those not tried because of them), with the first failure's detail.
func (r Report) Err() error {
	if r.OK() {
		return nil
	}
	failed, skipped := r.split()
	if len(failed) == 0 && len(skipped) == 0 {
		return errors.New("no network checks ran")
	}
	var b strings.Builder
	if len(failed) > 0 {
		fmt.Fprintf(&b, "network check %s failed: %s", failed[0].Name, failed[0].Detail)
		for _, it := range failed[1:] {
			fmt.Fprintf(&b, "; %s failed", it.Name)
		}
	}
	if len(skipped) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("not tried: " + names(skipped))
	}
	return errors.New(b.String())
}

// RegisterOnly reports whether the only failures are the register host's
// own (tcp, tls) while every check of the path to it passed: a register
// outage, not ours. It returns the first failed item.
func (r Report) RegisterOnly() (Item, bool) {
	var first Item
	for _, it := range r.Items {
		switch {
		case it.OK || it.Warning:
		case it.Name == CheckTCP && !it.Skipped, it.Name == CheckTLS:
			if first.Name == "" {
				first = it
			}
		default:
			return Item{}, false
		}
	}
	return first, first.Name != ""
}

// Blocking is Err without the warnings: nil when the node can serve.
func (r Report) Blocking() error {
	var blocking []Item
	for _, it := range r.Items {
		if !it.Warning {
			blocking = append(blocking, it)
		}
	}
	if len(r.Items) > 0 && len(blocking) == 0 {
		return nil
	}
	return Report{Items: blocking}.Err()
}

func (r Report) split() (failed, skipped []Item) {
	for _, it := range r.Items {
		switch {
		case it.Skipped:
			skipped = append(skipped, it)
		case !it.OK:
			failed = append(failed, it)
		}
	}
	return failed, skipped
}

func names(items []Item) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = it.Name
	}
	return strings.Join(s, ", ")
}

// Write prints the checklist for an operator: one line per check marked
// [ok], [FAIL] or [skip] (not tried), the fix under each that did not pass,
// and a last line with the verdict. Plain ASCII, so that it reads the same
// on a serial console, in the journal and in a ticket.
func (r Report) Write(w io.Writer) error {
	width := 0
	for _, it := range r.Items {
		width = max(width, len(it.Name))
	}
	var b strings.Builder
	register := r.Register
	if register == "" {
		register = "(register.url has no host)"
	}
	fmt.Fprintf(&b, "SEOS network preflight: mode %s, register %s\n", r.Mode, register)
	indent := strings.Repeat(" ", 7+width+2)
	for _, it := range r.Items {
		mark := "[ok]  "
		switch {
		case it.Skipped:
			mark = "[skip]"
		case !it.OK:
			mark = "[FAIL]"
		}
		// Details quote what the network answered (DNS, TLS alerts, the
		// register's first line): made safe like every operator output.
		fmt.Fprintf(&b, "%s %-*s  %s\n", mark, width, it.Name, textsafe.Cut(it.Detail, textsafe.MaxText))
		if !it.OK && it.Fix != "" {
			fmt.Fprintf(&b, "%sfix: %s\n", indent, textsafe.Cut(it.Fix, textsafe.MaxText))
		}
	}
	failed, skipped := r.split()
	switch {
	case r.OK():
		fmt.Fprintf(&b, "preflight passed: %d checks ok\n", len(r.Items))
	default:
		fmt.Fprintf(&b, "preflight FAILED: %s", names(failed))
		if len(skipped) > 0 {
			if len(failed) > 0 {
				b.WriteString("; ")
			}
			b.WriteString("not tried: " + names(skipped))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
