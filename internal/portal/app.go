package portal

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// appView is one app as one member sees it on one page: the readable
// fields with labels in the page language, in the form's order.
type appView struct {
	alias  string
	ref    gateway.AppRef
	set    AppSettings
	props  map[string]kintone.FieldProperty // readable top-level fields
	order  []string                         // top-level codes: layout order, then the rest
	inner  map[string][]string              // subtable → its fields in layout order
	layout []layoutItem
	fields map[string]kql.Field // what the member's queries may name
	title  string               // the field that names a record, "" for none
	masked map[string]bool      // fields the member sees only as the policy's mask
	export int                  // the policy's export cap for the member, 0 for none
}

// layoutItem is an element of kintone's form layout.
type layoutItem struct {
	Type   string       `json:"type"`
	Code   string       `json:"code,omitempty"`
	Label  string       `json:"label,omitempty"`
	Fields []layoutItem `json:"fields,omitempty"`
	Layout []layoutItem `json:"layout,omitempty"`
}

// loadApp reads the app's readable form (labels in the page language) and
// its layout. The layout is kept for a minute per set of readable fields:
// what the gateway returns is the app's layout cut down to that set, so
// members with the same set get the same layout.
func (c *call) loadApp(alias string) (*appView, error) {
	ref, ok := c.h.gw.Ref(alias)
	if !ok {
		return nil, kintone.NewError("GAIA_AP01", c.loc.Lang, alias)
	}
	form, err := c.h.gw.FormFields(c.ctx, c.id, ref, c.loc.Lang)
	if err != nil {
		return nil, err
	}
	c.h.checkPending(c.ctx, alias)
	av := &appView{alias: alias, ref: ref, set: c.h.cfg.Apps[alias], props: enabled(form.Properties), masked: form.Masked,
		export: form.ExportCap}
	av.localize(c.loc.Lang)
	codes := make([]string, 0, len(form.Properties))
	for code := range form.Properties {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	key := "layout\x00" + alias + "\x00" + strings.Join(codes, "\x00")
	items, err := c.h.appCache.get(key, func() (any, error) {
		l, err := c.h.gw.FormLayout(c.ctx, c.id, ref)
		if err != nil {
			return nil, err
		}
		return parseLayout(l), nil
	})
	if err != nil {
		return nil, err
	}
	av.layout = items.([]layoutItem)
	av.derive()
	return av, nil
}

// enabled leaves out the status, assignee and category fields of an app
// that has process management or categories turned off.
func enabled(props map[string]kintone.FieldProperty) map[string]kintone.FieldProperty {
	out := make(map[string]kintone.FieldProperty, len(props))
	for code, p := range props {
		if p.Enabled != nil && !*p.Enabled {
			continue
		}
		out[code] = p
	}
	return out
}

func parseLayout(l *gateway.Layout) []layoutItem {
	out := make([]layoutItem, 0, len(l.Layout))
	for _, raw := range l.Layout {
		var it layoutItem
		if json.Unmarshal(raw, &it) == nil {
			out = append(out, it)
		}
	}
	return out
}

// localize applies the configured label overrides.
func (av *appView) localize(lang string) {
	if len(av.set.Labels) == 0 {
		return
	}
	props := make(map[string]kintone.FieldProperty, len(av.props))
	for code, p := range av.props {
		if t, ok := av.set.Labels[code]; ok && !t.Empty() {
			p.Label = t.In(lang)
		}
		if len(p.Fields) > 0 {
			inner := make(map[string]kintone.FieldProperty, len(p.Fields))
			for ic, ip := range p.Fields {
				if t, ok := av.set.Labels[ic]; ok && !t.Empty() {
					ip.Label = t.In(lang)
				}
				inner[ic] = ip
			}
			p.Fields = inner
		}
		props[code] = p
	}
	av.props = props
}

// derive computes the field order, the query model and the title field.
func (av *appView) derive() {
	av.inner = map[string][]string{}
	seen := map[string]bool{}
	var walk func(items []layoutItem)
	walk = func(items []layoutItem) {
		for _, it := range items {
			switch it.Type {
			case "ROW":
				walk(it.Fields)
			case "GROUP":
				walk(it.Layout)
			case "SUBTABLE":
				for _, f := range it.Fields {
					av.inner[it.Code] = append(av.inner[it.Code], f.Code)
				}
			}
			if p, ok := av.props[it.Code]; ok && shown(p.Type) && !seen[it.Code] {
				seen[it.Code] = true
				av.order = append(av.order, it.Code)
			}
		}
	}
	walk(av.layout)
	var rest []string
	for code, p := range av.props {
		if !seen[code] && shown(p.Type) {
			rest = append(rest, code)
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		ri, rj := systemRank(av.props[rest[i]].Type), systemRank(av.props[rest[j]].Type)
		if ri != rj {
			return ri < rj
		}
		return rest[i] < rest[j]
	})
	av.order = append(av.order, rest...)
	av.fields = queryFields(av.props)
	av.title = av.pick(av.set.TitleField, func(p kintone.FieldProperty) bool { return p.Type == "SINGLE_LINE_TEXT" })
}

// shown reports whether a field type holds record data to show.
func shown(typ string) bool {
	switch typ {
	case "GROUP", "LABEL", "SPACER", "HR", "REFERENCE_TABLE", "":
		return false
	}
	return true
}

// systemRank orders fields the layout does not place (kintone's system
// fields, mostly) as kintone's record screen does.
func systemRank(typ string) int {
	for i, t := range []string{"RECORD_NUMBER", "STATUS", "STATUS_ASSIGNEE", "CATEGORY", "CREATOR", "CREATED_TIME", "MODIFIER", "UPDATED_TIME"} {
		if t == typ {
			return i
		}
	}
	return 100
}

// queryFields is the query-rule model of the readable fields.
func queryFields(props map[string]kintone.FieldProperty) map[string]kql.Field {
	out := make(map[string]kql.Field, len(props))
	for code, p := range props {
		if p.Type == "SUBTABLE" {
			for ic, ip := range p.Fields {
				out[ic] = kql.Field{Code: ic, Type: ip.Type, Options: optionValues(ip), InSubtable: true}
			}
			continue
		}
		out[code] = kql.Field{Code: code, Type: p.Type, Options: optionValues(p)}
	}
	return out
}

// optionValues are a choice field's options in kintone's order (index).
func optionValues(p kintone.FieldProperty) []string {
	out := make([]string, 0, len(p.Options))
	for k := range p.Options {
		out = append(out, k)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := p.Options[out[i]].Index, p.Options[out[j]].Index
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		if a != b {
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}

// pick returns the configured field when the member may read it, else the
// first field in form order that fits.
func (av *appView) pick(configured string, fits func(kintone.FieldProperty) bool) string {
	if configured != "" {
		if _, ok := av.props[configured]; ok {
			return configured
		}
		return ""
	}
	for _, code := range av.order {
		if fits(av.props[code]) {
			return code
		}
	}
	return ""
}

// readable filters configured codes down to the readable top-level ones.
func (av *appView) readable(codes []string) []string {
	var out []string
	for _, c := range codes {
		if _, ok := av.props[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// label is a field's label, or its code when it has none.
func (av *appView) label(code string) string {
	if p, ok := av.props[code]; ok && p.Label != "" {
		return p.Label
	}
	return code
}

// appName returns the configured name or kintone's, cached for a minute.
// It is called after the member's read was allowed on this page.
func (c *call) appName(av *appView) (name string, desc any) {
	lang := c.loc.Lang
	if !av.set.Name.Empty() && !av.set.Description.Empty() {
		return av.set.Name.In(lang), av.set.Description.In(lang)
	}
	info, err := c.h.appCache.get("app\x00"+av.alias, func() (any, error) {
		return c.h.gw.App(c.ctx, c.id, av.ref)
	})
	name, desc = av.alias, nil
	if err == nil {
		ai := info.(*gateway.AppInfo)
		name = ai.Name
		if strings.TrimSpace(ai.Description) != "" {
			desc = c.h.rich.sanitize(ai.Description)
		}
	}
	if !av.set.Name.Empty() {
		name = av.set.Name.In(lang)
	}
	if !av.set.Description.Empty() {
		desc = av.set.Description.In(lang)
	}
	return name, desc
}

// ttlCache keeps values for a while; it is small and drops everything
// when full, which is fine for the handful of apps a portal opens.
type ttlCache struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]ttlEntry
}

type ttlEntry struct {
	v   any
	exp time.Time
}

func newTTLCache(ttl time.Duration, max int) *ttlCache {
	return &ttlCache{ttl: ttl, max: max, now: time.Now, byID: map[string]ttlEntry{}}
}

// peek returns the value kept for key, if it is still fresh.
func (c *ttlCache) peek(key string) (any, bool) {
	c.mu.Lock()
	e, ok := c.byID[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.exp) {
		return e.v, true
	}
	return nil, false
}

// put keeps v under key.
func (c *ttlCache) put(key string, v any) {
	c.mu.Lock()
	if len(c.byID) >= c.max {
		c.byID = map[string]ttlEntry{}
	}
	c.byID[key] = ttlEntry{v: v, exp: c.now().Add(c.ttl)}
	c.mu.Unlock()
}

// get returns the cached value for key or what load returns; errors are
// not cached.
func (c *ttlCache) get(key string, load func() (any, error)) (any, error) {
	c.mu.Lock()
	e, ok := c.byID[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.exp) {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.byID) >= c.max {
		c.byID = map[string]ttlEntry{}
	}
	c.byID[key] = ttlEntry{v: v, exp: c.now().Add(c.ttl)}
	c.mu.Unlock()
	return v, nil
}
