package workdays

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		t.Fatalf("bad test date %q: %v", s, err)
	}
	return d
}

func TestOrthodoxEaster(t *testing.T) {
	for _, tc := range []struct {
		year int
		want string
	}{
		{2017, "2017-04-16"},
		{2021, "2021-05-02"},
		{2022, "2022-04-24"},
		{2023, "2023-04-16"},
		{2024, "2024-05-05"},
		{2025, "2025-04-20"},
		{2026, "2026-04-12"},
		{2027, "2027-05-02"},
		{2028, "2028-04-16"},
		{2029, "2029-04-08"},
		{2030, "2030-04-28"},
	} {
		if got := OrthodoxEaster(tc.year).Format(dateLayout); got != tc.want {
			t.Errorf("OrthodoxEaster(%d) = %s, want %s", tc.year, got, tc.want)
		}
	}
}

// Orthodox Easter is a Sunday between 4 April and 8 May (Gregorian) in the
// 20th and 21st centuries; a wrong Julian–Gregorian gap breaks this.
func TestOrthodoxEasterRange(t *testing.T) {
	for y := 1900; y <= 2099; y++ {
		e := OrthodoxEaster(y)
		lo := time.Date(y, time.April, 4, 0, 0, 0, 0, time.UTC)
		hi := time.Date(y, time.May, 8, 0, 0, 0, 0, time.UTC)
		if e.Weekday() != time.Sunday || e.Before(lo) || e.After(hi) {
			t.Errorf("OrthodoxEaster(%d) = %s (%s), want a Sunday in 04-04..05-08", y, e.Format(dateLayout), e.Weekday())
		}
	}
}

// Expected days off other than ordinary weekends: "MM-DD P" for a public
// holiday, "MM-DD S" for a substitute day. 2017, 2021-2024 are checked
// against the calendars published for those years; 2025-2028 follow the rule.
var holidayYears = map[int][]string{
	2017: {"01-01 P", "01-02 S", "03-03 P", "04-14 P", "04-15 P", "04-16 P", "04-17 P",
		"05-01 P", "05-06 P", "05-08 S", "05-24 P", "09-06 P", "09-22 P",
		"12-24 P", "12-25 P", "12-26 P", "12-27 S"},
	// 1 May is Holy Saturday; its day off skips Easter Monday to 4 May.
	// 25 and 26 Dec on Sat/Sun give 27 and 28 Dec.
	2021: {"01-01 P", "03-03 P", "04-30 P", "05-01 P", "05-02 P", "05-03 P", "05-04 S",
		"05-06 P", "05-24 P", "09-06 P", "09-22 P",
		"12-24 P", "12-25 P", "12-26 P", "12-27 S", "12-28 S"},
	// 24 Sat and 25 Sun displace two days past the holiday Monday 26 Dec.
	2022: {"01-01 P", "01-03 S", "03-03 P", "04-22 P", "04-23 P", "04-24 P", "04-25 P",
		"05-01 P", "05-02 S", "05-06 P", "05-24 P", "09-06 P", "09-22 P",
		"12-24 P", "12-25 P", "12-26 P", "12-27 S", "12-28 S"},
	2023: {"01-01 P", "01-02 S", "03-03 P", "04-14 P", "04-15 P", "04-16 P", "04-17 P",
		"05-01 P", "05-06 P", "05-08 S", "05-24 P", "09-06 P", "09-22 P",
		"12-24 P", "12-25 P", "12-26 P", "12-27 S"},
	// 6 May is also Easter Monday, a weekday: no extra day.
	2024: {"01-01 P", "03-03 P", "03-04 S", "05-01 P", "05-03 P", "05-04 P", "05-05 P", "05-06 P",
		"05-24 P", "09-06 P", "09-22 P", "09-23 S", "12-24 P", "12-25 P", "12-26 P"},
	2025: {"01-01 P", "03-03 P", "04-18 P", "04-19 P", "04-20 P", "04-21 P", "05-01 P", "05-06 P",
		"05-24 P", "05-26 S", "09-06 P", "09-08 S", "09-22 P", "12-24 P", "12-25 P", "12-26 P"},
	// 26 Dec Saturday → Monday 28 Dec.
	2026: {"01-01 P", "03-03 P", "04-10 P", "04-11 P", "04-12 P", "04-13 P", "05-01 P", "05-06 P",
		"05-24 P", "05-25 S", "09-06 P", "09-07 S", "09-22 P", "12-24 P", "12-25 P", "12-26 P", "12-28 S"},
	// Same weekdays and Easter date as 2021.
	2027: {"01-01 P", "03-03 P", "04-30 P", "05-01 P", "05-02 P", "05-03 P", "05-04 S",
		"05-06 P", "05-24 P", "09-06 P", "09-22 P",
		"12-24 P", "12-25 P", "12-26 P", "12-27 S", "12-28 S"},
	// Leap year starting on Saturday: 1 Jan → 3 Jan, 6 May → 8 May, 24 Dec Sun → 27 Dec.
	2028: {"01-01 P", "01-03 S", "03-03 P", "04-14 P", "04-15 P", "04-16 P", "04-17 P",
		"05-01 P", "05-06 P", "05-08 S", "05-24 P", "09-06 P", "09-22 P",
		"12-24 P", "12-25 P", "12-26 P", "12-27 S"},
}

func TestHolidays(t *testing.T) {
	c := New(Overrides{})
	for year, want := range holidayYears {
		var got []string
		for _, h := range c.Holidays(year) {
			k := map[Kind]string{Public: "P", Substitute: "S", Decree: "D"}[h.Kind]
			got = append(got, h.Date.Format("01-02")+" "+k)
			if h.Date.Location() != sofia {
				t.Errorf("%d: Holidays date %s in %s, want Europe/Sofia", year, h.Date, h.Date.Location())
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("Holidays(%d):\n got %v\nwant %v", year, got, want)
		}
	}
}

func TestHolidayNames(t *testing.T) {
	c := New(Overrides{})
	for _, tc := range []struct {
		date, name, nameBG string
		kind               Kind
	}{
		{"2025-03-03", "Liberation Day", "Ден на Освобождението на България от османско иго", Public},
		{"2025-04-18", "Good Friday", "Велики петък", Public},
		{"2025-04-21", "Easter Monday", "Великден (втори ден)", Public},
		{"2024-05-06", "St George's Day, Day of Bravery and the Bulgarian Army; Easter Monday",
			"Гергьовден, Ден на храбростта и Българската армия; Великден (втори ден)", Public},
		{"2021-05-01", "Labour Day; Holy Saturday",
			"Ден на труда и на международната работническа солидарност; Велика събота", Public},
		{"2021-05-04", "Day off for Labour Day (2021-05-01)",
			"Почивен ден за Ден на труда и на международната работническа солидарност (2021-05-01)", Substitute},
		{"2022-12-28", "Day off for Christmas Day (2022-12-25)", "Почивен ден за Рождество Христово (2022-12-25)", Substitute},
	} {
		h, ok := c.Holiday(date(t, tc.date))
		if !ok || h.Name != tc.name || h.NameBG != tc.nameBG || h.Kind != tc.kind {
			t.Errorf("Holiday(%s) = %+v, %v; want %q / %q (%s)", tc.date, h, ok, tc.name, tc.nameBG, tc.kind)
		}
	}
	for _, d := range []string{"2025-03-04", "2025-03-08", "2025-11-01"} {
		if h, ok := c.Holiday(date(t, d)); ok {
			t.Errorf("Holiday(%s) = %+v, want none", d, h)
		}
	}
}

func TestIsWorkingDay(t *testing.T) {
	c := New(Overrides{})
	for _, tc := range []struct {
		date string
		want bool
	}{
		{"2025-03-03", false}, // Liberation Day, Monday
		{"2025-03-04", true},
		{"2025-03-08", false}, // Saturday
		{"2025-05-26", false}, // substitute for 24 May (Saturday)
		{"2025-11-01", false}, // Awakeners Day is a Saturday this year anyway
		{"2024-11-01", true},  // Awakeners Day, Friday: schools only
		{"2024-05-07", true},  // 6 May coincided with Easter Monday: no extra day
		{"2026-12-28", false},
		{"2026-12-29", true},
	} {
		if got := c.IsWorkingDay(date(t, tc.date)); got != tc.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", tc.date, got, tc.want)
		}
	}
}

// The calendar reads the civil date in the time's own location and ignores
// the time of day; SofiaDate is how an instant becomes such a date.
func TestCivilDates(t *testing.T) {
	c := New(Overrides{})
	late := time.Date(2025, time.March, 3, 23, 59, 59, 0, sofia) // Liberation Day
	if c.IsWorkingDay(late) {
		t.Errorf("IsWorkingDay(%s) = true, want false", late)
	}
	// 22:30 UTC on Sunday 30 March 2025 is 01:30 on Monday in Sofia (EEST).
	instant := time.Date(2025, time.March, 30, 22, 30, 0, 0, time.UTC)
	d := SofiaDate(instant)
	if d.Format(time.RFC3339) != "2025-03-31T00:00:00+03:00" {
		t.Errorf("SofiaDate(%s) = %s", instant, d.Format(time.RFC3339))
	}
	if c.IsWorkingDay(instant) || !c.IsWorkingDay(d) {
		t.Errorf("instant read as UTC Sunday must be off, its Sofia date Monday working")
	}
	// The result keeps the caller's location.
	got := c.AddWorkingDays(time.Date(2025, time.March, 28, 17, 0, 0, 0, sofia), 1)
	if got.Format(time.RFC3339) != "2025-03-31T00:00:00+03:00" {
		t.Errorf("AddWorkingDays across the DST change = %s", got.Format(time.RFC3339))
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := New(Overrides{})
	for _, tc := range []struct {
		name  string
		start string
		n     int
		want  string
	}{
		{"zero is the start date", "2025-04-19", 0, "2025-04-19"},
		{"start day never counts", "2025-04-14", 1, "2025-04-15"},
		{"over Easter 2026", "2026-04-09", 1, "2026-04-14"},
		{"14 days over Easter, 1 and 6 May 2025", "2025-04-17", 14, "2025-05-13"},
		{"14 days over Christmas 2022 and New Year 2023", "2022-12-22", 14, "2023-01-17"},
		{"from a Saturday", "2025-12-20", 14, "2026-01-14"},
		{"from a holiday", "2025-12-25", 1, "2025-12-29"},
		{"over 1 May on Holy Saturday 2027", "2027-04-29", 2, "2027-05-07"},
		{"backwards over Easter", "2026-04-14", -1, "2026-04-09"},
		{"backwards over Christmas 2021", "2021-12-29", -2, "2021-12-22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := date(t, tc.start)
			got := c.AddWorkingDays(start, tc.n).Format(dateLayout)
			if got != tc.want {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tc.start, tc.n, got, tc.want)
			}
			if b := c.WorkingDaysBetween(start, date(t, tc.want)); b != tc.n {
				t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tc.start, tc.want, b, tc.n)
			}
		})
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := New(Overrides{})
	for _, tc := range []struct {
		from, to string
		want     int
	}{
		{"2025-03-05", "2025-03-05", 0},
		{"2025-03-07", "2025-03-10", 1},   // Fri → Mon: Monday counts
		{"2025-03-10", "2025-03-07", -1},  // Mon → Fri: Friday counts
		{"2025-03-08", "2025-03-09", 0},   // weekend
		{"2022-12-23", "2022-12-29", 1},   // 24-28 Dec off
		{"2025-01-01", "2025-12-31", 249}, // 1 Jan is a holiday anyway
		{"2024-12-31", "2025-12-31", 249},
		{"2020-12-31", "2021-12-31", 249}, // as published for 2021
		{"2021-12-31", "2022-12-31", 248}, // as published for 2022
	} {
		if got := c.WorkingDaysBetween(date(t, tc.from), date(t, tc.to)); got != tc.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
}

// Substitute days stay in their year, fall on weekdays, and there is one
// for every non-Easter holiday that falls on a weekend.
func TestSubstituteInvariants(t *testing.T) {
	for y := 1900; y <= 2200; y++ {
		weekendFixed, subs := 0, 0
		for _, f := range fixedHolidays {
			if isWeekend(civil{y, f.m, f.d}) {
				weekendFixed++
			}
		}
		for d, h := range statutoryYear(y) {
			if d.y != y {
				t.Fatalf("%d: day off %s outside its year", y, d)
			}
			if h.Kind == Substitute {
				subs++
				if isWeekend(d) {
					t.Errorf("%d: substitute %s on a weekend", y, d)
				}
			}
		}
		if subs != weekendFixed {
			t.Errorf("%d: %d substitute days for %d weekend holidays", y, subs, weekendFixed)
		}
	}
}

// Property: AddWorkingDays lands on a working day and WorkingDaysBetween
// inverts it, with and without overrides.
func TestAddWorkingDaysProperty(t *testing.T) {
	o, err := LoadOverrides("testdata/overrides.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []*Calendar{New(Overrides{}), New(o), {}} {
		for i := 0; i < 3000; i++ {
			start := time.Date(2000+rng.IntN(100), time.January, 1+rng.IntN(366), rng.IntN(24), 0, 0, 0, time.UTC)
			if i%10 == 0 { // concentrate on the years the overrides touch
				start = time.Date(2025, time.December, 1+rng.IntN(60), 0, 0, 0, 0, time.UTC)
			}
			n := rng.IntN(121) - 60
			got := c.AddWorkingDays(start, n)
			if n != 0 && !c.IsWorkingDay(got) {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, not a working day", start.Format(dateLayout), n, got.Format(dateLayout))
			}
			if n > 0 && !got.After(start) || n < 0 && !got.Before(start) {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, wrong direction", start.Format(dateLayout), n, got.Format(dateLayout))
			}
			if b := c.WorkingDaysBetween(start, got); b != n {
				t.Fatalf("WorkingDaysBetween(%s, AddWorkingDays(.., %d) = %s) = %d", start.Format(dateLayout), n, got.Format(dateLayout), b)
			}
			if _, isHoliday := c.Holiday(got); n != 0 && isHoliday {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, a holiday", start.Format(dateLayout), n, got.Format(dateLayout))
			}
		}
	}
}

func BenchmarkWorkingDaysBetweenYear(b *testing.B) {
	c := New(Overrides{})
	from := time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		c.WorkingDaysBetween(from, to)
	}
}
