package gateway

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// A mask replaces a readable field's value wherever kgate shows it — the
// records of every read surface, at every depth: a mask on a table column
// applies in each row. The replacement must be a value of the field's type,
// or kintone clients that read the field by its type break on it; a mask
// that is not is a policy error, and the read is refused rather than
// answered with the real value or a broken one.
//
// What a mask may be, per field type:
//
//	text (single line, multi-line, rich text, link), record number, status,
//	a calculation not formatted as a number       any string
//	number, a calculation formatted as a number   a number or a numeric string; "" for empty
//	date                                          "YYYY-MM-DD", or "" / null for empty
//	time                                          "HH:MM", or "" / null for empty
//	date and time                                 "YYYY-MM-DDTHH:MM:00Z", or "" for empty
//	created / updated time                        "YYYY-MM-DDTHH:MM:00Z"
//	drop-down, radio button                       one of its options, or "" / null for none
//	check box, multi-select, category             a list of its options (e.g. [])
//	user, organization, group, assignee           a list of {code, name} (e.g. [])
//	created by / updated by                       {code, name}
//	attachment, table                             [] (no files, no rows)
//
// $id and $revision cannot be masked.

// maskValues turns the policy's masks into replacement values for the
// fields of f the member may read. Masks of fields the form does not have
// are ignored: one policy may serve many apps.
func maskValues(f *form, readable fieldSet, masks map[string]any) (map[string]json.RawMessage, error) {
	if len(masks) == 0 {
		return nil, nil
	}
	out := make(map[string]json.RawMessage, len(masks))
	codes := make([]string, 0, len(masks))
	for code := range masks {
		codes = append(codes, code)
	}
	sort.Strings(codes) // the first bad mask named is always the same one
	for _, code := range codes {
		if code == "$id" || code == "$revision" {
			return nil, fmt.Errorf("mask of %s: the record's id and revision cannot be masked", code)
		}
		typ, ok := f.types[code]
		if !ok || !readable.readable(f, code) {
			continue
		}
		v, err := maskValue(f.property(code), typ, masks[code])
		if err != nil {
			return nil, fmt.Errorf("mask of %s (%s): %w", code, typ, err)
		}
		out[code] = v
	}
	return out, nil
}

var (
	maskDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	maskTime     = regexp.MustCompile(`^\d{2}:\d{2}$`)
	maskDatetime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$`)
)

// maskValue checks one mask against the field's type and returns it as
// kintone would send such a value.
func maskValue(p kintone.FieldProperty, typ string, v any) (json.RawMessage, error) {
	str, isString := v.(string)
	switch typ {
	case "SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "RICH_TEXT", "LINK", "RECORD_NUMBER", "STATUS":
		if !isString {
			return nil, fmt.Errorf("must be a string, not %s", jsonKind(v))
		}
		return json.Marshal(str)
	case "NUMBER":
		return maskNumber(v)
	case "CALC":
		if p.Format == "" || p.Format == "NUMBER" || p.Format == "NUMBER_DIGIT" {
			return maskNumber(v)
		}
		if !isString {
			return nil, fmt.Errorf("must be a string, not %s", jsonKind(v))
		}
		return json.Marshal(str)
	case "DATE":
		return maskMoment(v, maskDate, "2006-01-02", true)
	case "TIME":
		return maskMoment(v, maskTime, "15:04", true)
	case "DATETIME":
		if v == "" {
			return json.RawMessage(`""`), nil
		}
		return maskMoment(v, maskDatetime, time.RFC3339, false)
	case "CREATED_TIME", "UPDATED_TIME":
		return maskMoment(v, maskDatetime, time.RFC3339, false)
	case "DROP_DOWN", "RADIO_BUTTON":
		if v == nil || v == "" {
			return json.RawMessage(`null`), nil
		}
		if _, option := p.Options[str]; !isString || !option {
			return nil, fmt.Errorf("must be one of the field's options or empty, not %v", v)
		}
		return json.Marshal(str)
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("must be a list of options, not %s", jsonKind(v))
		}
		strs := make([]string, 0, len(list))
		for _, x := range list {
			s, ok := x.(string)
			if _, option := p.Options[s]; !ok || (typ != "CATEGORY" && !option) {
				return nil, fmt.Errorf("%v is not one of the field's options", x)
			}
			strs = append(strs, s)
		}
		return json.Marshal(strs)
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("must be a list of {code, name}, not %s", jsonKind(v))
		}
		out := make([]maskedEntity, 0, len(list))
		for _, x := range list {
			e, err := maskEntity(x)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return json.Marshal(out)
	case "CREATOR", "MODIFIER":
		e, err := maskEntity(v)
		if err != nil {
			return nil, err
		}
		return json.Marshal(e)
	case "FILE", "SUBTABLE":
		if list, ok := v.([]any); !ok || len(list) != 0 {
			return nil, fmt.Errorf("must be [] (a masked %s shows none), not %v", typ, v)
		}
		return json.RawMessage(`[]`), nil
	}
	return nil, fmt.Errorf("a %s field cannot be masked", typ)
}

type maskedEntity struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func maskEntity(v any) (maskedEntity, error) {
	m, ok := v.(map[string]any)
	code, okCode := m["code"].(string)
	name, okName := m["name"].(string)
	if !ok || !okCode || (m["name"] != nil && !okName) || len(m) > 2 {
		return maskedEntity{}, fmt.Errorf("must be {code, name}, not %v", v)
	}
	return maskedEntity{Code: code, Name: name}, nil
}

// maskNumber accepts a number, or a string holding one, and writes it as
// kintone writes numbers: a plain decimal in a string ("" when empty).
func maskNumber(v any) (json.RawMessage, error) {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = string(x)
	case string:
		if x == "" {
			return json.RawMessage(`""`), nil
		}
		text = x
	case float64: // decisions built by hand (tests); policies give json.Number
		text = fmt.Sprint(x)
	default:
		return nil, fmt.Errorf("must be a number or \"\", not %s", jsonKind(v))
	}
	s, ok := plainDecimal(text)
	if !ok {
		return nil, fmt.Errorf("must be a number or \"\", not %q", text)
	}
	return json.Marshal(s)
}

var decimalSyntax = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?$`)

// plainDecimal writes a decimal without exponent or superfluous zeros.
func plainDecimal(s string) (string, bool) {
	if !decimalSyntax.MatchString(s) {
		return "", false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", false
	}
	if r.IsInt() {
		return r.Num().String(), true
	}
	for places := 1; places <= 60; places++ {
		out := r.FloatString(places)
		if back, _ := new(big.Rat).SetString(out); back.Cmp(r) == 0 {
			return out, true
		}
	}
	return "", false
}

// maskMoment accepts a date or time in exactly kintone's form; empty when
// the type allows it (kintone sends null for an empty date or time).
func maskMoment(v any, form *regexp.Regexp, layout string, nullable bool) (json.RawMessage, error) {
	if nullable && (v == nil || v == "") {
		return json.RawMessage(`null`), nil
	}
	s, ok := v.(string)
	if !ok || !form.MatchString(s) {
		return nil, fmt.Errorf("must look like kintone's %q, not %v", layout, v)
	}
	if _, err := time.Parse(layout, s); err != nil {
		return nil, fmt.Errorf("%q is not a valid date or time", s)
	}
	return json.Marshal(s)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
