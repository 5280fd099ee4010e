package kintonesim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// verrs collects the validation errors of one request: kintone reports
// every bad field at once, under keys that name where each one is.
type verrs struct {
	lang string
	err  *kintone.Error
}

func (v *verrs) add(key, msgID string, args ...any) {
	v.addText(key, kintone.Message(msgID, v.lang, args...))
}

// addText adds a message the kintone package's catalogue does not hold.
func (v *verrs) addText(key, msg string) {
	if v.err == nil {
		v.err = kintone.Invalid(v.lang)
	}
	v.err.With(key, msg)
}

// failed reports whether any error was added.
func (v *verrs) failed() bool { return v.err != nil }

// keys tell where a field's value sits in the request, for error keys:
// base is "record", "records[1]" or "records[1].record".
type keys struct{ base string }

func (k keys) value(code string) string  { return k.base + "." + code + ".value" }
func (k keys) values(code string) string { return k.base + "." + code + ".values" }
func (k keys) bracket(code string) string {
	return k.base + "[" + code + "].value"
}
func (k keys) inner(table string, row int, code string) keys {
	return keys{base: k.base + "." + table + ".value[" + strconv.Itoa(row) + "].value"}
}

// errJSON is the error for a value of the wrong JSON kind.
func errJSON(lang string) *kintone.Error { return kintone.NewError("CB_IJ01", lang) }

// parseValue turns the written value raw of field f into a val. Format
// problems are added to ve; a value of the wrong JSON kind is a hard error.
func (s *state) parseValue(f *field, raw any, k keys, ve *verrs) (val, *kintone.Error) {
	switch f.typ {
	case "SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "RICH_TEXT", "LINK":
		str, ok := scalarText(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		return val{s: str}, nil
	case "NUMBER":
		str, ok := scalarText(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		n, problem := f.prec.store(str)
		switch problem {
		case notANumber:
			if f.parent != nil {
				return val{}, nil // inside a subtable kintone stores "" silently [obs]
			}
			ve.add(k.bracket(f.code), kintone.MsgNumber)
		case tooManyDigits:
			ve.addText(k.value(f.code), digitsMessage(ve.lang, f.prec.digits))
		}
		return val{s: n}, nil
	case "DROP_DOWN", "RADIO_BUTTON":
		str, ok := scalarText(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		if str == "" {
			return val{x: nullVal}, nil
		}
		if !f.options[str] {
			ve.add(k.value(f.code), kintone.MsgOption, str)
		}
		return val{s: str}, nil
	case "CHECK_BOX", "MULTI_SELECT":
		list, ok := stringList(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		for i, o := range list {
			if !f.options[o] {
				ve.add(k.base+"."+f.code+".values["+strconv.Itoa(i)+"].value", kintone.MsgOption, o)
			}
		}
		return val{x: list}, nil
	case "DATE":
		str, ok := scalarText(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		if str == "" {
			return val{x: nullVal}, nil
		}
		d, good := parseDate(str)
		if !good {
			ve.add(k.value(f.code), kintone.MsgDate)
		}
		return val{s: d}, nil
	case "TIME":
		str, ok := scalarText(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		if str == "" {
			return val{x: nullVal}, nil
		}
		t, good := parseTime(str)
		if !good {
			ve.add(k.value(f.code), kintone.MsgTime)
		}
		return val{s: t}, nil
	case "DATETIME", "CREATED_TIME", "UPDATED_TIME":
		str, ok := scalarText(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		if str == "" {
			return val{}, nil
		}
		t, good := parseDateTime(str)
		if !good {
			ve.add(k.value(f.code), kintone.MsgDateTime)
		}
		return val{s: t}, nil
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		codes, ok := entityCodes(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		ents := make([]entity, 0, len(codes))
		for _, c := range codes {
			name, found := s.entityName(f.typ, c)
			if !found {
				ve.add(k.base+"."+f.code+".values.value", kintone.MsgUser, c)
			}
			ents = append(ents, entity{code: c, name: name})
		}
		return val{x: ents}, nil
	case "CREATOR", "MODIFIER":
		m, ok := raw.(map[string]any)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		c, _ := m["code"].(string)
		name, found := s.entityName("USER_SELECT", c)
		if !found {
			ve.add(k.value(f.code), kintone.MsgUser, c)
		}
		return val{x: []entity{{code: c, name: name}}}, nil
	case "STATUS":
		str, ok := scalarText(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		return val{s: str}, nil
	case "CATEGORY":
		list, ok := stringList(raw)
		if !ok {
			return val{}, errJSON(ve.lang)
		}
		return val{x: list}, nil
	}
	return val{}, nil
}

// scalarText reads a written scalar: kintone takes strings, numbers and
// null wherever it stores text.
func scalarText(raw any) (string, bool) {
	switch v := raw.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

func stringList(raw any) ([]string, bool) {
	if raw == nil {
		return []string{}, true
	}
	l, ok := raw.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := scalarText(x)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// entityCodes reads [{code}] of a user, organization or group field.
func entityCodes(raw any) ([]string, bool) {
	if raw == nil {
		return nil, true
	}
	l, ok := raw.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		c, ok := scalarText(m["code"])
		if !ok {
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}

// digitsMessage refuses a number that needs more digits than the app's
// precision allows. kintone's wording (and whether it refuses rather than
// rounds) is unverified; the simulator refuses under the field's key, as it
// does a value beyond maxValue.
func digitsMessage(lang string, digits int) string {
	if lang == "ja" {
		return fmt.Sprintf("桁数が多すぎます。%d桁以内の数値を入力してください。", digits)
	}
	return fmt.Sprintf("The number has too many digits. Enter a number of %d digits or fewer.", digits)
}

// parseDate accepts YYYY-MM-DD and kintone's shorter forms (YYYY, YYYY-MM,
// YYYY-M-D), padding what is missing.
func parseDate(s string) (string, bool) {
	parts := strings.Split(s, "-")
	if len(parts) > 3 || len(parts[0]) != 4 {
		return "", false
	}
	nums := []int{0, 1, 1}
	for i, p := range parts {
		if p == "" || len(p) > 4 {
			return "", false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return "", false
		}
		nums[i] = n
	}
	t := time.Date(nums[0], time.Month(nums[1]), nums[2], 0, 0, 0, 0, time.UTC)
	if t.Year() != nums[0] || int(t.Month()) != nums[1] || t.Day() != nums[2] {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

// parseTime accepts HH:MM (seconds are dropped).
func parseTime(s string) (string, bool) {
	for _, layout := range []string{"15:04", "15:04:05", "3:04", "15:4"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("15:04"), true
		}
	}
	return "", false
}

// parseDateTime accepts an instant with Z or an offset (seconds optional and
// ignored), or a bare date taken as midnight UTC, and returns it in UTC with
// zero seconds, the form kintone answers with.
func parseDateTime(s string) (string, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.999Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return formatDateTime(t), true
		}
	}
	if d, ok := parseDate(s); ok {
		t, _ := time.Parse("2006-01-02", d)
		return formatDateTime(t), true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil { // no zone: UTC
			return formatDateTime(t), true
		}
	}
	return "", false
}

func formatDateTime(t time.Time) string {
	return t.UTC().Truncate(time.Minute).Format("2006-01-02T15:04:05Z")
}

// isEmpty reports whether v counts as empty for "required" and for "in
// ("")".
func isEmpty(f *field, v val) bool {
	switch x := v.x.(type) {
	case nullMarker:
		return true
	case []string:
		return len(x) == 0
	case []entity:
		return len(x) == 0
	case []*fileRef:
		return len(x) == 0
	case []row:
		return len(x) == 0
	}
	return v.s == ""
}

// emptyVal is the value a field has when nothing was written.
func emptyVal(f *field) val {
	switch f.typ {
	case "DROP_DOWN", "RADIO_BUTTON", "DATE", "TIME":
		return val{x: nullVal}
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		return val{x: []string{}}
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE", "CREATOR", "MODIFIER":
		return val{x: []entity{}}
	case "FILE":
		return val{x: []*fileRef{}}
	case "SUBTABLE":
		return val{x: []row{}}
	}
	return val{}
}
