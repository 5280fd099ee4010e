package portal

import (
	"math/big"
	"slices"
	"strings"
	"time"
)

// A chart adds records up by group: the count of records per value of
// the group field, and, for a chart with a sum field, the exact sum of its
// values. kintone keeps numbers as decimal strings; they are added as
// rationals, so that 0.1 + 0.2 is 0.3 and a sum never drifts.

// groupable reports whether a chart may group by a field of type typ.
func groupable(typ string) bool {
	switch typ {
	case "DROP_DOWN", "RADIO_BUTTON", "STATUS", "DATE", "DATETIME":
		return true
	}
	return false
}

// tally is one chart being added up.
type tally struct {
	dateType string         // "DATE" or "DATETIME" for month groups, "" for choices
	tz       *time.Location // the zone months are taken in
	groups   map[string]*bucket
}

// bucket is one bar: the records counted and the sum of their amounts.
type bucket struct {
	Count int64
	Sum   big.Rat
	Scale int // the most decimal places of an amount added
}

func newTally(groupType string, tz *time.Location) *tally {
	t := &tally{tz: tz, groups: map[string]*bucket{}}
	if groupType == "DATE" || groupType == "DATETIME" {
		t.dateType = groupType
	}
	return t
}

// add counts one record with the group field's value and the sum field's
// value ("" when the chart counts). An amount that is not a decimal number
// (an empty value, a calculation's error) is counted but adds nothing.
func (t *tally) add(value, amount string) {
	key := t.key(value)
	g := t.groups[key]
	if g == nil {
		g = &bucket{}
		t.groups[key] = g
	}
	g.Count++
	if r, scale, ok := decimalRat(amount); ok {
		g.Sum.Add(&g.Sum, r)
		g.Scale = max(g.Scale, scale)
	}
}

// key is the group of a value: a choice as it is, a date's month as
// "YYYY-MM" in the tally's zone, "" for none.
func (t *tally) key(value string) string {
	switch {
	case value == "" || t.dateType == "":
		return value
	case t.dateType == "DATE":
		d, err := time.Parse(time.DateOnly, value)
		if err != nil {
			return ""
		}
		return d.Format("2006-01")
	default:
		d, err := time.Parse(time.RFC3339, value)
		if err != nil {
			return ""
		}
		return d.In(t.tz).Format("2006-01")
	}
}

// decimalRat reads a kintone number: an optional sign, digits and an
// optional fraction. It returns the number of decimal places too.
func decimalRat(s string) (*big.Rat, int, bool) {
	s = strings.TrimSpace(s)
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, _ := strings.Cut(digits, ".")
	if whole == "" && frac == "" || !allDigits(whole) || !allDigits(frac) {
		return nil, 0, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, len(frac), ok
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// sumText is a group's sum as an exact decimal string.
func (g *bucket) sumText() string { return g.Sum.FloatString(g.Scale) }

// ordered is the tally's groups in the order a chart shows them: months
// in time order; choices in order (the field's options or the configured
// states), then values outside it by name; the group of records without a
// value last.
func (t *tally) ordered(order []string) []string {
	keys := make([]string, 0, len(t.groups))
	for k := range t.groups {
		if k != "" {
			keys = append(keys, k)
		}
	}
	rank := func(k string) int {
		if i := slices.Index(order, k); i >= 0 && t.dateType == "" {
			return i
		}
		return len(order)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	if _, ok := t.groups[""]; ok {
		keys = append(keys, "")
	}
	return keys
}
