package daeu

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
)

// DateTimeLayout is how the test register writes xsd:dateTime: seconds,
// milliseconds when there are any, and a numeric offset, like the
// register's own samples.
const DateTimeLayout = "2006-01-02T15:04:05.999-07:00"

// ErrUnsetDateTime is .NET's DateTime.MinValue (0001-01-01T00:00:00), what
// a .NET register writes for a DateTime it never set: no value, not a time.
var ErrUnsetDateTime = errors.New("unset DateTime (0001-01-01T00:00:00)")

// unsetDateTime matches MinValue as .NET writes it for each DateTimeKind.
var unsetDateTime = regexp.MustCompile(`^0001-01-01T00:00:00(\.0+)?(Z|[+-]\d\d:\d\d)?$`)

// zoned layouts carry an offset; time.Parse also accepts fractional seconds
// after the seconds field even where the layout has none.
var (
	zoned = []string{time.RFC3339}
	local = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05"}
)

// ParseDateTime reads an xsd:dateTime the way the register may write it:
// RFC 3339 with or without fractional seconds and offset, or a MySQL
// DATETIME ("2006-01-02 15:04:05") that PHP passed through. A value without
// an offset is in zone (nil = Europe/Sofia), never the host's zone. Anything
// else is an error, never the zero time; .NET's unset DateTime is
// ErrUnsetDateTime.
func ParseDateTime(s string, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if zone == nil {
		zone = clock.Sofia
	}
	if unsetDateTime.MatchString(s) {
		return time.Time{}, ErrUnsetDateTime
	}
	for _, l := range zoned {
		if t, err := time.Parse(l, s); err == nil {
			return inRange(s, t)
		}
	}
	for _, l := range local {
		if t, err := time.ParseInLocation(l, s, zone); err == nil {
			return inRange(s, t)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xsd:dateTime (want e.g. 2024-03-05T10:20:30+02:00)", s)
}

// inRange refuses years no register change can have. Before 1900 zones
// had odd local mean time offsets, and "0000-…" is MySQL's zero date, a
// missing value rather than a time.
func inRange(s string, t time.Time) (time.Time, error) {
	if y := t.Year(); y < 1900 || y > 9999 {
		return time.Time{}, fmt.Errorf("%q: year %d is out of range for a register change", s, y)
	}
	return t, nil
}

// FormatDateTime writes t in zone (nil = Europe/Sofia) as DateTimeLayout.
func FormatDateTime(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = clock.Sofia
	}
	return t.In(zone).Format(DateTimeLayout)
}
