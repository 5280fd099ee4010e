package kintonesim

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/kintone"
)

// params are a request's parameters however they arrived: from the query
// string (ids[0]=1 → {"ids":["1"]}), a JSON body, or a bulkRequest payload.
// Values are what encoding/json gives with UseNumber.
type params map[string]any

// decodeJSON reads a JSON object. Anything else — malformed JSON, an array,
// trailing data — is kintone's CB_IJ01.
func decodeJSON(b []byte) (params, bool) {
	p, ok := kintone.DecodeParams(b)
	return params(p), ok
}

// queryParams reads a query string the way kintone reads the bracket
// encoding clients use.
func queryParams(q url.Values) params { return params(kintone.QueryParams(q)) }

// The parameter readers below add kintone's validation errors to ve and
// report whether the value was present and good.

// integer reads a whole number given as a JSON number or a string.
func (p params) integer(key string, ve *verrs) (int64, bool) {
	v, ok := p[key]
	if !ok || v == nil {
		return 0, false
	}
	n, good := asInt(v)
	if !good {
		ve.add(key, kintone.MsgInteger)
		return 0, false
	}
	return n, true
}

func asInt(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// required reads a whole-number parameter that must be there.
func (p params) required(key string, ve *verrs) (int64, bool) {
	if v, ok := p[key]; !ok || v == nil || v == "" {
		ve.add(key, kintone.MsgRequiredParam)
		return 0, false
	}
	return p.integer(key, ve)
}

// text reads a string parameter (numbers are taken as their text).
func (p params) text(key string) (string, bool) {
	v, ok := p[key]
	if !ok || v == nil {
		return "", false
	}
	s, ok := scalarText(v)
	return s, ok
}

// boolean reads true/false or "true"/"false".
func (p params) boolean(key string, ve *verrs) (bool, bool) {
	v, ok := p[key]
	if !ok || v == nil {
		return false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch x {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	ve.add(key, kintone.MsgBoolean)
	return false, false
}

// list reads an array parameter; a scalar counts as a list of one, as a
// single "ids=1" in a query string does.
func (p params) list(key string) ([]any, bool) {
	v, ok := p[key]
	if !ok || v == nil {
		return nil, false
	}
	switch x := v.(type) {
	case []any:
		return x, true
	case map[string]any:
		if len(x) == 0 {
			return []any{}, true
		}
		return nil, false
	}
	return []any{v}, true
}

// object reads an object parameter.
func (p params) object(key string) (map[string]any, bool) {
	m, ok := p[key].(map[string]any)
	return m, ok
}
