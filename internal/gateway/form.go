package gateway

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/policy"
)

// form is what kgate knows of an app's form: the properties kintone returns
// and what the query rules and the record filter derive from them.
type form struct {
	props    map[string]kintone.FieldProperty
	raw      map[string]json.RawMessage // each property exactly as kintone sent it
	revision string
	fields   map[string]kql.Field // every queryable field, subtable fields included
	types    map[string]string    // code → type, subtable fields included
	table    map[string]string    // subtable field code → its table's code
	fetched  time.Time
}

// formCache keeps an app's form per label language for a while; the form
// changes only when the app's settings are deployed.
type formCache struct {
	g      *Gateway
	app    *app
	ttl    time.Duration
	mu     sync.Mutex
	byLang map[string]*form
	flight singleflight.Group
}

func newFormCache(g *Gateway, a *app, ttl time.Duration) *formCache {
	return &formCache{g: g, app: a, ttl: ttl, byLang: map[string]*form{}}
}

// get returns the app's form with labels in lang ("" = kintone's default).
func (c *formCache) get(ctx context.Context, lang string) (*form, error) {
	c.mu.Lock()
	f := c.byLang[lang]
	c.mu.Unlock()
	if f != nil && c.g.now().Sub(f.fetched) < c.ttl {
		return f, nil
	}
	v, err, _ := c.flight.Do(lang, func() (any, error) {
		f, err := c.fetch(ctx, lang)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.byLang[lang] = f
		c.mu.Unlock()
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*form), nil
}

func (c *formCache) fetch(ctx context.Context, lang string) (*form, error) {
	params := url.Values{"app": {c.app.ID}}
	if lang != "" {
		params.Set("lang", lang)
	}
	resp, err := c.g.client.Do(ctx, kintone.Request{
		Method: "GET", API: "app/form/fields.json", GuestSpace: c.app.GuestSpace,
		App: c.app.ID, Tokens: c.app.Tokens, Params: params,
	})
	if err != nil {
		return nil, err
	}
	var body struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Revision   string                     `json:"revision"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, err
	}
	props := make(map[string]kintone.FieldProperty, len(body.Properties))
	for code, raw := range body.Properties {
		var p kintone.FieldProperty
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		props[code] = p
	}
	f := newForm(props, body.Revision, c.g.now())
	f.raw = body.Properties
	return f, nil
}

func newForm(props map[string]kintone.FieldProperty, revision string, now time.Time) *form {
	f := &form{
		props: props, revision: revision, fetched: now,
		fields: map[string]kql.Field{}, types: map[string]string{}, table: map[string]string{},
	}
	for code, p := range props {
		f.types[code] = p.Type
		switch p.Type {
		case "SUBTABLE":
			for inner, ip := range p.Fields {
				f.types[inner] = ip.Type
				f.table[inner] = code
				f.fields[inner] = kql.Field{Code: inner, Type: ip.Type, Options: optionKeys(ip.Options), InSubtable: true}
			}
		case "STATUS", "STATUS_ASSIGNEE", "CATEGORY":
			if p.Enabled != nil && !*p.Enabled {
				continue // process management or categories are off
			}
			f.fields[code] = kql.Field{Code: code, Type: p.Type}
		case "REFERENCE_TABLE", "GROUP", "LABEL", "SPACER", "HR":
			// Not record data. Related-records conditions would reach into
			// another app, past that app's own policy, so they are not offered.
		default:
			f.fields[code] = kql.Field{Code: code, Type: p.Type, Options: optionKeys(p.Options)}
		}
	}
	return f
}

func optionKeys(opts map[string]kintone.Option) []string {
	if len(opts) == 0 {
		return nil
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// property returns the property of a field, a table's column included.
func (f *form) property(code string) kintone.FieldProperty {
	if p, ok := f.props[code]; ok {
		return p
	}
	return f.props[f.table[code]].Fields[code]
}

// fieldSet is a decision's readable or writable set.
type fieldSet struct{ policy.FieldSet }

func newFieldSet(s policy.FieldSet) fieldSet { return fieldSet{s} }

// readable reports whether the member may see code in form f. The record's
// identity ($id, $revision) is always visible; a subtable's fields go with
// their table.
func (s fieldSet) readable(f *form, code string) bool {
	switch {
	case code == "$id" || code == "$revision":
		return true
	case s.Has(code):
		_, ok := f.types[code]
		return ok
	}
	t, ok := f.table[code]
	return ok && s.Has(t)
}

// visibleFields returns the query-rule model of the fields the member may
// use in a condition or order by: readable and not masked, so that no
// hidden or masked value can be probed by filtering or sorting on it.
func visibleFields(f *form, readable fieldSet, masks map[string]any) map[string]kql.Field {
	out := make(map[string]kql.Field, len(f.fields))
	for code, fld := range f.fields {
		if readable.readable(f, code) && !masked(f, masks, code) {
			out[code] = fld
		}
	}
	return out
}

// masked reports whether the policy masks a field, itself or through its
// table — also a table the member may not read: a column named readable on
// its own is still covered by its table's mask.
func masked(f *form, masks map[string]any, code string) bool {
	if _, ok := masks[code]; ok {
		return true
	}
	t, inner := f.table[code]
	_, ok := masks[t]
	return inner && ok
}
