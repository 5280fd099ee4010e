package portal

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/kgate/kgate/internal/kintone"
)

// Values between kintone and form inputs. An input holds what the member
// reads and types: a date-time in the member's time zone, a number as
// typed. On the way back each value is put in the form kintone stores, so
// that a field the member left alone compares equal to the stored value
// and is not written at all (the gateway drops unchanged values).

// inputLayout is how a date-time input holds its value
// (<input type="datetime-local">).
const inputLayout = "2006-01-02T15:04"

// kintoneDateTime is how kintone stores a DATETIME: UTC, to the minute.
const kintoneDateTime = "2006-01-02T15:04:05Z"

// inputValues returns a stored value as the inputs of a field of type typ
// hold it: one string for most types, one per choice for check boxes and
// multi-selects.
func inputValues(typ string, raw json.RawMessage, tz *time.Location) []string {
	if isNull(raw) {
		return nil
	}
	switch typ {
	case "CHECK_BOX", "MULTI_SELECT":
		var items []string
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		return items
	}
	s, ok := jsonString(raw)
	if !ok {
		return nil
	}
	if typ == "DATETIME" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return []string{t.In(tz).Format(inputLayout)}
		}
	}
	return []string{s}
}

// wireValue returns what the member typed as the value kintone stores for
// a field with property p: a date-time converted from the member's time
// zone to UTC, a number without grouping or full-width digits, texts with
// the browser's CRLF line breaks as kintone's LF, rich text sanitized. A
// value that cannot be read is sent as typed, for kintone to refuse at the
// field.
func wireValue(p kintone.FieldProperty, in []string, tz *time.Location, rich *richText) json.RawMessage {
	first := ""
	for _, s := range in {
		if s != "" {
			first = s // radio groups carry a blank marker before the choice
		}
	}
	var v any
	switch p.Type {
	case "CHECK_BOX", "MULTI_SELECT":
		v = choices(in, p)
	case "MULTI_LINE_TEXT":
		v = lf(first)
	case "RICH_TEXT":
		if s := lf(first); s != "" {
			v = string(rich.sanitize(s))
		} else {
			v = ""
		}
	case "NUMBER":
		v = numberInput(first)
	case "DATE":
		v = dateInput(first)
	case "TIME":
		v = timeInput(first)
	case "DATETIME":
		v = dateTimeInput(first, tz)
	default:
		v = first
	}
	b, _ := json.Marshal(v)
	return b
}

// choices keeps the chosen options, in the options' order, without the
// blank marker that makes an empty group present in the form.
func choices(in []string, p kintone.FieldProperty) []string {
	picked := map[string]bool{}
	for _, s := range in {
		if s != "" {
			picked[s] = true
		}
	}
	out := []string{}
	for _, o := range optionValues(p) {
		if picked[o] {
			out = append(out, o)
			delete(picked, o)
		}
	}
	var rest []string
	for s := range picked {
		rest = append(rest, s) // not an option: kintone refuses it at the field
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func lf(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n") }

// numberInput reads a number as people type it: full-width digits, a
// thousands separator, spaces around it.
func numberInput(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '－' || r == '−':
			return '-'
		case r == '．':
			return '.'
		case r == ',' || r == '，' || unicode.IsSpace(r):
			return -1
		}
		return r
	}, s)
}

// dateInput accepts 2026-04-01 (what date inputs send) and 2026/4/1.
func dateInput(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-1-2", "2006/1/2"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly)
		}
	}
	return s
}

// timeInput accepts 9:05 and 09:05:00 (time inputs may send seconds).
func timeInput(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("15:04")
		}
	}
	return s
}

// dateTimeInput reads a date-time in the member's zone (what
// datetime-local inputs send, with or without seconds, or with a space)
// and returns it in UTC as kintone stores it.
func dateTimeInput(s string, tz *time.Location) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	for _, layout := range []string{inputLayout, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006/1/2 15:04"} {
		if t, err := time.ParseInLocation(layout, s, tz); err == nil {
			return t.UTC().Truncate(time.Minute).Format(kintoneDateTime)
		}
	}
	return s
}
