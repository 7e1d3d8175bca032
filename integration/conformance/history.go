package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

// History lists the runs kept in a report folder (history.json), newest last.
type History struct {
	Runs []HistoryEntry `json:"runs"`
}

// HistoryEntry is one run in the history.
type HistoryEntry struct {
	RunID       string    `json:"runId"`
	Participant string    `json:"participant"`
	Name        string    `json:"name,omitempty"`
	Target      string    `json:"target,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
	DurationMS  int64     `json:"durationMs"`
	Verdict     Verdict   `json:"verdict"`
	Summary     Summary   `json:"summary"`
	Failed      []string  `json:"failed,omitempty"`
	Error       string    `json:"error,omitempty"`
	Recorded    string    `json:"recorded,omitempty"`
	Report      string    `json:"report"` // HTML report, relative to the folder
	JSON        string    `json:"json"`
}

// ReadHistory reads dir/history.json; a missing file is an empty history.
func ReadHistory(dir string) (*History, error) {
	b, err := os.ReadFile(filepath.Join(dir, "history.json"))
	if errors.Is(err, os.ErrNotExist) {
		return &History{Runs: []HistoryEntry{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var h History
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "history.json"), err)
	}
	return &h, nil
}

// appendHistory adds a run to history.json and rewrites index.html.
func appendHistory(dir string, r *Report) error {
	h, err := ReadHistory(dir)
	if err != nil {
		return err
	}
	e := HistoryEntry{RunID: r.RunID, Participant: r.Participant, Target: r.Target, StartedAt: r.StartedAt, DurationMS: r.DurationMS,
		Verdict: r.Verdict, Summary: r.Summary, Failed: r.Failed(), Error: r.Error, Recorded: r.Recorded,
		Report: r.Files["html"], JSON: r.Files["json"]}
	if r.Setup.Entry != nil {
		e.Name = r.Setup.Entry.AdministrativeBodyName
	}
	h.Runs = append(h.Runs, e)
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "history.json"), append(b, '\n')); err != nil {
		return err
	}
	var idx strings.Builder
	lang := r.Lang
	if lang == "" {
		lang = Bulgarian
	}
	if err := writeIndex(&idx, h, lang); err != nil {
		return fmt.Errorf("history: index.html: %w", err)
	}
	return writeAtomic(filepath.Join(dir, "index.html"), []byte(idx.String()))
}

func (s *suite) reportPath(name string) string {
	p, err := filepath.Abs(filepath.Join(s.dir, name))
	if err != nil {
		return filepath.Join(s.dir, name)
	}
	return p
}

// ParseUntil reads --until: a date YYYY-MM-DD (runs may start until the
// end of that day, Bulgarian time) or an RFC 3339 instant.
func ParseUntil(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), clock.Sofia)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date YYYY-MM-DD nor an RFC 3339 time", s)
	}
	return d.AddDate(0, 0, 1), nil
}

// Schedule runs the suite every `every` from now until `until` (no run
// starts after it), keeping each run's report and the history, and returns
// the last run's report. A run that takes longer than `every` is followed
// at once by the next.
func Schedule(ctx context.Context, opt Options, every time.Duration, until time.Time) (*Report, error) {
	if every <= 0 {
		return nil, errors.New("--every must be a positive duration")
	}
	clk := opt.Clock
	if clk == nil {
		clk = clock.System
	}
	if !clk.Now().Before(until) {
		return nil, fmt.Errorf("--until %s is not in the future", until.Format(time.RFC3339))
	}
	return schedule(ctx, clk, every, until, func(ctx context.Context) (*Report, error) { return Run(ctx, opt) }, opt.Out)
}

func schedule(ctx context.Context, clk clock.Clock, every time.Duration, until time.Time, run func(context.Context) (*Report, error), out interface{ Write([]byte) (int, error) }) (*Report, error) {
	var last *Report
	for n := 1; ; n++ {
		start := clk.Now()
		if out != nil {
			fmt.Fprintf(out, "== run %d at %s (every %s until %s)\n", n, start.Local().Format("2006-01-02 15:04:05"), every, until.Local().Format("2006-01-02 15:04"))
		}
		rep, err := run(ctx)
		if rep != nil {
			last = rep
		}
		if err != nil {
			// This run's report when there is one, with the error saying
			// what of it could not be written.
			return last, err
		}
		next := start.Add(every)
		if !next.Before(until) || ctx.Err() != nil {
			return last, nil
		}
		if out != nil {
			fmt.Fprintf(out, "next run at %s\n\n", next.Local().Format("2006-01-02 15:04:05"))
		}
		select {
		case <-ctx.Done():
			return last, nil
		case <-time.After(next.Sub(clk.Now())):
		}
	}
}
