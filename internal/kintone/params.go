package kintone

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Params are a request's parameters however they arrived: from the query
// string (ids[0]=1 → {"ids":["1"]}), from a JSON body (on any method, and
// behind X-HTTP-Method-Override), or from a bulkRequest payload. Values are
// what encoding/json gives with UseNumber, or strings from a query string.
type Params map[string]any

// BodyError is a request body that could not be read: the member's
// connection broke off or was too slow, or what reads it refused to go on.
// It unwraps to the cause.
type BodyError struct {
	Err  error
	Lang string
}

func (e *BodyError) Error() string { return "reading the request body: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// ErrBodyTooLarge is returned by ReadParams for a body above the limit.
var ErrBodyTooLarge = errors.New("request body too large")

// Method returns the method kintone acts on: X-HTTP-Method-Override
// counts only on POST and only in upper case, as in kintone.
func Method(r *http.Request) string {
	if r.Method == http.MethodPost {
		switch o := r.Header.Get("X-HTTP-Method-Override"); o {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
			return o
		}
	}
	return r.Method
}

// ReadParams reads the parameters of a REST call as kintone does: a JSON
// body when Content-Type says JSON, otherwise the query string. A body
// that is not one JSON object is CB_IJ01; one above maxBody bytes is
// ErrBodyTooLarge.
func ReadParams(r *http.Request, maxBody int64, lang string) (Params, error) {
	if JSONBody(r.Header.Get("Content-Type")) && r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return nil, ErrBodyTooLarge
		case err != nil:
			return nil, &BodyError{Err: err, Lang: lang}
		}
		if int64(len(body)) > maxBody {
			return nil, ErrBodyTooLarge
		}
		if len(strings.TrimSpace(string(body))) > 0 || r.URL.RawQuery == "" {
			p, ok := decodeLeavingValues(body)
			if !ok {
				return nil, NewError("CB_IJ01", lang)
			}
			return p, nil
		}
	}
	return QueryParams(r.URL.Query()), nil
}

// decodeLeavingValues is DecodeParams, except that a field value — the
// object or array under a "value" key, as records carry them — stays the
// JSON text it was: kgate passes such values on, and a tree of maps of a
// large table would hold twenty times the bytes of its text.
func decodeLeavingValues(body []byte) (Params, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true))
	v, err := decodeValue(dec, "")
	if err != nil {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func decodeValue(dec *jsontext.Decoder, key string) (any, error) {
	switch kind := dec.PeekKind(); {
	case key == "value" && (kind == '{' || kind == '['):
		raw, err := dec.ReadValue()
		return json.RawMessage(bytes.Clone(raw)), err
	case kind == '{':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for dec.PeekKind() == '"' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			k := name.String() // the token is void once the decoder reads on
			v, err := decodeValue(dec, k)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		_, err := dec.ReadToken()
		return m, err
	case kind == '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		a := []any{}
		for dec.PeekKind() != ']' && dec.PeekKind() != 0 {
			v, err := decodeValue(dec, "")
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.ReadToken()
		return a, err
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("kintone: unexpected JSON %v", tok.Kind())
}

// DecodeParams reads one JSON object; anything else (malformed JSON, an
// array, trailing data) is reported as not ok.
func DecodeParams(body []byte) (Params, bool) {
	d := json.NewDecoder(strings.NewReader(string(body)))
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

// JSONBody reports whether a content type announces JSON.
func JSONBody(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/json")
}

// QueryParams reads the bracket encoding clients use in query strings:
// "a[0]=x&a[1]=y" is an array, "k[f]=v" an object; a plain repeated key
// keeps its first value.
func QueryParams(q url.Values) Params {
	root := map[string]any{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		base, path := splitKey(k)
		if base == "" {
			continue
		}
		if len(path) == 0 {
			if _, exists := root[base]; !exists {
				root[base] = q[k][0]
			}
			continue
		}
		for _, v := range q[k] {
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
	base, rest := k[:i], k[i:]
	var path []string
	for len(rest) > 0 {
		j := strings.IndexByte(rest, ']')
		if rest[0] != '[' || j < 0 {
			return k, nil
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	return base, path
}

// setPath stores v under key and path; an empty segment ("a[]") appends.
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
		seg = "\x00" + strconv.Itoa(len(child)) // appended: after explicit indexes
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

// Text reads a string parameter; numbers are taken as their text.
func (p Params) Text(key string) (string, bool) {
	switch x := p[key].(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// Int reads a whole number given as a JSON number or a string. present is
// false when the key is missing or null; ok is false for anything else
// that is not a whole number.
func (p Params) Int(key string) (n int64, present, ok bool) {
	v, found := p[key]
	if !found || v == nil {
		return 0, false, false
	}
	s, isText := p.Text(key)
	if !isText {
		return 0, true, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, true, err == nil
}

// Bool reads true/false or "true"/"false".
func (p Params) Bool(key string) (b, present, ok bool) {
	v, found := p[key]
	if !found || v == nil {
		return false, false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true, true
	case string:
		if x == "true" || x == "false" {
			return x == "true", true, true
		}
	}
	return false, true, false
}

// Strings reads an array of strings (numbers taken as text); a scalar
// counts as a list of one, as a single "ids=1" in a query string does.
func (p Params) Strings(key string) (list []string, present, ok bool) {
	v, found := p[key]
	if !found || v == nil {
		return nil, false, false
	}
	items, isList := v.([]any)
	if !isList {
		if m, isMap := v.(map[string]any); isMap && len(m) == 0 {
			return []string{}, true, true
		}
		items = []any{v}
	}
	out := make([]string, 0, len(items))
	for i := range items {
		s, isText := Params{"v": items[i]}.Text("v")
		if !isText {
			return nil, true, false
		}
		out = append(out, s)
	}
	return out, true, true
}
