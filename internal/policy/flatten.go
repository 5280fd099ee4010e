package policy

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/kgate/kgate/internal/kintone"
)

// Flatten turns a kintone record as it travels on the wire ({code: {type,
// value}}) into input.record: one plain value per field, typed so that Rego
// comparisons mean what the translated kintone query means (see the package
// documentation for the table). It is the only definition of input.record;
// everything that evaluates a policy on a record goes through it.
//
// Type must be set on every field (kintone sets it on reads; for writes the
// caller fills it from the form). A field whose value does not decode as its
// type says is flattened to its empty value: kintone never returns such a
// value, and the empty value matches the fewest row rules.
func Flatten(rec kintone.Record) map[string]any {
	out := make(map[string]any, len(rec))
	for code, fv := range rec {
		out[code] = flattenValue(fv.Type, fv.Value)
	}
	return out
}

func flattenValue(typ string, raw json.RawMessage) any {
	switch typ {
	case "SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "RICH_TEXT", "LINK",
		"DROP_DOWN", "RADIO_BUTTON", "DATE", "TIME", "DATETIME",
		"STATUS", "CREATED_TIME", "UPDATED_TIME":
		return decodeString(raw)
	case "RECORD_NUMBER":
		return recordNumber(decodeString(raw))
	case "NUMBER":
		if n, ok := decimal(decodeString(raw)); ok {
			return n
		}
		return nil
	case "CALC":
		s := decodeString(raw)
		if n, ok := decimal(s); ok {
			return n
		}
		if s == "" {
			return nil
		}
		return s // a date, time or duration formatted calculation
	case "__ID__", "__REVISION__":
		if n, ok := decimal(decodeString(raw)); ok {
			return n
		}
		return nil
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		var vs []string
		_ = json.Unmarshal(raw, &vs)
		if vs == nil {
			vs = []string{}
		}
		return vs
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		var es []struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(raw, &es)
		codes := make([]string, len(es))
		for i, e := range es {
			codes[i] = e.Code
		}
		return codes
	case "CREATOR", "MODIFIER":
		var e struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(raw, &e)
		return e.Code
	case "FILE":
		return flattenFiles(raw)
	case "SUBTABLE":
		return flattenSubtable(raw)
	default:
		return decodeAny(raw)
	}
}

// decodeString reads a JSON string; null, absence and anything that is not
// a string read as "" (kintone's own empty value for these types).
func decodeString(raw json.RawMessage) string {
	// fast path: a plain quoted string without escapes, the common case
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && plainJSONString(raw[1:n-1]) {
		return string(raw[1 : n-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// plainJSONString reports whether b, the inside of a JSON string, means
// itself: no escapes, no control characters, valid UTF-8.
func plainJSONString(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// decimal reads a kintone number (a decimal in a string) exactly, as a
// json.Number that Rego compares numerically. Exponents are expanded so that
// the number reads the same to Rego and to the KQL printer.
func decimal(s string) (json.Number, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "", false
	}
	if plainDecimal(s) {
		return json.Number(s), true
	}
	if !decimalSyntax(s) {
		return "", false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", false
	}
	return json.Number(ratString(r)), true
}

// plainDecimal reports whether s is already in the form ratString prints:
// an optional minus, an integer without leading zeros, and an optional
// fraction without trailing zeros.
func plainDecimal(s string) bool {
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') || !digits(intPart) {
		return false
	}
	if !hasFrac {
		return !(neg && intPart == "0")
	}
	return frac != "" && digits(frac) && frac[len(frac)-1] != '0'
}

// decimalSyntax accepts [+-]digits[.digits][e[+-]digits], with digits on at
// least one side of the point: what kintone stores, and nothing that
// big.Rat would read in another way (fractions, hexadecimal).
func decimalSyntax(s string) bool {
	s = trimSign(s)
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		exp = trimSign(exp)
		if exp == "" || !digits(exp) || len(exp) > 3 {
			return false
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	return intPart+frac != "" && digits(intPart) && digits(frac)
}

func trimSign(s string) string {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[1:]
	}
	return s
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ratString prints r as a plain decimal without exponent, or "" if r has no
// finite decimal expansion (which cannot happen for parsed decimals).
func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	// A decimal input has a denominator of the form 2^a·5^b; find the number
	// of places that makes it exact.
	d := new(big.Int).Set(r.Denom())
	places := 0
	two, five := big.NewInt(2), big.NewInt(5)
	zero := new(big.Int)
	m := new(big.Int)
	for d.Cmp(big.NewInt(1)) != 0 {
		switch {
		case m.Mod(d, two).Cmp(zero) == 0:
			d.Div(d, two)
		case m.Mod(d, five).Cmp(zero) == 0:
			d.Div(d, five)
		default:
			return r.FloatString(20)
		}
		places++
	}
	return strings.TrimRight(strings.TrimRight(r.FloatString(places), "0"), ".")
}

// recordNumber drops an app-code prefix ("ORDERS-12" → "12"): kintone
// queries a record number by its number, so the policy must see the same.
func recordNumber(s string) string {
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func flattenFiles(raw json.RawMessage) []any {
	var fs []struct {
		Name        string `json:"name"`
		ContentType string `json:"contentType"`
		Size        string `json:"size"`
	}
	_ = json.Unmarshal(raw, &fs)
	out := make([]any, len(fs))
	for i, f := range fs {
		m := map[string]any{"name": f.Name, "contentType": f.ContentType, "size": nil}
		if n, ok := decimal(f.Size); ok {
			m["size"] = n
		}
		out[i] = m
	}
	return out
}

func flattenSubtable(raw json.RawMessage) []any {
	var rows []struct {
		Value kintone.Record `json:"value"`
	}
	_ = json.Unmarshal(raw, &rows)
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = Flatten(r.Value)
	}
	return out
}

func decodeAny(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}
