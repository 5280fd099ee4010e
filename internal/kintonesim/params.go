package kintonesim

import (
	"encoding/json"
	"io"
	"net/url"
	"sort"
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
func decodeJSON(r io.Reader) (params, bool) {
	d := json.NewDecoder(r)
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// queryParams turns a query string into params the way kintone reads the
// qs-style encoding clients use: "a[0]=x&a[1]=y" is an array, "k[f]=v" an
// object, and plain repeated keys keep their first value.
func queryParams(q url.Values) params {
	root := map[string]any{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := q[k]
		base, path := splitKey(k)
		if base == "" {
			continue
		}
		if len(path) == 0 {
			if _, exists := root[base]; !exists {
				root[base] = vals[0]
			}
			continue
		}
		for _, v := range vals {
			setPath(root, base, path, v)
		}
	}
	return arraysFromMaps(root).(map[string]any)
}

// splitKey splits "a[0][b]" into "a" and ["0", "b"].
func splitKey(k string) (string, []string) {
	i := strings.IndexByte(k, '[')
	if i < 0 || !strings.HasSuffix(k, "]") {
		return k, nil
	}
	base := k[:i]
	rest := k[i:]
	var path []string
	for len(rest) > 0 {
		if rest[0] != '[' {
			return k, nil
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return k, nil
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	return base, path
}

// setPath stores v under base and path, building nested maps; an empty
// segment ("a[]") appends.
func setPath(m map[string]any, key string, path []string, v string) {
	if len(path) == 0 {
		m[key] = v
		return
	}
	child, ok := m[key].(map[string]any)
	if !ok {
		child = map[string]any{}
		m[key] = child
	}
	seg := path[0]
	if seg == "" {
		seg = "\x00" + strconv.Itoa(len(child)) // appended: ordered after explicit indexes
	}
	setPath(child, seg, path[1:], v)
}

// arraysFromMaps turns maps whose keys are all indexes into arrays in index
// order.
func arraysFromMaps(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, c := range m {
		m[k] = arraysFromMaps(c)
	}
	if len(m) == 0 {
		return m
	}
	type item struct {
		n    int
		tail bool
		v    any
	}
	items := make([]item, 0, len(m))
	for k, c := range m {
		tail := strings.HasPrefix(k, "\x00")
		n, err := strconv.Atoi(strings.TrimPrefix(k, "\x00"))
		if err != nil || n < 0 {
			return m
		}
		items = append(items, item{n, tail, c})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].tail != items[j].tail {
			return !items[i].tail
		}
		return items[i].n < items[j].n
	})
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// jsonBody reports whether a content type announces JSON.
func jsonBody(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	return ct == "application/json"
}

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
