package portal

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// maxSpanDays bounds how many days one record may cover in the calendar.
const maxSpanDays = 62

// calendarField is the date or date-time field the calendar places records
// by, or "" when the app has no calendar for this member.
func (av *appView) calendarField() string {
	if av.set.NoCalendar {
		return ""
	}
	code := av.pick(av.set.CalendarField, func(p kintone.FieldProperty) bool {
		return p.Type == "DATE" || p.Type == "DATETIME"
	})
	if !dateType(av.props[code].Type) {
		return ""
	}
	return code
}

// calendarEnd is the configured end field when the member may read it.
func (av *appView) calendarEnd() string {
	if code := av.set.CalendarEndField; code != "" && dateType(av.props[code].Type) {
		return code
	}
	return ""
}

func dateType(typ string) bool {
	switch typ {
	case "DATE", "DATETIME", "CREATED_TIME", "UPDATED_TIME":
		return true
	}
	return false
}

type calendarBody struct {
	App                  appHeader
	Week                 bool
	Heading              string
	Prev, Next, Today    string
	MonthHref, WeekHref  string
	PrevLabel, NextLabel string
	Weekdays             []weekdayView
	Weeks                [][]dayView
	Days                 []dayView
	Notice               string
	FieldLabel           string
}

type weekdayView struct{ Short, Long string }

type dayView struct {
	Num, Label, ISO string
	Other, Today    bool
	Events          []eventView
}

type eventView struct{ Time, Title, Href string }

// calendar renders a month or a week of an app's records.
func (c *call) calendar(alias string) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return
	}
	field := av.calendarField()
	if field == "" {
		c.errorPage(http.StatusNotFound, nil, nil)
		return
	}
	q := c.r.URL.Query()
	week := q.Get("view") == "week"
	if v := q.Get("view"); v != "" && v != "week" && v != "month" {
		c.badRequest(c.loc.T("calendar.bad.view", v))
		return
	}
	today := dayOf(c.h.now().In(c.loc.tz))
	day := today
	if s := q.Get("date"); s != "" {
		d, err := time.ParseInLocation(time.DateOnly, s, c.loc.tz)
		if err != nil || d.Year() < 1900 || d.Year() > 2999 {
			c.badRequest(c.loc.T("calendar.bad.date", s))
			return
		}
		day = d
	}
	first, last := monthGrid(day)
	if week {
		first = day.AddDate(0, 0, -int(day.Weekday()))
		last = first.AddDate(0, 0, 6)
	}
	records, total, err := c.calendarRecords(av, field, first, last)
	if err != nil {
		c.fail(err)
		return
	}
	name, desc := c.appName(av)
	body := c.calendarBody(av, field, week, day, today, first, last, records)
	body.App = c.appHeader(av, name, desc, "calendar")
	if total > len(records) {
		body.Notice = c.loc.T("calendar.more", c.loc.Int(int64(len(records))), c.loc.Int(int64(total)))
	}
	c.render(http.StatusOK, "calendar", c.newPage(name, body, crumb{Label: name, Href: appPath(alias)}, crumb{Label: c.loc.T("calendar.title")}))
}

func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// monthGrid is the first and last day of the weeks (Sunday to Saturday)
// that show day's month.
func monthGrid(day time.Time) (time.Time, time.Time) {
	start := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, day.Location())
	end := start.AddDate(0, 1, -1)
	return start.AddDate(0, 0, -int(start.Weekday())), end.AddDate(0, 0, 6-int(end.Weekday()))
}

// calendarRecords reads the records that fall on [first, last]: those
// whose date is in it, or, with an end field, that start before its end
// and end in or after it.
func (c *call) calendarRecords(av *appView, field string, first, last time.Time) ([]kintone.Record, int, error) {
	startF := filterDef{Code: field, Time: av.props[field].Type != "DATE"}
	cond := []kql.Expr{dayBound(startF, last.Format(time.DateOnly), kql.Le, c.loc.tz)}
	from := dayBound(startF, first.Format(time.DateOnly), kql.Ge, c.loc.tz)
	if end := av.calendarEnd(); end != "" {
		endF := filterDef{Code: end, Time: av.props[end].Type != "DATE"}
		from = &kql.Or{Terms: []kql.Expr{from, dayBound(endF, first.Format(time.DateOnly), kql.Ge, c.loc.tz)}}
	}
	cond = append(cond, from)
	fields := []string{"$id", field}
	if end := av.calendarEnd(); end != "" {
		fields = append(fields, end)
	}
	if av.title != "" {
		fields = append(fields, av.title)
	}
	// The calendar is a view of what the list shows too, and reads up to
	// 500 records: it is the first to go when the app's daily budget runs
	// short.
	ctx := kintone.WithPriority(c.ctx, kintone.PriorityLow)
	size := 500 // kintone's largest page, for every member
	q := &kql.Query{Where: &kql.And{Terms: cond}, Limit: &size,
		OrderBy: []kql.SortKey{{Field: field, Dir: kql.Asc}, {Field: "$id", Dir: kql.Asc}}}
	pg, err := c.h.gw.ListRecords(ctx, c.id, gateway.ListRequest{App: av.ref, Fields: fields, Query: q.String(), TotalCount: true})
	if err != nil {
		return nil, 0, err
	}
	recs, err := decodeRecords(pg)
	if err != nil {
		return nil, 0, err
	}
	total := len(recs)
	if pg.TotalCount != nil {
		total = int(*pg.TotalCount)
	}
	return recs, total, nil
}

func (c *call) calendarBody(av *appView, field string, week bool, day, today, first, last time.Time, records []kintone.Record) *calendarBody {
	l := c.loc
	b := &calendarBody{Week: week, FieldLabel: l.T("calendar.by", av.label(field))}
	base := calendarPath(av.alias)
	at := func(view string, d time.Time) string {
		s := base + "?date=" + d.Format(time.DateOnly)
		if view == "week" {
			s += "&view=week"
		}
		return s
	}
	view := "month"
	if week {
		view = "week"
		b.Heading = l.T("calendar.week", l.layout("fmt.day", first), l.layout("fmt.day", last))
		b.Prev, b.Next = at(view, day.AddDate(0, 0, -7)), at(view, day.AddDate(0, 0, 7))
		b.PrevLabel, b.NextLabel = l.T("calendar.prev.week"), l.T("calendar.next.week")
	} else {
		b.Heading = l.layout("fmt.month", day)
		m := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, day.Location())
		b.Prev, b.Next = at(view, m.AddDate(0, -1, 0)), at(view, m.AddDate(0, 1, 0))
		b.PrevLabel, b.NextLabel = l.T("calendar.prev.month"), l.T("calendar.next.month")
	}
	b.Today = at(view, today)
	b.MonthHref, b.WeekHref = at("month", day), at("week", day)
	for i := 0; i < 7; i++ {
		b.Weekdays = append(b.Weekdays, weekdayView{Short: l.T("weekday." + strconv.Itoa(i)), Long: l.T("weekday.long." + strconv.Itoa(i))})
	}
	events := c.placeEvents(av, field, records, first, last)
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		dv := dayView{Num: strconv.Itoa(d.Day()), Label: l.layout("fmt.day", d), ISO: key,
			Other: !week && d.Month() != day.Month(), Today: key == today.Format(time.DateOnly), Events: events[key]}
		if week {
			b.Days = append(b.Days, dv)
			continue
		}
		if d.Weekday() == time.Sunday {
			b.Weeks = append(b.Weeks, nil)
		}
		b.Weeks[len(b.Weeks)-1] = append(b.Weeks[len(b.Weeks)-1], dv)
	}
	return b
}

// placeEvents puts each record on the days it covers, by day key.
func (c *call) placeEvents(av *appView, field string, records []kintone.Record, first, last time.Time) map[string][]eventView {
	r := c.renderer(av)
	out := map[string][]eventView{}
	end := av.calendarEnd()
	for _, rec := range records {
		start, timed, ok := c.moment(rec[field], av.props[field].Type)
		if !ok {
			continue
		}
		stop := start
		if end != "" {
			if e, _, ok := c.moment(rec[end], av.props[end].Type); ok && e.After(start) {
				stop = e
			}
		}
		ev := eventView{Href: recordPath(av.alias, stringValue(rec["$id"])), Title: c.recordTitle(av, r, rec)}
		d := dayOf(start)
		for n := 0; !d.After(dayOf(stop)) && n < maxSpanDays; n++ {
			if !d.Before(first) && !d.After(last) {
				e := ev
				if n == 0 && timed {
					e.Time = start.Format(c.loc.T("fmt.time"))
				}
				key := d.Format(time.DateOnly)
				out[key] = append(out[key], e)
			}
			d = d.AddDate(0, 0, 1)
		}
	}
	return out
}

// moment reads a DATE or date-time value in the member's zone; timed says
// whether it has a time of day.
func (c *call) moment(fv kintone.FieldValue, typ string) (time.Time, bool, bool) {
	s := stringValue(fv)
	if s == "" {
		return time.Time{}, false, false
	}
	if typ == "DATE" {
		t, err := time.ParseInLocation(time.DateOnly, s, c.loc.tz)
		return t, false, err == nil
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.In(c.loc.tz), true, err == nil
}
