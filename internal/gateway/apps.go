package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
)

// AppInfo is app.json as the member sees it. The creator and modifier are
// the company's own staff and stay out.
type AppInfo struct {
	AppID       string          `json:"appId"`
	Code        string          `json:"code"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	SpaceID     *string         `json:"spaceId"`
	ThreadID    *string         `json:"threadId"`
	CreatedAt   string          `json:"createdAt"`
	Creator     json.RawMessage `json:"creator"`
	ModifiedAt  string          `json:"modifiedAt"`
	Modifier    json.RawMessage `json:"modifier"`

	Alias string `json:"-"` // the app's kgate alias, for the portal
}

var nobody = json.RawMessage(`{"code":"","name":""}`)

// App returns app.json for an app the member may read.
func (g *Gateway) App(ctx context.Context, id *identity.Identity, ref AppRef) (*AppInfo, error) {
	a, err := g.resolve(id, ref)
	if err != nil {
		return nil, err
	}
	if _, err := g.decide(ctx, g.view(ctx), id, a, input(id, a, "read")); err != nil {
		return nil, err
	}
	return g.appInfo(ctx, id, a)
}

func (g *Gateway) appInfo(ctx context.Context, id *identity.Identity, a *app) (*AppInfo, error) {
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "app.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Params: url.Values{"id": {a.ID}}, Lang: id.Lang})
	if err != nil {
		return nil, upstreamError(err, id.Lang, nil)
	}
	var info AppInfo
	if err := json.Unmarshal(resp.Body, &info); err != nil {
		return nil, upstreamError(errMalformed, id.Lang, nil)
	}
	info.Creator, info.Modifier, info.Alias = nobody, nobody, a.Alias
	return &info, nil
}

// AppsFilter is GET apps.json's parameters.
type AppsFilter struct {
	IDs, Codes, SpaceIDs []string
	Name                 string
	Limit, Offset        int // Limit 0 = kintone's 100
}

// Apps lists the apps kgate opens that the member may read, filtered as
// kintone filters apps.json. Apps the member may not read are not listed
// at all.
func (g *Gateway) Apps(ctx context.Context, id *identity.Identity, f AppsFilter) ([]*AppInfo, error) {
	var out []*AppInfo
	view := g.view(ctx)
	for _, a := range g.order {
		if !f.matchesApp(a) {
			continue
		}
		d, err := view.Decide(ctx, input(id, a, "read"))
		if err != nil {
			return nil, policyError(id.Lang)
		}
		if !d.Allow {
			continue
		}
		info, err := g.appInfo(ctx, id, a)
		if err != nil {
			return nil, err
		}
		if f.matchesInfo(info) {
			out = append(out, info)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if f.Offset >= len(out) {
		return []*AppInfo{}, nil
	}
	out = out[f.Offset:]
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *AppsFilter) matchesApp(a *app) bool {
	return (len(f.IDs) == 0 || contains(f.IDs, a.ID)) &&
		(len(f.SpaceIDs) == 0 || contains(f.SpaceIDs, a.GuestSpace))
}

func (f *AppsFilter) matchesInfo(info *AppInfo) bool {
	return (len(f.Codes) == 0 || contains(f.Codes, info.Code)) &&
		(f.Name == "" || strings.Contains(strings.ToLower(info.Name), strings.ToLower(f.Name)))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Form is app/form/fields.json as the member sees it: the readable fields'
// properties, decoded for callers that render forms, and written back to
// API clients as kintone sent them, less the settings that name the
// company's own users, groups and organizations.
type Form struct {
	Properties map[string]kintone.FieldProperty
	Revision   string
	// Masked are the readable fields (table columns included) the member
	// sees only as the policy's mask, so that a page can say so instead of
	// showing the mask as if it were the value. Not sent to API clients.
	Masked map[string]bool
	// ExportCap is the policy's export rule for the member's reads of the
	// app: the most records one CSV export may hold, 0 without the rule.
	// Not sent to API clients.
	ExportCap int

	raw map[string]json.RawMessage
}

// MarshalJSON writes the form in kintone's shape, keeping every property
// kintone sent (kintone clients may read ones kgate does not model).
func (f *Form) MarshalJSON() ([]byte, error) {
	props := make(map[string]json.RawMessage, len(f.Properties))
	for code, p := range f.Properties {
		raw, ok := f.raw[code]
		if !ok {
			b, err := json.Marshal(p)
			if err != nil {
				return nil, err
			}
			raw = b
		}
		props[code] = raw
	}
	return json.Marshal(struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Revision   string                     `json:"revision"`
	}{props, f.Revision})
}

// FormFields returns the readable fields of an app's form, with labels in
// lang ("", "default", "ja", "en", "zh" or "user", as kintone takes them).
// Settings that name the company's own users, groups and organizations
// (entities, default users) stay out.
func (g *Gateway) FormFields(ctx context.Context, id *identity.Identity, ref AppRef, lang string) (*Form, error) {
	_, d, f, err := g.readSettings(ctx, id, ref, lang)
	if err != nil {
		return nil, err
	}
	readable := newFieldSet(d.Readable)
	out := &Form{Properties: map[string]kintone.FieldProperty{}, Revision: f.revision, raw: map[string]json.RawMessage{},
		Masked: map[string]bool{}, ExportCap: d.Export}
	for code := range d.Masks {
		if _, known := f.types[code]; known && readable.readable(f, code) {
			out.Masked[code] = true
		}
	}
	for code, p := range f.props {
		if !readable.readable(f, code) {
			continue
		}
		out.Properties[code] = publicProperty(p)
		if raw, ok := f.raw[code]; ok {
			if clean, err := publicRaw(raw); err == nil {
				out.raw[code] = clean
			}
		}
	}
	return out, nil
}

func publicProperty(p kintone.FieldProperty) kintone.FieldProperty {
	p.Entities = nil
	switch p.Type {
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT":
		p.DefaultValue = nil
	}
	if p.Lookup != nil {
		l := *p.Lookup
		l.FilterCond, l.Sort = "", ""
		p.Lookup = &l
	}
	if len(p.Fields) > 0 {
		inner := make(map[string]kintone.FieldProperty, len(p.Fields))
		for k, ip := range p.Fields {
			inner[k] = publicProperty(ip)
		}
		p.Fields = inner
	}
	return p
}

// publicRaw is publicProperty on kintone's own JSON of a property.
func publicRaw(raw json.RawMessage) (json.RawMessage, error) {
	var p map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		return nil, err
	}
	scrub(p)
	return json.Marshal(p)
}

func scrub(p map[string]any) {
	if _, ok := p["entities"]; ok {
		p["entities"] = []any{}
	}
	switch p["type"] {
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT":
		p["defaultValue"] = []any{}
	}
	if l, ok := p["lookup"].(map[string]any); ok {
		l["filterCond"], l["sort"] = "", ""
	}
	if inner, ok := p["fields"].(map[string]any); ok {
		for _, ip := range inner {
			if m, ok := ip.(map[string]any); ok {
				scrub(m)
			}
		}
	}
}

// readSettings is the start of every read of an app's settings: the app,
// the member's decision to read it, and its form with labels in lang.
func (g *Gateway) readSettings(ctx context.Context, id *identity.Identity, ref AppRef, lang string) (*app, *policy.Decision, *form, error) {
	a, err := g.resolve(id, ref)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := g.decide(ctx, g.view(ctx), id, a, input(id, a, "read"))
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := a.forms.get(ctx, lang)
	if err != nil {
		return nil, nil, nil, upstreamError(err, id.Lang, nil)
	}
	return a, d, f, nil
}

// Layout is app/form/layout.json as the member sees it.
type Layout struct {
	Layout   []json.RawMessage `json:"layout"`
	Revision string            `json:"revision"`
}

// FormLayout returns the app's layout without the fields the member may
// not read; rows left empty disappear.
func (g *Gateway) FormLayout(ctx context.Context, id *identity.Identity, ref AppRef) (*Layout, error) {
	a, d, f, err := g.readSettings(ctx, id, ref, "")
	if err != nil {
		return nil, err
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "app/form/layout.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Params: url.Values{"app": {a.ID}}, Lang: id.Lang})
	if err != nil {
		return nil, upstreamError(err, id.Lang, nil)
	}
	var body struct {
		Layout   []layoutItem `json:"layout"`
		Revision string       `json:"revision"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, upstreamError(errMalformed, id.Lang, nil)
	}
	readable := newFieldSet(d.Readable)
	out := &Layout{Layout: []json.RawMessage{}, Revision: body.Revision}
	for _, item := range filterLayout(body.Layout, func(code string) bool { return readable.readable(f, code) }) {
		b, _ := json.Marshal(item)
		out.Layout = append(out.Layout, b)
	}
	return out, nil
}

// layoutItem is one element of a layout: a ROW, SUBTABLE or GROUP, or a
// field or decoration inside a row.
type layoutItem struct {
	Type   string          `json:"type"`
	Code   string          `json:"code,omitempty"`
	Label  string          `json:"label,omitempty"`
	Size   json.RawMessage `json:"size,omitempty"`
	Fields []layoutItem    `json:"fields,omitempty"`
	Layout []layoutItem    `json:"layout,omitempty"`
	// ElementID identifies SPACER elements.
	ElementID string `json:"elementId,omitempty"`
}

func filterLayout(items []layoutItem, readable func(string) bool) []layoutItem {
	var out []layoutItem
	for _, it := range items {
		switch it.Type {
		case "ROW":
			it.Fields = filterLayout(it.Fields, readable)
			if len(it.Fields) == 0 {
				continue
			}
		case "SUBTABLE":
			if !readable(it.Code) {
				continue
			}
		case "GROUP":
			// A group is shown when something inside it is.
			it.Layout = filterLayout(it.Layout, readable)
			if len(it.Layout) == 0 {
				continue
			}
		case "LABEL", "SPACER", "HR":
			// decoration: kept
		default:
			if it.Code != "" && !readable(it.Code) {
				continue
			}
		}
		out = append(out, it)
	}
	return out
}
