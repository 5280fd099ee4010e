package portal

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// maxDefaultColumns caps the columns shown when none are configured.
const maxDefaultColumns = 7

// listConfig returns what the list offers this member: configured
// columns, search fields and filters cut down to the readable fields, or
// defaults from the form.
func (av *appView) listConfig() *listConfig {
	cfg := &listConfig{}
	if len(av.set.Columns) > 0 {
		cfg.columns = av.readable(av.set.Columns)
	} else {
		for _, code := range av.order {
			p := av.props[code]
			if p.Type == "STATUS" || len(cfg.columns) < maxDefaultColumns && listable(p.Type) && systemRank(p.Type) == 100 {
				cfg.columns = append(cfg.columns, code)
			}
		}
	}
	searchable := func(code string) bool {
		if av.masked[code] {
			return false
		}
		switch av.props[code].Type {
		case "SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "RICH_TEXT", "LINK":
			return true
		}
		return false
	}
	for _, code := range av.candidates(av.set.SearchFields) {
		if searchable(code) {
			cfg.search = append(cfg.search, code)
		}
	}
	for _, code := range av.candidates(av.set.Filters) {
		p := av.props[code]
		if av.masked[code] {
			continue
		}
		switch p.Type {
		case "DROP_DOWN", "RADIO_BUTTON":
			cfg.filters = append(cfg.filters, filterDef{Code: code, Kind: "choice", Options: optionValues(p)})
		case "STATUS":
			if len(av.set.StatusOptions) > 0 && (p.Enabled == nil || *p.Enabled) {
				cfg.filters = append(cfg.filters, filterDef{Code: code, Kind: "choice", Options: av.set.StatusOptions})
			}
		case "DATE":
			cfg.filters = append(cfg.filters, filterDef{Code: code, Kind: "date"})
		case "DATETIME", "CREATED_TIME", "UPDATED_TIME":
			if len(av.set.Filters) > 0 || p.Type == "DATETIME" {
				cfg.filters = append(cfg.filters, filterDef{Code: code, Kind: "date", Time: true})
			}
		}
	}
	return cfg
}

// candidates are the configured codes the member may read, or every
// readable field in form order when none are configured.
func (av *appView) candidates(configured []string) []string {
	if len(configured) > 0 {
		return av.readable(configured)
	}
	return av.order
}

// listable reports whether a field type fits in a list cell by default.
func listable(typ string) bool {
	switch typ {
	case "SUBTABLE", "RICH_TEXT", "MULTI_LINE_TEXT", "FILE", "GROUP", "REFERENCE_TABLE":
		return false
	}
	return shown(typ)
}

// recordNumber is the app's record-number field when the member may read
// it ("" otherwise; rows are then named by $id).
func (av *appView) recordNumber() string {
	for code, p := range av.props {
		if p.Type == "RECORD_NUMBER" {
			return code
		}
	}
	return ""
}

// listBody is the list page.
type listBody struct {
	App       appHeader
	Action    string
	Q         string
	HasSearch bool
	Filters   []filterView
	Hidden    []hidden
	Columns   []columnView
	Rows      []rowView
	Count     string
	Notices   []string
	Pager     []pageLink
	Prev      string
	Next      string
	Sizes     []sizeOption
	SizeKeep  []hidden
	Reset     string
	Export    string // the CSV export of this view, "" when there is nothing to export
	Filtered  bool
	New       string     // the create form, "" when the member may not create
	Done      *notice    // what a write that led here did
	Cards     []cardView // the gallery's
}

type appHeader struct {
	Name     string
	Desc     any // string, or template.HTML from the sanitizer
	List     string
	Calendar string // "" when the app has no calendar
	Charts   string // "" when the member may see no chart of the app
	Gallery  string // "" when the app has no gallery
	Current  string // "list", "calendar", "charts" or "gallery"
}

type filterView struct {
	ID, Label, Kind, Name string
	Options               []optionView
	FromName, ToName      string
	From, To              string
}

type optionView struct {
	Value, Label string
	Selected     bool
}

type hidden struct{ Name, Value string }

type columnView struct {
	Label    string
	SortHref string
	AriaSort string // "ascending", "descending" or ""
	Hint     string
	Numeric  bool
}

type rowView struct {
	Href, Label, AriaLabel string
	Cells                  []value
}

type pageLink struct {
	Label, Href string
	Current     bool
	Gap         bool
}

type sizeOption struct {
	Value    int
	Selected bool
}

// listView loads an app and reads the list's search, filters, sort and
// page from the URL, answering the request itself when either fails. The
// list, the gallery, the charts and the CSV export all start here, so they
// show the same records for the same URL.
func (c *call) listView(alias string) (*appView, *listConfig, *listState, bool) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return nil, nil, nil, false
	}
	cfg := av.listConfig()
	st, err := parseList(c.r.URL.Query(), cfg, av, c.h.cfg.PageSizes)
	if err != nil {
		c.problem(err)
		return nil, nil, nil, false
	}
	return av, cfg, st, true
}

// list renders an app's records.
func (c *call) list(alias string) {
	av, cfg, st, ok := c.listView(alias)
	if !ok {
		return
	}
	pg, sizes, notices, err := c.fetchListed(av, cfg, st, cfg.columns)
	if err != nil {
		c.fail(err)
		return
	}
	records, err := decodeRecords(pg)
	if err != nil {
		c.fail(err)
		return
	}
	name, body := c.listFrame(av, cfg, st, "list", appPath(alias))
	if body.App.Charts != "" {
		body.App.Charts = st.href(body.App.Charts, onlyFilters) // the charts count what the list filters
	}
	c.columns(body, av, cfg, st)
	c.rows(body, av, cfg, records)
	c.paging(body, st, pg, sizes)
	if len(records) > 0 {
		body.Export = st.href(exportPath(alias), func(s *listState) { s.Page, s.sized = 1, false })
	}
	body.Notices = notices
	if ab, err := c.h.gw.CreateAbilities(c.ctx, c.id, av.ref); err == nil && ab.Create {
		body.New = appPath(alias) + "/new"
	}
	if c.r.URL.Query().Get("notice") == "deleted" {
		body.Done = &notice{Text: c.loc.T("notice.deleted")}
	}
	c.render(http.StatusOK, "list", c.newPage(name, body, crumb{Label: name}))
}

// fetchListed fetches the page a list URL asks for, with fields besides
// the record's id and number. A sort by a field the member sees masked,
// or one the policy refuses, is dropped with a notice saying so.
func (c *call) fetchListed(av *appView, cfg *listConfig, st *listState, fields []string) (*gateway.Page, []int, []string, error) {
	var notices []string
	if av.masked[st.Sort] {
		// Masked fields cannot be sorted by: say so and list in the usual
		// order (a bookmark may be older than the policy).
		notices = append(notices, c.loc.T("list.sort.refused", av.label(st.Sort)))
		cfg.unsortable, st.Sort, st.Desc = st.Sort, "", false
	}
	pg, sizes, err := c.fetchPage(av, cfg, st, fields)
	if refused := st.Sort; refused != "" && queryRefused(err) {
		// The policy keeps the member from sorting by this field (a masked
		// one): show the list unsorted and say why, rather than an error.
		st.Sort, st.Desc = "", false
		if pg, sizes, err = c.fetchPage(av, cfg, st, fields); err == nil {
			notices = append(notices, c.loc.T("list.sort.refused", av.label(refused)))
			cfg.unsortable = refused
		}
	}
	return pg, sizes, notices, err
}

// problem answers a list URL the portal refuses.
func (c *call) problem(err error) {
	var p *problem
	if errors.As(err, &p) {
		c.badRequest(c.loc.T(p.key, p.arg))
		return
	}
	c.fail(err)
}

// fetchPage asks the gateway for one page. Pages are kintone's for every
// member (sizes up to 500, checked when configured and when read from the
// URL), so the size asked for is the size used. It returns the page and
// the sizes to offer.
func (c *call) fetchPage(av *appView, cfg *listConfig, st *listState, columns []string) (*gateway.Page, []int, error) {
	sizes := c.h.cfg.PageSizes
	if !st.sized {
		st.Size = sizes[0]
	}
	fields := append([]string{"$id"}, columns...)
	if rn := av.recordNumber(); rn != "" {
		fields = append(fields, rn)
	}
	q := st.query(cfg, c.loc.tz, st.Size)
	pg, err := c.h.gw.ListRecords(c.ctx, c.id, gateway.ListRequest{App: av.ref, Fields: fields, Query: q.String(), TotalCount: true})
	return pg, withSize(sizes, st.Size), err
}

// withSize adds a size the URL named to the sizes offered, in order.
func withSize(sizes []int, size int) []int {
	if slices.Contains(sizes, size) {
		return sizes
	}
	out := append(slices.Clone(sizes), size)
	slices.Sort(out)
	return out
}

func (c *call) appHeader(av *appView, name string, desc any, current string) appHeader {
	h := appHeader{Name: name, Desc: desc, List: appPath(av.alias), Current: current}
	if av.calendarField() != "" {
		h.Calendar = calendarPath(av.alias)
	}
	if len(av.charts()) > 0 {
		h.Charts = chartsPath(av.alias)
	}
	if av.set.Gallery != nil {
		h.Gallery = galleryPath(av.alias)
	}
	return h
}

// listFrame is what the list and the gallery show around their records:
// the app's header with tab selected, and the search and filters that
// submit to path. It returns the app's name for the page title.
func (c *call) listFrame(av *appView, cfg *listConfig, st *listState, tab, path string) (string, *listBody) {
	name, desc := c.appName(av)
	body := &listBody{
		App:    c.appHeader(av, name, desc, tab),
		Action: path, Q: st.Q, HasSearch: len(cfg.search) > 0,
		Reset:    path,
		Filtered: st.Q != "" || len(st.Pick) > 0 || len(st.From) > 0 || len(st.To) > 0,
	}
	c.filterViews(body, av, cfg, st)
	return name, body
}

func (c *call) filterViews(body *listBody, av *appView, cfg *listConfig, st *listState) {
	for i, f := range cfg.filters {
		fv := filterView{ID: "f" + strconv.Itoa(i), Label: av.label(f.Code), Kind: f.Kind}
		switch f.Kind {
		case "choice":
			fv.Name = "f." + f.Code
			p := av.props[f.Code]
			org := f.Code == av.set.OrgField
			for _, o := range f.Options {
				picked := slices.Contains(st.Pick[f.Code], o)
				if org && !picked && !c.someVisible(av, f.Code, o) {
					continue
				}
				label := o
				if opt, ok := p.Options[o]; ok && opt.Label != "" {
					label = opt.Label
				}
				if org {
					label = c.h.orgName(o, c.loc.Lang)
				}
				fv.Options = append(fv.Options, optionView{Value: o, Label: label, Selected: picked})
			}
		case "date":
			fv.FromName, fv.ToName = "from."+f.Code, "to."+f.Code
			fv.From, fv.To = st.From[f.Code], st.To[f.Code]
		}
		body.Filters = append(body.Filters, fv)
	}
	keep := st.values(func(s *listState) {
		s.Q, s.Page, s.Pick, s.From, s.To = "", 1, nil, nil, nil
	})
	for _, k := range []string{"sort", "dir", "size"} {
		if v := keep.Get(k); v != "" {
			body.Hidden = append(body.Hidden, hidden{Name: k, Value: v})
		}
	}
}

func (c *call) columns(body *listBody, av *appView, cfg *listConfig, st *listState) {
	base := appPath(av.alias)
	for _, code := range cfg.columns {
		col := columnView{Label: av.label(code), Numeric: numericType(av.props[code].Type)}
		if sortable(av, code) && !av.masked[code] && code != cfg.unsortable {
			desc := false
			switch {
			case st.Sort == code && !st.Desc:
				col.AriaSort, desc = "ascending", true
				col.Hint = c.loc.T("list.sort.desc")
			case st.Sort == code:
				col.AriaSort = "descending"
				col.Hint = c.loc.T("list.sort.asc")
			default:
				col.Hint = c.loc.T("list.sort.asc")
			}
			col.SortHref = st.href(base, func(s *listState) { s.Sort, s.Desc, s.Page = code, desc, 1 })
		}
		body.Columns = append(body.Columns, col)
	}
}

func numericType(typ string) bool {
	return typ == "NUMBER" || typ == "CALC" || typ == "RECORD_NUMBER"
}

func (c *call) rows(body *listBody, av *appView, cfg *listConfig, records []kintone.Record) {
	r := c.renderer(av)
	rn := av.recordNumber()
	for _, rec := range records {
		id := stringValue(rec["$id"])
		label := id
		if rn != "" {
			if s := stringValue(rec[rn]); s != "" {
				label = s
			}
		}
		row := rowView{Href: recordPath(av.alias, id), Label: label, AriaLabel: c.loc.T("list.open", label)}
		for _, code := range cfg.columns {
			row.Cells = append(row.Cells, r.render(rec[code], av.props[code], true))
		}
		body.Rows = append(body.Rows, row)
	}
}

// stringValue is a field value that kintone sends as a JSON string.
func stringValue(fv kintone.FieldValue) string {
	s, _ := jsonString(fv.Value)
	return s
}

// paging fills the count, the pager and the page-size choice.
func (c *call) paging(body *listBody, st *listState, pg *gateway.Page, sizes []int) {
	base := body.Action
	total := 0
	if pg.TotalCount != nil {
		total = int(*pg.TotalCount)
	}
	first := (st.Page-1)*st.Size + 1
	last := first + len(pg.Records) - 1
	switch {
	case total == 0:
		body.Count = c.loc.T("list.count.none")
	case len(pg.Records) == 0:
		body.Count = c.loc.N("list.count.beyond", total)
	default:
		body.Count = c.loc.N("list.count", total, c.loc.Int(int64(first)), c.loc.Int(int64(last)))
	}
	pages := (total + st.Size - 1) / st.Size
	if reach := maxOffset/st.Size + 1; pages > reach {
		pages = reach
	}
	at := func(n int) string { return st.href(base, func(s *listState) { s.Page = n }) }
	if st.Page > 1 {
		body.Prev = at(max(min(st.Page-1, pages), 1)) // past the end: back to the last page
	}
	if st.Page < pages {
		body.Next = at(st.Page + 1)
	}
	if pages > 1 {
		prev := 0
		for n := 1; n <= pages; n++ {
			if n != 1 && n != pages && (n < st.Page-2 || n > st.Page+2) {
				continue
			}
			if prev != 0 && n > prev+1 {
				body.Pager = append(body.Pager, pageLink{Gap: true})
			}
			body.Pager = append(body.Pager, pageLink{Label: c.loc.Int(int64(n)), Href: at(n), Current: n == st.Page})
			prev = n
		}
	}
	for _, s := range sizes {
		body.Sizes = append(body.Sizes, sizeOption{Value: s, Selected: s == st.Size})
	}
	keep := st.values(func(s *listState) { s.Page, s.sized = 1, false })
	for k, vs := range keep {
		for _, v := range vs {
			body.SizeKeep = append(body.SizeKeep, hidden{Name: k, Value: v})
		}
	}
	slices.SortFunc(body.SizeKeep, func(a, b hidden) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
}

// renderer returns the value renderer for this page.
func (c *call) renderer(av *appView) *renderer {
	return &renderer{loc: c.loc, rich: c.h.rich, inner: av.inner, masked: av.masked, files: func(token, name string) string {
		return fileHref(token, name)
	}, status: func(state string) string { return c.h.statusClass(av.alias, state) },
		orgField: av.set.OrgField, orgName: func(code string) string { return c.h.orgName(code, c.loc.Lang) }}
}

// sortable reports whether kintone can order by the field, by its own
// type rules: the same check the gateway applies.
func sortable(av *appView, code string) bool {
	f, ok := av.fields[code]
	return ok && !f.InSubtable && kql.Check(&kql.Query{OrderBy: []kql.SortKey{{Field: code}}}, av.fields) == nil
}
