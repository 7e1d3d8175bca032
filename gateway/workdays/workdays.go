// Package workdays is the Bulgarian working-day calendar (Labour Code art. 154
// plus the government's yearly decrees), used to compute deadlines counted in
// working days, such as the 14 working days DAEU has to test a joining participant.
//
// Every function works on civil dates: it reads the year, month and day that
// a time.Time reports in its own location and ignores the time of day. Dates
// are meant as dates in Europe/Sofia; turn an instant (a clock reading) into
// one with SofiaDate before asking, or 23:30 UTC becomes the wrong day.
package workdays

import (
	"sort"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

const dateLayout = "2006-01-02"

// sofia is clock.Sofia, whose loading cannot fail (it embeds time/tzdata):
// without it, instants near midnight would fall on the wrong date.
var sofia = clock.Sofia

// SofiaDate returns the civil date of instant t in Bulgaria, as midnight
// Europe/Sofia. Use it on clock readings before any other function here.
func SofiaDate(t time.Time) time.Time {
	return civilOf(t.In(sofia)).in(sofia)
}

// Calendar answers working-day questions for Bulgaria: Saturdays and
// Sundays, the public holidays of Labour Code art. 154(1), the substitute days
// of art. 154(2), and the decree overrides it was built with.
//
// A Calendar is immutable and safe for concurrent use. The zero Calendar
// applies the Labour Code with no overrides.
//
// The holiday list is the one in force since 2017 and is applied to every
// year; answers for earlier years may differ from what was in force then.
type Calendar struct {
	off     map[civil]Holiday // decree days off
	working map[civil]string  // decree working days → note
}

// New returns a calendar with the given decree overrides; pass Overrides{}
// for none.
func New(o Overrides) *Calendar {
	c := &Calendar{off: map[civil]Holiday{}, working: map[civil]string{}}
	for _, y := range o.years {
		for _, d := range y.off {
			c.off[d] = Holiday{
				Date:   d.utc(),
				Name:   "Day off by government decree",
				NameBG: "Почивен ден с решение на Министерския съвет",
				Kind:   Decree,
				Note:   y.note,
			}
		}
		for _, d := range y.working {
			c.working[d] = y.note
		}
	}
	return c
}

// yearCache keeps the statutory days off of the year a loop is walking
// through, so that counting across a year computes it once.
type yearCache struct {
	year int
	days map[civil]Holiday
}

func (yc *yearCache) get(year int) map[civil]Holiday {
	if yc.days == nil || yc.year != year {
		yc.year, yc.days = year, statutoryYear(year)
	}
	return yc.days
}

func (c *Calendar) isWorking(d civil, yc *yearCache) bool {
	if _, ok := c.working[d]; ok {
		return true
	}
	if _, ok := c.off[d]; ok {
		return false
	}
	if isWeekend(d) {
		return false
	}
	_, holiday := yc.get(d.y)[d]
	return !holiday
}

// IsWorkingDay reports whether the civil date of t is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	return c.isWorking(civilOf(t), &yearCache{})
}

// Holiday reports why the civil date of t is off when the reason is not just
// that it is a Saturday or Sunday: a public holiday (also when it falls on a
// weekend), a substitute day, or a decree day off. ok is false for working
// days and ordinary weekends. h.Date is midnight of the date in t's location.
func (c *Calendar) Holiday(t time.Time) (h Holiday, ok bool) {
	d := civilOf(t)
	if _, working := c.working[d]; working {
		return Holiday{}, false
	}
	if h, ok = c.off[d]; !ok {
		h, ok = statutoryYear(d.y)[d]
	}
	if ok {
		h.Date = d.in(t.Location())
	}
	return h, ok
}

// Holidays lists the days off of a year other than ordinary weekends, in date
// order, with dates at midnight Europe/Sofia. A public holiday that falls on
// a weekend is listed together with its substitute day.
func (c *Calendar) Holidays(year int) []Holiday {
	var out []Holiday
	add := func(d civil, h Holiday) {
		if _, working := c.working[d]; working {
			return
		}
		h.Date = d.in(sofia)
		out = append(out, h)
	}
	for d, h := range statutoryYear(year) {
		if _, decreed := c.off[d]; !decreed {
			add(d, h)
		}
	}
	for d, h := range c.off {
		if d.y == year {
			add(d, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// AddWorkingDays returns the date of the n-th working day after start; the
// start date itself never counts, whether or not it is a working day. For a
// deadline of 14 working days from an application made on date A, day 1 is
// the first working day after A and the deadline is AddWorkingDays(A, 14).
//
// A negative n counts backwards: the |n|-th working day before start. n == 0
// returns start's date. The result is midnight of the date in start's
// location, and is always a working day when n != 0.
func (c *Calendar) AddWorkingDays(start time.Time, n int) time.Time {
	d := civilOf(start)
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	var yc yearCache
	for n > 0 {
		d = d.addDays(step)
		if c.isWorking(d, &yc) {
			n--
		}
	}
	return d.in(start.Location())
}

// WorkingDaysBetween counts the working days met when walking from the date
// of from to the date of to, not counting from and counting to. Forwards
// (from before to) it counts the working days in (from, to]; backwards it
// counts those in [to, from) and returns the count negated. So for every n,
// WorkingDaysBetween(s, AddWorkingDays(s, n)) == n.
func (c *Calendar) WorkingDaysBetween(from, to time.Time) int {
	f, t := civilOf(from), civilOf(to)
	sign := 1
	if t.before(f) {
		sign = -1
		// Walking back from f to t counts [t, f): the same as walking
		// forwards over (t-1, f-1].
		f, t = t.addDays(-1), f.addDays(-1)
	}
	var yc yearCache
	count := 0
	for d := f; d.before(t); {
		d = d.addDays(1)
		if c.isWorking(d, &yc) {
			count++
		}
	}
	return sign * count
}
