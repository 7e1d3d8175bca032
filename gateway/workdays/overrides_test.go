package workdays

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOverridesChangeResults(t *testing.T) {
	o, err := LoadOverrides("testdata/overrides.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Years(); len(got) != 2 || got[0] != 2025 || got[1] != 2026 {
		t.Errorf("Years() = %v, want [2025 2026]", got)
	}
	if got := o.Note(2025); got != "RMS decision (test fixture)" {
		t.Errorf("Note(2025) = %q", got)
	}
	plain, decreed := New(Overrides{}), New(o)

	sat, mon := date(t, "2025-12-20"), date(t, "2025-12-29")
	for _, tc := range []struct {
		name       string
		cal        *Calendar
		satWorking bool
		monWorking bool
	}{
		{"statute", plain, false, true},
		{"decree", decreed, true, false},
	} {
		if got := tc.cal.IsWorkingDay(sat); got != tc.satWorking {
			t.Errorf("%s: IsWorkingDay(Sat 2025-12-20) = %v", tc.name, got)
		}
		if got := tc.cal.IsWorkingDay(mon); got != tc.monWorking {
			t.Errorf("%s: IsWorkingDay(Mon 2025-12-29) = %v", tc.name, got)
		}
	}

	from := date(t, "2025-12-19") // Friday
	for _, tc := range []struct {
		n             int
		plain, decree string
	}{
		{1, "2025-12-22", "2025-12-20"},
		{3, "2025-12-29", "2025-12-23"},
		{4, "2025-12-30", "2025-12-30"},
		{5, "2025-12-31", "2025-12-31"},
		// 2 Jan 2026 off, Saturday 17 Jan worked.
		{10, "2026-01-08", "2026-01-09"},
		{16, "2026-01-16", "2026-01-17"},
	} {
		if got := plain.AddWorkingDays(from, tc.n).Format(dateLayout); got != tc.plain {
			t.Errorf("statute: AddWorkingDays(2025-12-19, %d) = %s, want %s", tc.n, got, tc.plain)
		}
		if got := decreed.AddWorkingDays(from, tc.n).Format(dateLayout); got != tc.decree {
			t.Errorf("decree: AddWorkingDays(2025-12-19, %d) = %s, want %s", tc.n, got, tc.decree)
		}
	}
	if a, b := plain.WorkingDaysBetween(from, date(t, "2025-12-23")), decreed.WorkingDaysBetween(from, date(t, "2025-12-23")); a != 2 || b != 3 {
		t.Errorf("WorkingDaysBetween(2025-12-19, 2025-12-23) = %d statute, %d decree; want 2, 3", a, b)
	}

	h, ok := decreed.Holiday(mon)
	if !ok || h.Kind != Decree || h.Note != "RMS decision (test fixture)" || !h.Date.Equal(mon) {
		t.Errorf("Holiday(2025-12-29) = %+v, %v", h, ok)
	}
	var listed bool
	for _, h := range decreed.Holidays(2025) {
		listed = listed || h.Kind == Decree && h.Date.Format(dateLayout) == "2025-12-29"
	}
	if !listed {
		t.Errorf("Holidays(2025) does not list the decree day 2025-12-29")
	}
}

// A substitute day may be made working (to correct our reading of art.
// 154(2)); it then stops being listed as a holiday.
func TestOverrideWorkingSubstitute(t *testing.T) {
	o, err := ParseOverrides([]byte("years:\n  2025:\n    working: [2025-05-26]\n    off: [2025-05-27]\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := New(o)
	if !c.IsWorkingDay(date(t, "2025-05-26")) || c.IsWorkingDay(date(t, "2025-05-27")) {
		t.Errorf("override of substitute day 2025-05-26 not applied")
	}
	if h, ok := c.Holiday(date(t, "2025-05-26")); ok {
		t.Errorf("Holiday(2025-05-26) = %+v, want none", h)
	}
}

func TestParseOverridesEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing yet\n", "years:\n", "years: {}\n", "years:\n  2025:\n", "~\n"} {
		o, err := ParseOverrides([]byte(in))
		if err != nil {
			t.Errorf("ParseOverrides(%q): %v", in, err)
			continue
		}
		if len(o.Years()) > 1 {
			t.Errorf("ParseOverrides(%q) = %v", in, o.Years())
		}
	}
}

func TestParseOverridesErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string // substrings of the error
	}{
		{"date outside its year", "years:\n  2025:\n    off: [2026-01-05]\n",
			[]string{"line 3", "years.2025.off[0]", `"2026-01-05"`, "not in year 2025"}},
		{"not a date", "years:\n  2025:\n    off: [\"2025-13-01\"]\n",
			[]string{"years.2025.off[0]", `"2025-13-01"`, "YYYY-MM-DD"}},
		{"no such day", "years:\n  2025:\n    off: [2025-02-29]\n",
			[]string{"years.2025.off[0]", `"2025-02-29"`}},
		{"both off and working", "years:\n  2025:\n    off: [2025-12-29]\n    working: [2025-12-29]\n",
			[]string{"years.2025.working[0]", `"2025-12-29"`, "also given in years.2025.off[0]"}},
		{"repeated date", "years:\n  2025:\n    off: [2025-12-29, 2025-12-29]\n",
			[]string{"years.2025.off[1]", "also given in years.2025.off[0]"}},
		{"off on a weekend", "years:\n  2025:\n    off: [2025-12-27]\n",
			[]string{"years.2025.off[0]", "already a non-working day (Saturday)"}},
		{"off on a holiday", "years:\n  2025:\n    off: [2025-12-24]\n",
			[]string{"years.2025.off[0]", "Christmas Eve"}},
		{"working on a weekday", "years:\n  2025:\n    working: [2025-12-22]\n",
			[]string{"years.2025.working[0]", "already a working day (Monday)"}},
		{"working on a public holiday", "years:\n  2025:\n    working: [2025-12-25]\n",
			[]string{"years.2025.working[0]", "public holiday (Christmas Day) cannot be made a working day"}},
		{"bad year key", "years:\n  twenty25:\n    off: [2025-12-29]\n",
			[]string{"line 2", "years", `"twenty25"`, "year"}},
		{"year twice", "years:\n  2025:\n    off: [2025-12-29]\n  2025:\n    off: [2025-12-30]\n",
			[]string{"line 4", "years.2025", "twice"}},
		{"unknown year field", "years:\n  2025:\n    of: [2025-12-29]\n",
			[]string{"years.2025.of", "unknown field"}},
		{"unknown top field", "year:\n  2025: {}\n",
			[]string{"year", "unknown field"}},
		{"off not a list", "years:\n  2025:\n    off: 2025-12-29\n",
			[]string{"years.2025.off", "must be a list"}},
		{"date not a scalar", "years:\n  2025:\n    off: [[2025-12-29]]\n",
			[]string{"years.2025.off[0]", "YYYY-MM-DD"}},
		{"note not a string", "years:\n  2025:\n    note: [a]\n",
			[]string{"years.2025.note", "string"}},
		{"years not a mapping", "years: [2025]\n",
			[]string{"years", "mapping"}},
		{"alias", "a: &x [2025-12-29]\nyears:\n  2025:\n    off: *x\n",
			[]string{"line 1", "anchors and aliases"}},
		{"alias inside years", "years:\n  2025: &y {off: [2025-12-29]}\n  2026: *y\n",
			[]string{"anchors and aliases"}},
		{"two documents", "years: {}\n---\nyears: {}\n",
			[]string{"more than one YAML document"}},
		{"YAML syntax", "years:\n  2025: [\n",
			[]string{"parse YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOverrides([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseOverrides(%q) = nil error", tc.in)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadOverridesErrorsNameTheFile(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"testdata/bad_outside_year.yaml", []string{"testdata/bad_outside_year.yaml", "line 3", "years.2025.off[1]", `"2026-01-02"`, "not in year 2025"}},
		{"testdata/bad_both.yaml", []string{"testdata/bad_both.yaml", "years.2025.off[0]", `"2025-12-20"`, "also given in years.2025.working[0]"}},
		{"testdata/missing.yaml", []string{"testdata/missing.yaml"}},
	} {
		_, err := LoadOverrides(tc.file)
		if err == nil {
			t.Fatalf("LoadOverrides(%s) = nil error", tc.file)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("LoadOverrides(%s): error %q does not contain %q", tc.file, err, w)
			}
		}
	}
	_, err := LoadOverrides("testdata/bad_both.yaml")
	var oe *OverrideError
	if !errors.As(err, &oe) || oe.Field != "years.2025.off[0]" || oe.Value != "2025-12-20" || oe.Line != 4 {
		t.Errorf("errors.As(%v) = %+v", err, oe)
	}
	_, err = LoadOverrides(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error %v does not wrap os.ErrNotExist", err)
	}
}

func FuzzParseOverrides(f *testing.F) {
	for _, name := range []string{"overrides.yaml", "bad_outside_year.yaml", "bad_both.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("years:\n  2025:\n    working: [2025-05-26]\n    off: [2025-05-27]\n    note: x\n"))
	f.Add([]byte("years: {2024: {off: [2024-05-07]}}"))
	f.Add([]byte("a: &x [1]\nyears: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOverrides(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// Whatever parses must mean what it says.
		c := New(o)
		for _, y := range o.Years() {
			seen := map[time.Time]bool{}
			for _, d := range o.Off(y) {
				if d.Year() != y || seen[d] || c.IsWorkingDay(d) {
					t.Fatalf("year %d: off date %s accepted but inconsistent", y, d)
				}
				seen[d] = true
			}
			for _, d := range o.Working(y) {
				if d.Year() != y || seen[d] || !c.IsWorkingDay(d) {
					t.Fatalf("year %d: working date %s accepted but inconsistent", y, d)
				}
				seen[d] = true
			}
		}
	})
}
