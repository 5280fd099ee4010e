package portal

import (
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// Charts are computed by kgate over exactly the records the list shows
// the member (the list's filters, the row rule) through a cursor of the
// gateway, so each page of it is checked and charged to the member's read
// rate like any read. What a chart adds up is kept for chartTTL under the
// compiled query (policy version, app, the member's conditions joined with
// the row rules), the chart and the zone months are taken in: members
// whose reads compile alike share it. A chart is shown only to members who
// may read both of its fields unmasked, so what is kept is never a masked
// value's real sum.

// chartTTL is how long a chart's numbers are kept; chartCacheSize bounds
// how many are.
const (
	chartTTL       = 30 * time.Second
	chartCacheSize = 512
)

// cursorSize is the records per page a chart or an export reads.
const cursorSize = 500

// charts are the configured charts the member may see: both fields
// readable and unmasked, of types a chart takes.
func (av *appView) charts() []Chart {
	var out []Chart
	for _, ch := range av.set.Charts {
		g, ok := av.props[ch.GroupBy]
		if !ok || av.masked[ch.GroupBy] || !groupable(g.Type) {
			continue
		}
		if ch.Sum != "" {
			s, ok := av.props[ch.Sum]
			if !ok || av.masked[ch.Sum] || s.Type != "NUMBER" && s.Type != "CALC" {
				continue
			}
		}
		out = append(out, ch)
	}
	return out
}

type chartsBody struct {
	App      appHeader
	Charts   []chartView
	Filtered bool
	Reset    string
	ListHref string
}

type chartView struct {
	ID, Title, Measure string
	SVG                template.HTML
	Rows               []chartRow
	Empty              bool
}

type chartRow struct {
	Label, Value string
}

// chartsPage renders an app's charts over the list's filters.
func (c *call) chartsPage(alias string) {
	av, cfg, st, ok := c.listView(alias)
	if !ok {
		return
	}
	charts := av.charts()
	if len(charts) == 0 {
		c.errorPage(http.StatusNotFound, nil, nil)
		return
	}
	tallies, err := c.tallies(av, charts, st.where(cfg, c.loc.tz))
	if err != nil {
		c.fail(err)
		return
	}
	name, desc := c.appName(av)
	body := &chartsBody{App: c.appHeader(av, name, desc, "charts"), Reset: chartsPath(alias),
		Filtered: st.Q != "" || len(st.Pick) > 0 || len(st.From) > 0 || len(st.To) > 0,
		ListHref: st.href(appPath(alias), nil)}
	body.App.List, body.App.Charts = body.ListHref, st.href(chartsPath(alias), nil)
	for i, ch := range charts {
		body.Charts = append(body.Charts, c.chartView(av, ch, tallies[i], "chart"+strconv.Itoa(i+1)))
	}
	c.render(http.StatusOK, "charts", c.newPage(name, body, crumb{Label: name, Href: appPath(alias)}, crumb{Label: c.loc.T("charts.title")}))
}

// tallies returns each chart's tally over the records where selects: the
// ones kept from an earlier page, the others added up over one cursor.
func (c *call) tallies(av *appView, charts []Chart, where kql.Expr) ([]*tally, error) {
	query := (&kql.Query{Where: where}).String()
	compiled, err := c.h.gw.CompiledQuery(c.ctx, c.id, av.ref, query)
	if err != nil {
		return nil, err
	}
	out := make([]*tally, len(charts))
	var missing []int
	for i, ch := range charts {
		if v, ok := c.h.charts.peek(chartKey(compiled, ch, c.loc.tz)); ok {
			out[i] = v.(*tally)
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	fresh := make([]*tally, len(missing))
	fields := []string{"$id"}
	for j, i := range missing {
		ch := charts[i]
		fresh[j] = newTally(av.props[ch.GroupBy].Type, c.loc.tz)
		fields = append(fields, ch.GroupBy)
		if ch.Sum != "" {
			fields = append(fields, ch.Sum)
		}
	}
	err = c.eachRecord(av, gateway.CursorRequest{App: av.ref, Fields: fields, Query: query, Size: cursorSize},
		func(rec kintone.Record) error {
			for j, i := range missing {
				ch := charts[i]
				amount := ""
				if ch.Sum != "" {
					amount = stringValue(rec[ch.Sum])
				}
				fresh[j].add(stringValue(rec[ch.GroupBy]), amount)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	for j, i := range missing {
		out[i] = fresh[j]
		c.h.charts.put(chartKey(compiled, charts[i], c.loc.tz), fresh[j])
	}
	return out, nil
}

func chartKey(compiled string, ch Chart, tz *time.Location) string {
	return compiled + "\x00" + ch.GroupBy + "\x00" + ch.Sum + "\x00" + tz.String()
}

// eachRecord reads every record of req through a cursor of the gateway,
// page by page, and hands each to fn; an error of fn stops the read. The
// cursor is closed when the read stops before its end.
func (c *call) eachRecord(av *appView, req gateway.CursorRequest, fn func(kintone.Record) error) error {
	// Like the calendar, a chart is a view of what the list shows: it is
	// the first to go when the app's daily budget runs short.
	ctx := kintone.WithPriority(c.ctx, kintone.PriorityLow)
	key, _, err := c.h.gw.CreateCursor(ctx, c.id, req)
	if err != nil {
		return err
	}
	return c.drain(ctx, key, fn, nil)
}

// chartView is one chart's drawing and table in the page's language.
func (c *call) chartView(av *appView, ch Chart, t *tally, id string) chartView {
	l := c.loc
	title := ch.Title.In(l.Lang)
	measure := l.T("charts.count")
	if ch.Sum != "" {
		measure = l.T("charts.sum", av.label(ch.Sum))
	}
	if title == "" {
		title = l.T("charts.default.title", measure, av.label(ch.GroupBy))
	}
	v := chartView{ID: id, Title: title, Measure: measure}
	var bars []barView
	for _, key := range t.ordered(c.groupOrder(av, ch.GroupBy)) {
		g := t.groups[key]
		bv := barView{Label: c.groupLabel(av, ch.GroupBy, key)}
		if ch.Sum == "" {
			bv.Value, bv.Size = l.Int(g.Count), float64(g.Count)
		} else {
			s := g.sumText()
			bv.Value = l.Number(s, numberFormat{scale: -1, digits: true})
			bv.Size, _ = g.Sum.Float64() // the bar's length only; the text is exact
		}
		bars = append(bars, bv)
		v.Rows = append(v.Rows, chartRow{Label: bv.Label, Value: bv.Value})
	}
	v.Empty = len(bars) == 0
	desc := l.T("charts.desc", measure, av.label(ch.GroupBy), l.Int(int64(len(bars))))
	v.SVG = barChartSVG(id, title, desc, bars)
	return v
}

// groupOrder is the order of a choice field's groups: its options, or
// the configured states for the status.
func (c *call) groupOrder(av *appView, code string) []string {
	p := av.props[code]
	if p.Type == "STATUS" {
		return av.set.StatusOptions
	}
	return optionValues(p)
}

// groupLabel names a group: an option's label, a month in the page's
// language, or "none" for records without a value.
func (c *call) groupLabel(av *appView, code, key string) string {
	if key == "" {
		return c.loc.T("charts.none")
	}
	p := av.props[code]
	if p.Type == "DATE" || p.Type == "DATETIME" {
		if m, err := time.Parse("2006-01", key); err == nil {
			return c.loc.layout("fmt.month", m)
		}
		return key
	}
	if opt, ok := p.Options[key]; ok && opt.Label != "" {
		return opt.Label
	}
	return key
}

func chartsPath(alias string) string { return appPath(alias) + "/charts" }
