package portal

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// The list's state lives in the URL, so a view can be bookmarked and
// shared:
//
//	q=<keyword>  sort=<field>  dir=asc|desc  page=<n>  size=<n>
//	f.<field>=<option> (repeatable)  from.<field>=<date>  to.<field>=<date>
//
// Every part becomes a node of a kql AST; the member's words are only ever
// string literals in it, and the printed query goes to the gateway, which
// checks it against the policy and joins it with the row rule.

// maxKeyword bounds the search box (characters).
const maxKeyword = 100

// kintone's offset limit.
const maxOffset = 10000

// listState is a parsed list URL.
type listState struct {
	Q     string
	Sort  string
	Desc  bool
	Page  int
	Size  int
	Pick  map[string][]string // choice filters: field → options
	From  map[string]string   // date filters: field → first day
	To    map[string]string   // field → last day
	sized bool                // the URL named a size
}

// filterDef is a filter the list offers.
type filterDef struct {
	Code    string
	Kind    string   // "choice" or "date"
	Options []string // for choice
	Time    bool     // DATETIME-like: days are in the member's zone
}

// listConfig is what an app's list offers this member.
type listConfig struct {
	columns    []string
	search     []string
	filters    []filterDef
	unsortable string // a field the gateway refused to sort by on this page
}

// problem is a mistake in a list URL, shown to the member on a 400 page.
type problem struct{ key, arg string }

func (p *problem) Error() string { return p.key + " " + p.arg }

// parseList reads the list state from the query string.
func parseList(v url.Values, cfg *listConfig, av *appView, sizes []int) (*listState, error) {
	st := &listState{Q: strings.TrimSpace(v.Get("q")), Sort: v.Get("sort"), Desc: v.Get("dir") == "desc",
		Page: 1, Size: sizes[0], Pick: map[string][]string{}, From: map[string]string{}, To: map[string]string{}}
	if utf8.RuneCountInString(st.Q) > maxKeyword {
		return nil, &problem{"list.bad.keyword", strconv.Itoa(maxKeyword)}
	}
	if d := v.Get("dir"); d != "" && d != "asc" && d != "desc" {
		return nil, &problem{"list.bad.dir", d}
	}
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, &problem{"list.bad.page", s}
		}
		st.Page = n
	}
	if s := v.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return nil, &problem{"list.bad.size", s}
		}
		st.Size, st.sized = n, true
	}
	if st.Sort != "" {
		if !sortable(av, st.Sort) && !av.masked[st.Sort] {
			return nil, &problem{"list.bad.sort", st.Sort}
		}
	}
	for _, f := range cfg.filters {
		switch f.Kind {
		case "choice":
			for _, o := range v["f."+f.Code] {
				if o == "" {
					continue
				}
				if !slices.Contains(f.Options, o) {
					return nil, &problem{"list.bad.option", av.label(f.Code)}
				}
				st.Pick[f.Code] = append(st.Pick[f.Code], o)
			}
		case "date":
			for _, side := range []struct {
				key string
				to  map[string]string
			}{{"from.", st.From}, {"to.", st.To}} {
				s := v.Get(side.key + f.Code)
				if s == "" {
					continue
				}
				if _, err := time.Parse(time.DateOnly, s); err != nil {
					return nil, &problem{"list.bad.date", av.label(f.Code)}
				}
				side.to[f.Code] = s
			}
		}
	}
	if (st.Page-1)*st.Size > maxOffset {
		return nil, &problem{"list.bad.page", strconv.Itoa(st.Page)}
	}
	return st, nil
}

// where is the member's condition: the keyword over the search fields,
// and every filter, joined with and.
func (st *listState) where(cfg *listConfig, tz *time.Location) kql.Expr {
	var terms []kql.Expr
	if st.Q != "" && len(cfg.search) > 0 {
		var any []kql.Expr
		for _, code := range cfg.search {
			any = append(any, &kql.Cond{Field: code, Op: kql.Like, Values: []kql.Value{str(st.Q)}})
		}
		terms = append(terms, junction(any, false))
	}
	for _, f := range cfg.filters {
		if picked := st.Pick[f.Code]; len(picked) > 0 {
			vals := make([]kql.Value, len(picked))
			for i, o := range picked {
				vals[i] = str(o)
			}
			terms = append(terms, &kql.Cond{Field: f.Code, Op: kql.In, Values: vals})
		}
		if from, ok := st.From[f.Code]; ok {
			terms = append(terms, dayBound(f, from, kql.Ge, tz))
		}
		if to, ok := st.To[f.Code]; ok {
			terms = append(terms, dayBound(f, to, kql.Le, tz))
		}
	}
	return junction(terms, true)
}

// dayBound is "field >= day" or "field <= day"; for a date-time field the
// day is the member's, so it becomes ">= its first instant" or "< the next
// day's first instant", in UTC as kintone stores date-times.
func dayBound(f filterDef, day string, op kql.Op, tz *time.Location) kql.Expr {
	if !f.Time {
		return &kql.Cond{Field: f.Code, Op: op, Values: []kql.Value{str(day)}}
	}
	d, _ := time.ParseInLocation(time.DateOnly, day, tz)
	if op == kql.Le {
		return &kql.Cond{Field: f.Code, Op: kql.Lt, Values: []kql.Value{instant(d.AddDate(0, 0, 1))}}
	}
	return &kql.Cond{Field: f.Code, Op: kql.Ge, Values: []kql.Value{instant(d)}}
}

// instant is a kql literal for a moment, as kintone writes date-times.
func instant(t time.Time) kql.Value { return str(t.UTC().Format("2006-01-02T15:04:05Z")) }

func str(s string) kql.Value { return kql.Value{Kind: kql.String, Text: s} }

// junction joins terms with and (or or); nil for none, the term for one.
func junction(terms []kql.Expr, and bool) kql.Expr {
	switch len(terms) {
	case 0:
		return nil
	case 1:
		return terms[0]
	}
	if and {
		return &kql.And{Terms: terms}
	}
	return &kql.Or{Terms: terms}
}

// query is the member's whole query for one page of size records.
func (st *listState) query(cfg *listConfig, tz *time.Location, size int) *kql.Query {
	q := &kql.Query{Where: st.where(cfg, tz)}
	if st.Sort != "" {
		dir := kql.Asc
		if st.Desc {
			dir = kql.Desc
		}
		// $id breaks ties, so paging through equal values is stable.
		q.OrderBy = []kql.SortKey{{Field: st.Sort, Dir: dir}, {Field: "$id", Dir: dir}}
	}
	offset := (st.Page - 1) * size
	q.Limit = &size
	if offset > 0 {
		q.Offset = &offset
	}
	return q
}

// values is the state as URL parameters; change edits a copy first.
func (st *listState) values(change func(*listState)) url.Values {
	cp := *st
	if change != nil {
		change(&cp)
	}
	v := url.Values{}
	if cp.Q != "" {
		v.Set("q", cp.Q)
	}
	if cp.Sort != "" {
		v.Set("sort", cp.Sort)
		if cp.Desc {
			v.Set("dir", "desc")
		} else {
			v.Set("dir", "asc")
		}
	}
	if cp.Page > 1 {
		v.Set("page", strconv.Itoa(cp.Page))
	}
	if cp.sized {
		v.Set("size", strconv.Itoa(cp.Size))
	}
	for code, opts := range cp.Pick {
		v["f."+code] = opts
	}
	for code, d := range cp.From {
		v.Set("from."+code, d)
	}
	for code, d := range cp.To {
		v.Set("to."+code, d)
	}
	return v
}

// onlyFilters keeps the keyword and the filters of a state.
func onlyFilters(s *listState) { s.Sort, s.Desc, s.Page, s.sized = "", false, 1, false }

// href is the list URL for the state after change.
func (st *listState) href(base string, change func(*listState)) string {
	if q := st.values(change).Encode(); q != "" {
		return base + "?" + q
	}
	return base
}

// queryRefused reports whether err is the gateway refusing the member's
// query (other than for its page size).
func queryRefused(err error) bool {
	var ke *kintone.Error
	return errors.As(err, &ke) && ke.Status == 400 && ke.Code != "GAIA_QU01"
}
