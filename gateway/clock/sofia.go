package clock

import (
	"time"
	// The binary carries the zone database: Europe/Sofia must not depend on
	// the host's /usr/share/zoneinfo (an appliance may lack it), and a
	// fixed-offset fallback would be an hour wrong half the year.
	_ "time/tzdata"
)

// Sofia is Bulgarian civil time (Europe/Sofia, EET/EEST), the one zone of
// the exchange: wire times without an offset, the register's times, civil
// dates and the working-day calendar are all read in it.
var Sofia = mustLoad("Europe/Sofia")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Cannot happen: time/tzdata embeds every zone.
		panic("clock: load " + name + ": " + err.Error())
	}
	return loc
}
