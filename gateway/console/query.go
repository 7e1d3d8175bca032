package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/textsafe"
)

// filter is what a list page's query string asks for, checked: a value
// that does not fit is a problem named by its parameter, never passed on.
type filter struct {
	State     string
	Peer      string
	GUID      string
	Outcome   string
	Direction string
	Since     time.Time
	Until     time.Time
	Held      bool
	Search    string
	Before    int64 // keyset pagination: ids below this
	Page      int   // offset pagination (participants), from 0
	Limit     int
}

// filterRules says which parameters a page takes and their allowed values.
type filterRules struct {
	states   []string // allowed values of state; nil: no state parameter
	outcomes bool
	pageSize int
}

// maxSearch bounds the free-text search of the participants page.
const maxSearch = 200

// maxQuery bounds a list page's whole query string: every filter a page
// offers fits in a few hundred bytes, and unknown parameters are ignored,
// so a longer one is no browser's.
const maxQuery = 2048

// pageFilter is parseFilter of r's query, refused whole when it is longer
// than maxQuery.
func pageFilter(r *http.Request, rules filterRules) (filter, error) {
	if len(r.URL.RawQuery) > maxQuery {
		return filter{Limit: rules.pageSize}, fmt.Errorf("the query is %d bytes; at most %d", len(r.URL.RawQuery), maxQuery)
	}
	return parseFilter(r.URL.Query(), rules)
}

// shown is a refused value as a problem quotes it: cut, so that the page
// does not carry whatever text a link put there.
func shown(s string) string { return strconv.Quote(textsafe.Cut(s, 64)) }

// parseFilter reads a page's query. Unknown parameters are ignored (a
// browser adds none); known ones must be valid.
func parseFilter(v url.Values, rules filterRules) (filter, error) {
	f := filter{Limit: rules.pageSize}
	var problems []string
	bad := func(param, format string, args ...any) {
		problems = append(problems, param+": "+fmt.Sprintf(format, args...))
	}
	for key, vals := range v {
		if len(vals) > 1 {
			bad(textsafe.Cut(key, 64), "given %d times; give it once", len(vals))
		}
	}
	if s := v.Get("state"); s != "" {
		if !slices.Contains(rules.states, s) {
			bad("state", "%s is not one of %s", shown(s), strings.Join(rules.states, ", "))
		} else {
			f.State = s
		}
	}
	if s := strings.TrimSpace(v.Get("peer")); s != "" {
		if !seos.IsGUID(s) {
			bad("peer", "%s is not a participant GUID in braces", shown(s))
		} else {
			f.Peer = s
		}
	}
	if s := strings.TrimSpace(v.Get("guid")); s != "" {
		if !seos.IsGUID(s) {
			bad("guid", "%s is not a MessageGUID or DocumentGUID in braces", shown(s))
		} else {
			f.GUID = s
		}
	}
	if s := v.Get("outcome"); s != "" {
		if !rules.outcomes || !validWord(s) {
			bad("outcome", "%s is not an outcome such as accepted, refused, sent, failed", shown(s))
		} else {
			f.Outcome = s
		}
	}
	if s := v.Get("direction"); s != "" {
		if s != "in" && s != "out" {
			bad("direction", "%s; use in or out", shown(s))
		} else {
			f.Direction = s
		}
	}
	for _, t := range []struct {
		param string
		dst   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if s := strings.TrimSpace(v.Get(t.param)); s != "" {
			at, err := parseWhen(s)
			if err != nil {
				bad(t.param, "%s is not a time like 2026-11-23T10:00 (Sofia time) or RFC 3339", shown(s))
			} else {
				*t.dst = at
			}
		}
	}
	switch v.Get("held") {
	case "", "0":
	case "1":
		f.Held = true
	default:
		bad("held", "use 1 or leave it out")
	}
	if s := v.Get("q"); s != "" {
		if len(s) > maxSearch {
			bad("q", "longer than %d bytes", maxSearch)
		} else {
			f.Search = strings.TrimSpace(s)
		}
	}
	if s := v.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			bad("before", "%s is not a positive number", shown(s))
		} else {
			f.Before = n
		}
	}
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1_000_000 {
			bad("page", "%s is not a page number", shown(s))
		} else {
			f.Page = n
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			bad("limit", "%s is not a positive number", shown(s))
		} else {
			f.Limit = min(n, maxPage) // bounded whatever is asked
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return f, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return f, nil
}

// validWord is an outcome or reason as the log writes them.
func validWord(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// parseWhen reads a time as a datetime-local field sends it (Sofia time)
// or as RFC 3339.
func parseWhen(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, clock.Sofia); err == nil {
			return t, nil
		}
	}
	return time.Parse(time.RFC3339, s)
}

// encode writes f back as a query string (for the next page's link).
func (f filter) encode(before int64, page int) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("state", f.State)
	set("peer", f.Peer)
	set("guid", f.GUID)
	set("outcome", f.Outcome)
	set("direction", f.Direction)
	set("q", f.Search)
	if !f.Since.IsZero() {
		v.Set("since", f.Since.In(clock.Sofia).Format("2006-01-02T15:04"))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.In(clock.Sofia).Format("2006-01-02T15:04"))
	}
	if f.Held {
		v.Set("held", "1")
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	if page > 0 {
		v.Set("page", strconv.Itoa(page))
	}
	return v.Encode()
}
