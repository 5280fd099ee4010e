package kintonesim

import (
	"fmt"
	"strconv"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// SeedView is one of an app's record list views, as app/views.json shows
// it; the seed lists them in the order kintone shows them.
type SeedView struct {
	Name        string   `json:"name"`
	Type        string   `json:"type,omitempty"`        // LIST (default), CALENDAR or CUSTOM
	ID          string   `json:"id,omitempty"`          // default: the app id × 1000 + its position, from 1
	BuiltinType string   `json:"builtinType,omitempty"` // ASSIGNEE for kintone's "assigned to me" view
	Fields      []string `json:"fields,omitempty"`      // LIST: the columns, top-level fields
	Date        string   `json:"date,omitempty"`        // CALENDAR: a date or date-time field
	Title       string   `json:"title,omitempty"`       // CALENDAR: the field shown on the day
	HTML        string   `json:"html,omitempty"`        // CUSTOM
	Pager       *bool    `json:"pager,omitempty"`       // CUSTOM; true when absent
	FilterCond  string   `json:"filterCond,omitempty"`
	Sort        string   `json:"sort,omitempty"`   // default: the record number, descending
	Device      string   `json:"device,omitempty"` // DESKTOP (default) or ANY
}

// notListed are the form fields a list view cannot show as columns.
var notListed = map[string]bool{
	"SUBTABLE": true, "REFERENCE_TABLE": true, "GROUP": true, "LABEL": true, "SPACER": true, "HR": true,
	"STATUS": true, "STATUS_ASSIGNEE": true, "CATEGORY": true,
}

// buildViews checks the seed's views against the app's form and query
// rules, or gives the app the one view kintone creates with a new app: a
// list of every field a list can show, newest record first.
func buildViews(a *app, list []SeedView) ([]SeedView, error) {
	if len(list) == 0 {
		v := SeedView{Name: "All records", Type: "LIST", ID: strconv.FormatInt(a.id*1000, 10), Fields: []string{}}
		for _, p := range a.form {
			if f := a.byCode[p.Code]; f != nil && f.parent == nil && !notListed[p.Type] {
				v.Fields = append(v.Fields, p.Code)
			}
		}
		list = []SeedView{v}
	}
	out := make([]SeedView, len(list))
	names := map[string]bool{}
	for i, v := range list {
		if v.Name == "" {
			return nil, fmt.Errorf("views[%d]: name is required", i)
		}
		if names[v.Name] {
			return nil, fmt.Errorf("views[%d]: duplicate name %q", i, v.Name)
		}
		names[v.Name] = true
		if err := a.checkView(&v, i); err != nil {
			return nil, fmt.Errorf("view %q: %v", v.Name, err)
		}
		out[i] = v
	}
	return out, nil
}

// checkView validates one view and fills in kintone's defaults.
func (a *app) checkView(v *SeedView, i int) error {
	if v.Type == "" {
		v.Type = "LIST"
	}
	if v.ID == "" {
		v.ID = strconv.FormatInt(a.id*1000+int64(i)+1, 10)
	} else if n, err := strconv.ParseInt(v.ID, 10, 64); err != nil || n <= 0 {
		return fmt.Errorf("id %q is not a positive integer", v.ID)
	}
	switch v.Device {
	case "":
		v.Device = "DESKTOP"
	case "DESKTOP", "ANY":
	default:
		return fmt.Errorf("device %q is not DESKTOP or ANY", v.Device)
	}
	if v.BuiltinType != "" && v.BuiltinType != "ASSIGNEE" {
		return fmt.Errorf("builtinType %q is not ASSIGNEE", v.BuiltinType)
	}
	if v.Sort == "" && a.recordNumber != nil {
		v.Sort = a.recordNumber.code + " desc"
	}
	switch v.Type {
	case "LIST":
		if v.Date != "" || v.Title != "" || v.HTML != "" || v.Pager != nil {
			return fmt.Errorf("a LIST view takes fields, not date, title, html or pager")
		}
		if v.Fields == nil {
			v.Fields = []string{}
		}
		for _, code := range v.Fields {
			if !a.topLevel(code) {
				return fmt.Errorf("fields: %q is not a top-level field of the app", code)
			}
		}
	case "CALENDAR":
		if v.Fields != nil || v.HTML != "" || v.Pager != nil {
			return fmt.Errorf("a CALENDAR view takes date and title, not fields, html or pager")
		}
		switch f := a.byCode[v.Date]; {
		case f == nil || f.parent != nil:
			return fmt.Errorf("date: %q is not a top-level field of the app", v.Date)
		case f.typ != "DATE" && f.typ != "DATETIME" && f.typ != "CREATED_TIME" && f.typ != "UPDATED_TIME":
			return fmt.Errorf("date: %q is a %s field, not a date or date-time", v.Date, f.typ)
		}
		if !a.topLevel(v.Title) {
			return fmt.Errorf("title: %q is not a top-level field of the app", v.Title)
		}
	case "CUSTOM":
		if v.Fields != nil || v.Date != "" || v.Title != "" {
			return fmt.Errorf("a CUSTOM view takes html and pager, not fields, date or title")
		}
		if v.Pager == nil {
			on := true
			v.Pager = &on
		}
	default:
		return fmt.Errorf("type %q is not LIST, CALENDAR or CUSTOM", v.Type)
	}
	return a.checkViewQuery(v)
}

// checkViewQuery refuses a condition or sort kintone would not run.
func (a *app) checkViewQuery(v *SeedView) error {
	q := v.FilterCond
	if v.Sort != "" {
		q += " order by " + v.Sort
	}
	parsed, err := kql.Parse(q)
	if err == nil && (parsed.Limit != nil || parsed.Offset != nil) {
		err = fmt.Errorf("limit and offset are not part of a view")
	}
	if err == nil {
		err = kql.Check(parsed, a.kql)
	}
	if err != nil {
		return fmt.Errorf("filterCond %q, sort %q: %v", v.FilterCond, v.Sort, err)
	}
	return nil
}

// topLevel reports whether code is a field of the form outside any table
// ($id and $revision are not form fields).
func (a *app) topLevel(code string) bool {
	f := a.byCode[code]
	return f != nil && f.parent == nil && code != "$id" && code != "$revision"
}

// viewJSON renders a view with the keys kintone sends for its type.
func viewJSON(v SeedView, index int) map[string]any {
	m := map[string]any{
		"type": v.Type, "name": v.Name, "id": v.ID, "filterCond": v.FilterCond, "sort": v.Sort,
		"index": strconv.Itoa(index), "device": v.Device,
	}
	if v.BuiltinType != "" {
		m["builtinType"] = v.BuiltinType
	}
	switch v.Type {
	case "LIST":
		m["fields"] = v.Fields
	case "CALENDAR":
		m["date"], m["title"] = v.Date, v.Title
	case "CUSTOM":
		m["html"], m["pager"] = v.HTML, *v.Pager
	}
	return m
}

// GET app/views.json. View names are not localized in the seed, so lang
// is checked and changes nothing.
func getViews(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	if err := c.langParam(); err != nil {
		return nil, err
	}
	views := make(map[string]any, len(a.views))
	for i, v := range a.views {
		views[v.Name] = viewJSON(v, i)
	}
	return map[string]any{"views": views, "revision": appRevision}, nil
}
