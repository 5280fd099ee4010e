package gateway

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// Views is app/views.json as the member sees it.
type Views struct {
	Views    map[string]View `json:"views"`
	Revision string          `json:"revision"`
}

// View is one record list view. Only the keys kgate knows are kept, so a
// setting kintone adds later stays out until someone decides it is safe.
type View struct {
	Type        string    `json:"type"`
	Name        string    `json:"name"`
	ID          string    `json:"id"`
	BuiltinType string    `json:"builtinType,omitempty"`
	Fields      *[]string `json:"fields,omitempty"` // LIST
	Date        string    `json:"date,omitempty"`   // CALENDAR
	Title       string    `json:"title,omitempty"`  // CALENDAR
	FilterCond  string    `json:"filterCond"`
	Sort        string    `json:"sort"`
	Index       string    `json:"index"`
	Device      string    `json:"device"`
}

// Views returns the app's record list views as the member may know them,
// with view names in lang (as kintone takes it). A list keeps only the
// columns the member may read. A view is left out whole when its
// condition or sort uses a field the member may not filter on (unreadable
// or masked: the condition would tell the field's values), when a
// calendar's date is such a field or its title unreadable, and when it is
// a custom view, whose HTML is the operator's own page. The views left are
// numbered again from 0, so the gaps do not count the hidden ones.
func (g *Gateway) Views(ctx context.Context, id *identity.Identity, ref AppRef, lang string) (*Views, error) {
	a, d, f, err := g.readSettings(ctx, id, ref, "")
	if err != nil {
		return nil, err
	}
	params := url.Values{"app": {a.ID}}
	if lang != "" {
		params.Set("lang", lang)
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "app/views.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Params: params, Lang: id.Lang})
	if err != nil {
		return nil, upstreamError(err, id.Lang, nil)
	}
	var body struct {
		Views    map[string]View `json:"views"`
		Revision string          `json:"revision"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, upstreamError(errMalformed, id.Lang, nil)
	}
	readable := newFieldSet(d.Readable)
	filterable := visibleFields(f, readable, d.Masks)
	var kept []View
	for _, v := range body.Views {
		if v, ok := memberView(v, func(code string) bool { return readable.readable(f, code) }, filterable); ok {
			kept = append(kept, v)
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		if a, b := viewIndex(kept[i]), viewIndex(kept[j]); a != b {
			return a < b
		}
		return kept[i].Name < kept[j].Name
	})
	out := &Views{Views: make(map[string]View, len(kept)), Revision: body.Revision}
	for i, v := range kept {
		v.Index = strconv.Itoa(i)
		out.Views[v.Name] = v
	}
	return out, nil
}

// memberView is v as the member may see it, or false when the member may
// not see it at all.
func memberView(v View, readable func(string) bool, filterable map[string]kql.Field) (View, bool) {
	switch v.Type {
	case "LIST":
		cols := []string{}
		if v.Fields != nil {
			for _, code := range *v.Fields {
				if readable(code) {
					cols = append(cols, code)
				}
			}
		}
		v.Fields, v.Date, v.Title = &cols, "", ""
	case "CALENDAR":
		if _, ok := filterable[v.Date]; !ok || !readable(v.Title) {
			return View{}, false
		}
		v.Fields = nil
	default: // CUSTOM, and any type kgate does not know
		return View{}, false
	}
	return v, queryUses(v.FilterCond, v.Sort, filterable)
}

// queryUses reports whether a view's condition and sort are a query that
// uses only fields the member may filter and sort on. A query kgate cannot
// read counts as one that does not.
func queryUses(cond, order string, filterable map[string]kql.Field) bool {
	q := cond
	if order != "" {
		q += " order by " + order
	}
	parsed, err := kql.Parse(q)
	if err != nil || parsed.Limit != nil || parsed.Offset != nil {
		return false
	}
	return kql.Check(parsed, filterable) == nil
}

func viewIndex(v View) int {
	n, err := strconv.Atoi(v.Index)
	if err != nil {
		return int(^uint(0) >> 1) // kintone always numbers them; last if not
	}
	return n
}
