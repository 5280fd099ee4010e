package gateway

import (
	"bytes"
	"encoding/json"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// Values on the write path. A client may write a value in any of the forms
// kintone accepts (a number for a NUMBER field, "2026-1-5" for a DATE, a
// date-time with an offset); kintone stores one form and returns it on
// reads. kgate checks a write against the policy with the value as kintone
// will store it, and sends that same value on, so what was checked is what
// is stored. normalize produces it. A value kgate cannot read is left as
// written: kintone refuses it, and kgate counts it as a change.

// normalize returns v (the JSON of a written "value") as kintone stores a
// value of type typ, and whether kgate understood it. FILE and SUBTABLE
// values are not handled here.
func normalize(typ string, v json.RawMessage) (json.RawMessage, bool) {
	x, ok := decodeJSON(v)
	if !ok {
		return v, false
	}
	switch typ {
	case "SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "RICH_TEXT", "LINK":
		if x == nil {
			return jsonString(""), true
		}
		s, ok := scalar(x)
		return jsonString(s), ok
	case "NUMBER":
		if x == nil {
			return jsonString(""), true
		}
		s, ok := scalar(x)
		if !ok {
			return v, false
		}
		s = strings.TrimSpace(s)
		if _, num := parseDecimal(s); !num && s != "" {
			return jsonString(s), false // kintone refuses it (or stores "" inside a table)
		}
		return jsonString(s), true
	case "DROP_DOWN", "RADIO_BUTTON":
		if x == nil {
			return jsonNull, true
		}
		s, ok := scalar(x)
		if !ok {
			return v, false
		}
		if s == "" {
			return jsonNull, true
		}
		return jsonString(s), true
	case "CHECK_BOX", "MULTI_SELECT":
		list, ok := stringList(x)
		if !ok {
			return v, false
		}
		b, _ := json.Marshal(list)
		return b, true
	case "DATE":
		return dateValue(x, normalizeDate)
	case "TIME":
		return dateValue(x, normalizeTime)
	case "DATETIME":
		if x == nil {
			return jsonString(""), true
		}
		s, ok := x.(string)
		if !ok {
			return v, false
		}
		if s == "" {
			return jsonString(""), true
		}
		t, ok := parseDateTime(s)
		if !ok {
			return v, false
		}
		return jsonString(t), true
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		codes, ok := entityCodes(x)
		if !ok {
			return v, false
		}
		return entityValue(codes), true
	}
	return v, false
}

var jsonNull = json.RawMessage("null")

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func decodeJSON(v json.RawMessage) (any, bool) {
	if len(v) == 0 {
		return nil, true
	}
	// Scalars, nearly every value of a record, without a decoder each: a
	// bulk write of large tables reads hundreds of thousands of them.
	switch c := v[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		return s, true
	case c == 'n' && string(v) == "null":
		return nil, true
	case c == '-' || (c >= '0' && c <= '9'):
		if !json.Valid(v) {
			return nil, false
		}
		return json.Number(v), true
	}
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return nil, false
	}
	return x, true
}

// scalar reads a string, or a number as its text, as kintone does.
func scalar(x any) (string, bool) {
	switch s := x.(type) {
	case string:
		return s, true
	case json.Number:
		return s.String(), true
	}
	return "", false
}

func stringList(x any) ([]string, bool) {
	if x == nil {
		return []string{}, true
	}
	items, ok := x.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(items))
	for i, it := range items {
		if out[i], ok = scalar(it); !ok {
			return nil, false
		}
	}
	return out, true
}

func entityCodes(x any) ([]string, bool) {
	if x == nil {
		return []string{}, true
	}
	items, ok := x.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, false
		}
		if out[i], ok = scalar(m["code"]); !ok {
			return nil, false
		}
	}
	return out, true
}

func entityValue(codes []string) json.RawMessage {
	type entity struct {
		Code string `json:"code"`
	}
	list := make([]entity, len(codes))
	for i, c := range codes {
		list[i] = entity{c}
	}
	b, _ := json.Marshal(list)
	return b
}

func dateValue(x any, norm func(string) (string, bool)) (json.RawMessage, bool) {
	if x == nil {
		return jsonNull, true
	}
	s, ok := x.(string)
	if !ok {
		return nil, false
	}
	if s == "" {
		return jsonNull, true
	}
	d, ok := norm(s)
	if !ok {
		return jsonString(s), false
	}
	return jsonString(d), true
}

// normalizeDate reads kintone's date forms (YYYY, YYYY-M, YYYY-M-D, each
// part optionally padded) as YYYY-MM-DD.
func normalizeDate(s string) (string, bool) {
	parts := strings.Split(s, "-")
	if len(parts) > 3 || len(parts[0]) != 4 {
		return "", false
	}
	n := [3]int{0, 1, 1}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || p == "" || len(p) > 4 || p[0] == '+' {
			return "", false
		}
		n[i] = v
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC)
	if t.Year() != n[0] || int(t.Month()) != n[1] || t.Day() != n[2] {
		return "", false
	}
	return t.Format(time.DateOnly), true
}

// normalizeTime reads H:MM or HH:MM[:SS] as HH:MM.
func normalizeTime(s string) (string, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return "", false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(parts[1]) != 2 {
		return "", false
	}
	return strconv.Itoa(h/10) + strconv.Itoa(h%10) + ":" + parts[1], true
}

// parseDateTime reads a date-time as kintone takes it (RFC 3339 with Z or
// an offset, seconds optional and ignored; a bare date is midnight UTC) and
// returns it as kintone returns it: UTC, to the minute.
func parseDateTime(s string) (string, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Minute).Format("2006-01-02T15:04:05Z"), true
		}
	}
	return "", false
}

// parseDecimal reads kintone's number syntax exactly.
func parseDecimal(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 || strings.ContainsAny(s, "/xXpP_") {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// sameValue reports whether two values of a field of type typ (each as
// kintone returns it, or as normalize made it) are the same stored value.
func sameValue(typ string, a, b json.RawMessage) bool {
	na, okA := normalize(typ, a)
	nb, okB := normalize(typ, b)
	if !okA || !okB {
		return false
	}
	if typ == "NUMBER" {
		var sa, sb string
		json.Unmarshal(na, &sa)
		json.Unmarshal(nb, &sb)
		ra, numA := parseDecimal(sa)
		rb, numB := parseDecimal(sb)
		if numA && numB {
			return ra.Cmp(rb) == 0
		}
		return sa == sb
	}
	return bytes.Equal(na, nb)
}

// defaultValue is what kintone stores for a field a create leaves out,
// as far as kgate can know it: the form's default value, "now" for date
// fields that default to it, a radio button's first option. Functions
// (LOGINUSER()) give nothing: API-token writes act as no user.
func defaultValue(p kintone.FieldProperty, now time.Time) (json.RawMessage, bool) {
	switch p.Type {
	case "DATE":
		if p.DefaultNowValue {
			return jsonString(now.UTC().Format(time.DateOnly)), true
		}
	case "TIME":
		if p.DefaultNowValue {
			return jsonString(now.UTC().Format("15:04")), true
		}
	case "DATETIME":
		if p.DefaultNowValue {
			return jsonString(now.UTC().Truncate(time.Minute).Format("2006-01-02T15:04:05Z")), true
		}
	case "RADIO_BUTTON":
		if len(p.DefaultValue) == 0 || string(p.DefaultValue) == `""` {
			return firstOption(p.Options), len(p.Options) > 0
		}
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT":
		var list []struct{ Code, Type string }
		json.Unmarshal(p.DefaultValue, &list)
		var codes []string
		for _, e := range list {
			if e.Type != "FUNCTION" {
				codes = append(codes, e.Code)
			}
		}
		return entityValue(codes), true
	}
	if len(p.DefaultValue) == 0 {
		return nil, false
	}
	v, ok := normalize(p.Type, p.DefaultValue)
	return v, ok
}

func firstOption(opts map[string]kintone.Option) json.RawMessage {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(opts[keys[i]].Index)
		b, _ := strconv.Atoi(opts[keys[j]].Index)
		return a < b
	})
	if len(keys) == 0 {
		return jsonNull
	}
	return jsonString(keys[0])
}
