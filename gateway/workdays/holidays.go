package workdays

import (
	"sort"
	"time"
)

// Kind says why a day is off.
type Kind int

const (
	// Public is an official holiday listed in Labour Code art. 154(1).
	Public Kind = iota + 1
	// Substitute is the working day that art. 154(2) makes non-working
	// because a public holiday fell on a Saturday or Sunday.
	Substitute
	// Decree is a working day declared non-working by the Council of
	// Ministers (from the overrides file).
	Decree
)

func (k Kind) String() string {
	switch k {
	case Public:
		return "public holiday"
	case Substitute:
		return "substitute day off"
	case Decree:
		return "day off by decree"
	}
	return "unknown"
}

// Holiday describes a day that is not worked for a reason other than being
// an ordinary Saturday or Sunday.
type Holiday struct {
	// Date is midnight of the civil date, in the location of the time the
	// caller asked about (Europe/Sofia for Holidays).
	Date   time.Time
	Name   string // English
	NameBG string // Bulgarian, as in the Labour Code
	Kind   Kind
	// Note is the overrides file's note for a Decree day (e.g. the decree
	// number); empty otherwise.
	Note string
}

func (h Holiday) String() string {
	return h.Date.Format(dateLayout) + " " + h.Name + " (" + h.NameBG + ")"
}

// civil is a calendar date with no time of day and no location. All
// calendar arithmetic runs on it so that DST changes and the caller's
// time-of-day can never move a date.
type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil {
	y, m, d := t.Date()
	return civil{y, m, d}
}

// utc is the civil date as midnight UTC, used only for arithmetic: UTC has no
// DST, so adding 24h always lands on the next date.
func (c civil) utc() time.Time { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, time.UTC) }

func (c civil) in(loc *time.Location) time.Time {
	return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, loc)
}

func (c civil) addDays(n int) civil { return civilOf(c.utc().AddDate(0, 0, n)) }

func (c civil) weekday() time.Weekday { return c.utc().Weekday() }

func (c civil) before(o civil) bool {
	if c.y != o.y {
		return c.y < o.y
	}
	if c.m != o.m {
		return c.m < o.m
	}
	return c.d < o.d
}

func (c civil) String() string { return c.utc().Format(dateLayout) }

func isWeekend(c civil) bool {
	wd := c.weekday()
	return wd == time.Saturday || wd == time.Sunday
}

type namedDay struct {
	m      time.Month
	d      int
	name   string
	nameBG string
}

// fixedHolidays are the dated holidays of art. 154(1). 1 November (National
// Awakeners Day) is deliberately absent: it is non-working for schools only.
var fixedHolidays = []namedDay{
	{time.January, 1, "New Year's Day", "Нова година"},
	{time.March, 3, "Liberation Day", "Ден на Освобождението на България от османско иго"},
	{time.May, 1, "Labour Day", "Ден на труда и на международната работническа солидарност"},
	{time.May, 6, "St George's Day, Day of Bravery and the Bulgarian Army", "Гергьовден, Ден на храбростта и Българската армия"},
	{time.May, 24, "Day of Saints Cyril and Methodius, of the Bulgarian Alphabet, Education and Culture and of Slavic Literature",
		"Ден на светите братя Кирил и Методий, на българската азбука, просвета и култура и на славянската книжовност"},
	{time.September, 6, "Unification Day", "Ден на Съединението"},
	{time.September, 22, "Independence Day", "Ден на Независимостта на България"},
	{time.December, 24, "Christmas Eve", "Бъдни вечер"},
	{time.December, 25, "Christmas Day", "Рождество Христово"},
	{time.December, 26, "Second Day of Christmas", "Рождество Христово (втори ден)"},
}

// easterHolidays are offsets from Orthodox Easter Sunday.
var easterHolidays = []struct {
	offset       int
	name, nameBG string
}{
	{-2, "Good Friday", "Велики петък"},
	{-1, "Holy Saturday", "Велика събота"},
	{0, "Easter Sunday", "Великден"},
	{1, "Easter Monday", "Великден (втори ден)"},
}

// OrthodoxEaster returns the date of Orthodox Easter Sunday in the given year,
// as midnight UTC of the Gregorian date.
//
// Meeus' Julian algorithm gives the date in the Julian calendar; the
// Julian–Gregorian gap (13 days for 1900–2099) is y/100 − y/400 − 2, which is
// right for every Easter date because Easter always falls after the Julian
// leap day of a century year, where the gap grows.
func OrthodoxEaster(year int) time.Time {
	a := mod(year, 4)
	b := mod(year, 7)
	c := mod(year, 19)
	d := (19*c + 15) % 30
	e := (2*a + 4*b - d + 34) % 7
	month := time.Month((d + e + 114) / 31)
	day := (d+e+114)%31 + 1
	gap := floorDiv(year, 100) - floorDiv(year, 400) - 2
	return time.Date(year, month, day+gap, 0, 0, 0, 0, time.UTC)
}

func mod(a, n int) int { return ((a % n) + n) % n }

func floorDiv(a, n int) int {
	q := a / n
	if (a%n != 0) && ((a < 0) != (n < 0)) {
		q--
	}
	return q
}

// statutoryYear returns the days off the Labour Code alone gives in a year:
// the public holidays of art. 154(1) (including those on weekends) and the
// substitute days of art. 154(2). Overrides are applied on top by Calendar.
//
// The weekend-shift rule (art. 154(2), in force since 1 January 2017): "when
// the official holidays, except the Easter holidays, fall on a Saturday
// and/or Sunday, the first or the first two working days after them are
// non-working". We read it as: each non-Easter holiday that falls on a
// Saturday or Sunday, taken in date order, displaces one day off onto the
// first following Monday–Friday that is neither a public holiday (Easter
// ones included) nor already taken by an earlier displaced holiday. So
//
//	2021: 25 Dec Sat, 26 Dec Sun           → 27 and 28 Dec off
//	2022: 24 Dec Sat, 25 Sun, 26 Dec Mon   → 27 and 28 Dec off
//	2023: 24 Dec Sun, 25 Mon, 26 Tue       → 27 Dec off
//	2021/2027: 1 May is Holy Saturday      → 4 May off (3 May is Easter Monday)
//
// This matches the calendars published for 2017 and 2021–2024 (the tests
// list them; 2021 confirms the 4 May case). A holiday that coincides with a
// weekday Easter holiday (6 May 2024 was Easter Monday) gives no extra day:
// the article speaks of weekends only. No day moves into the next year: the
// last holiday is 26 Dec and at most two days move, landing by 29 Dec.
func statutoryYear(year int) map[civil]Holiday {
	days := make(map[civil]Holiday, 20)
	add := func(c civil, name, nameBG string, kind Kind) {
		if h, ok := days[c]; ok {
			// Two holidays on one date (e.g. 6 May and Easter Monday
			// in 2024): keep one entry naming both.
			h.Name += "; " + name
			h.NameBG += "; " + nameBG
			days[c] = h
			return
		}
		days[c] = Holiday{Date: c.utc(), Name: name, NameBG: nameBG, Kind: kind}
	}

	var displaced []civil
	for _, f := range fixedHolidays {
		c := civil{year, f.m, f.d}
		add(c, f.name, f.nameBG, Public)
		if isWeekend(c) {
			displaced = append(displaced, c)
		}
	}
	easter := civilOf(OrthodoxEaster(year))
	for _, e := range easterHolidays {
		add(easter.addDays(e.offset), e.name, e.nameBG, Public)
	}

	sort.Slice(displaced, func(i, j int) bool { return displaced[i].before(displaced[j]) })
	for _, c := range displaced {
		name, nameBG := fixedName(c)
		s := c.addDays(1)
		for {
			if _, taken := days[s]; !taken && !isWeekend(s) {
				break
			}
			s = s.addDays(1)
		}
		days[s] = Holiday{
			Date:   s.utc(),
			Name:   "Day off for " + name + " (" + c.String() + ")",
			NameBG: "Почивен ден за " + nameBG + " (" + c.String() + ")",
			Kind:   Substitute,
		}
	}
	return days
}

// fixedName is the name of the fixed (non-Easter) holiday on c, without any
// Easter holiday sharing its date, for naming its substitute day.
func fixedName(c civil) (string, string) {
	for _, f := range fixedHolidays {
		if f.m == c.m && f.d == c.d {
			return f.name, f.nameBG
		}
	}
	return "", ""
}
