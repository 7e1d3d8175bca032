package workdays

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Overrides are the yearly changes the Council of Ministers makes to the
// statutory calendar by decree: working days declared off (bridge days) and
// Saturdays declared working to make up for them. The zero value is no
// overrides. Build one with ParseOverrides or LoadOverrides, which validate
// it, so a Calendar never sees an inconsistent set.
//
// The file format:
//
//	years:
//	  2025:
//	    off: ["2025-12-29"]        # weekdays declared non-working
//	    working: ["2025-12-20"]    # weekend days declared working
//	    note: "RMS decision No ... (SG issue ...)"
//
// Each date must lie in its year key, appear once, and change something: an
// "off" date must be a working day under the Labour Code and a "working"
// date a non-working one. A public holiday cannot be made a working day; a
// substitute day (art. 154(2)) can, so that a misreading of that rule can be
// corrected from the file.
type Overrides struct {
	years map[int]yearOverrides
}

type yearOverrides struct {
	off, working []civil
	note         string
}

// Years lists the years the overrides cover, in order.
func (o Overrides) Years() []int {
	ys := make([]int, 0, len(o.years))
	for y := range o.years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	return ys
}

// Note returns the note given for a year ("" if none).
func (o Overrides) Note(year int) string { return o.years[year].note }

// Off returns the dates declared non-working in a year, as midnight UTC.
func (o Overrides) Off(year int) []time.Time { return utcDates(o.years[year].off) }

// Working returns the dates declared working in a year, as midnight UTC.
func (o Overrides) Working(year int) []time.Time { return utcDates(o.years[year].working) }

func utcDates(cs []civil) []time.Time {
	out := make([]time.Time, len(cs))
	for i, c := range cs {
		out[i] = c.utc()
	}
	return out
}

// OverrideError is a problem with one value of an overrides file.
type OverrideError struct {
	Line  int    // 1-based line in the file; 0 if unknown
	Field string // path of the value, e.g. "years.2025.off[1]"
	Value string // the offending value as written
	Msg   string // what is wrong and what is expected
}

func (e *OverrideError) Error() string {
	s := ""
	if e.Line > 0 {
		s = "line " + strconv.Itoa(e.Line) + ": "
	}
	s += e.Field
	if e.Value != "" {
		s += " " + strconv.Quote(e.Value)
	}
	return s + ": " + e.Msg
}

// LoadOverrides reads and validates an overrides file. Errors name the file.
func LoadOverrides(path string) (Overrides, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Overrides{}, fmt.Errorf("working-day overrides: %w", err)
	}
	o, err := ParseOverrides(data)
	if err != nil {
		return Overrides{}, fmt.Errorf("working-day overrides %s: %w", path, err)
	}
	return o, nil
}

// ParseOverrides parses and validates the YAML of an overrides file. Invalid
// values are reported as *OverrideError.
func ParseOverrides(data []byte) (Overrides, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Overrides{}, nil // empty file: no overrides
		}
		return Overrides{}, fmt.Errorf("parse YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return Overrides{}, fmt.Errorf("parse YAML: %w", err)
		}
		return Overrides{}, &OverrideError{Line: extra.Line, Field: "(document)", Msg: "more than one YAML document; put all years under one \"years:\" key"}
	}

	o := Overrides{years: map[int]yearOverrides{}}
	if len(doc.Content) == 0 {
		return o, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return o, nil
	}
	if err := checkMapping(root, "(top level)"); err != nil {
		return Overrides{}, err
	}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "years" {
			return Overrides{}, &OverrideError{Line: k.Line, Field: k.Value, Msg: "unknown field (want \"years\")"}
		}
		if i > 0 {
			return Overrides{}, &OverrideError{Line: k.Line, Field: "years", Msg: "field given twice"}
		}
		if isNull(v) {
			continue
		}
		if err := checkMapping(v, "years"); err != nil {
			return Overrides{}, err
		}
		for j := 0; j < len(v.Content); j += 2 {
			if err := o.parseYear(v.Content[j], v.Content[j+1]); err != nil {
				return Overrides{}, err
			}
		}
	}
	return o, nil
}

func (o *Overrides) parseYear(k, v *yaml.Node) error {
	year, err := strconv.Atoi(k.Value)
	if k.Kind != yaml.ScalarNode || err != nil || year < 1 || year > 9999 {
		return &OverrideError{Line: k.Line, Field: "years", Value: k.Value, Msg: "year key must be a year such as 2025"}
	}
	field := "years." + strconv.Itoa(year)
	if _, dup := o.years[year]; dup {
		return &OverrideError{Line: k.Line, Field: field, Msg: "year given twice"}
	}
	var y yearOverrides
	if isNull(v) {
		o.years[year] = y
		return nil
	}
	if err := checkMapping(v, field); err != nil {
		return err
	}
	var entries []dateEntry // off and working dates in file order
	seen := map[string]bool{}
	for i := 0; i < len(v.Content); i += 2 {
		fk, fv := v.Content[i], v.Content[i+1]
		name := field + "." + fk.Value
		if seen[fk.Value] {
			return &OverrideError{Line: fk.Line, Field: name, Msg: "field given twice"}
		}
		seen[fk.Value] = true
		switch fk.Value {
		case "note":
			if fv.Kind != yaml.ScalarNode {
				return &OverrideError{Line: fv.Line, Field: name, Msg: "must be a string"}
			}
			y.note = fv.Value
		case "off", "working":
			es, err := parseDates(fv, name, year, fk.Value == "off")
			if err != nil {
				return err
			}
			entries = append(entries, es...)
		default:
			return &OverrideError{Line: fk.Line, Field: name, Msg: "unknown field (want off, working or note)"}
		}
	}

	// Clashes first, so a date listed as both off and working is reported
	// as such rather than as whichever half makes no sense on its own.
	where := map[civil]string{}
	for _, e := range entries {
		if prev, dup := where[e.date]; dup {
			return e.err("date also given in " + prev)
		}
		where[e.date] = e.field
	}
	stat := statutoryYear(year)
	for _, e := range entries {
		d := e.date
		h, holiday := stat[d]
		switch {
		case e.off && isWeekend(d):
			return e.err("already a non-working day (" + d.weekday().String() + ")")
		case e.off && holiday:
			return e.err("already a non-working day (" + h.Kind.String() + ": " + h.Name + ")")
		case !e.off && holiday && h.Kind == Public:
			return e.err("a public holiday (" + h.Name + ") cannot be made a working day")
		case !e.off && !holiday && !isWeekend(d):
			return e.err("already a working day (" + d.weekday().String() + ")")
		}
		if e.off {
			y.off = append(y.off, d)
		} else {
			y.working = append(y.working, d)
		}
	}
	o.years[year] = y
	return nil
}

type dateEntry struct {
	date  civil
	off   bool
	field string // e.g. "years.2025.off[1]"
	node  *yaml.Node
}

func (e dateEntry) err(msg string) error {
	return &OverrideError{Line: e.node.Line, Field: e.field, Value: e.node.Value, Msg: msg}
}

// parseDates checks the form of a list of dates and that each lies in year;
// whether the dates make sense as overrides is checked by the caller.
func parseDates(list *yaml.Node, field string, year int, off bool) ([]dateEntry, error) {
	if isNull(list) {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, &OverrideError{Line: list.Line, Field: field, Value: list.Value,
			Msg: "must be a list of dates, e.g. [\"" + strconv.Itoa(year) + "-12-29\"]"}
	}
	var out []dateEntry
	for i, n := range list.Content {
		e := dateEntry{off: off, field: field + "[" + strconv.Itoa(i) + "]", node: n}
		if n.Kind != yaml.ScalarNode {
			return nil, e.err("must be a date YYYY-MM-DD")
		}
		t, err := time.Parse(dateLayout, n.Value)
		if err != nil {
			return nil, e.err("not a date, want YYYY-MM-DD")
		}
		e.date = civilOf(t)
		if e.date.y != year {
			return nil, e.err("date is not in year " + strconv.Itoa(year))
		}
		out = append(out, e)
	}
	return out, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// checkMapping also refuses anchors and aliases: a calendar file has no use
// for them, and walking aliased nodes by hand would invite cycles.
func checkMapping(n *yaml.Node, field string) error {
	if n.Kind != yaml.MappingNode {
		return &OverrideError{Line: n.Line, Field: field, Msg: "must be a mapping"}
	}
	for _, c := range n.Content {
		if c.Kind == yaml.AliasNode || c.Anchor != "" {
			return &OverrideError{Line: c.Line, Field: field, Msg: "YAML anchors and aliases are not supported"}
		}
	}
	return nil
}
