package kintonesim

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// The query evaluator: a kql AST compiled, once per request, into a
// predicate over stored records, with kintone's semantics per field type.
//
// Decisions where the reference is silent (unverified):
//   - x != v is exactly not (x = v), and not in is not (in), for every type,
//     so an empty value is != any non-empty literal;
//   - ordering comparisons (<, >, <=, >=) never match an empty value;
//   - an order by key without a direction sorts descending (a community
//     report; the reference marks it unverified); ties are broken by $id
//     descending, kintone's default order; empty values sort first when
//     ascending;
//   - a day-of-month function argument beyond the month's length
//     (THIS_MONTH(31) in April) matches nothing.

// matcher tells whether a record satisfies a condition.
type matcher func(r *record) bool

// pred tells whether one field value satisfies one predicate.
type pred func(v val) bool

// kqlError turns a kql error into kintone's error body.
func kqlError(err error, lang string) *kintone.Error {
	var qe *kql.Error
	if !errors.As(err, &qe) {
		return kintone.Invalid(lang).With("query", kintone.Message(kintone.MsgQuery, lang))
	}
	e := kintone.NewError(qe.Code, lang)
	e.Status = qe.Status
	e.Message = qe.Message(lang)
	if qe.Key != "" {
		e.With(qe.Key, qe.Details(lang)...)
	}
	return e
}

// parseQuery parses and type-checks a query for app a.
func (c *call) parseQuery(a *app, s string) (*kql.Query, *kintone.Error) {
	q, err := kql.Parse(s)
	if err != nil {
		return nil, kqlError(err, c.lang)
	}
	if err := kql.Check(q, a.kql); err != nil {
		return nil, kqlError(err, c.lang)
	}
	return q, nil
}

// compile turns a condition into a matcher; nil matches every record.
func (c *call) compile(a *app, e kql.Expr) matcher {
	switch e := e.(type) {
	case nil:
		return nil
	case *kql.Or:
		ms := make([]matcher, len(e.Terms))
		for i, t := range e.Terms {
			ms[i] = c.compile(a, t)
		}
		return func(r *record) bool {
			for _, m := range ms {
				if m(r) {
					return true
				}
			}
			return false
		}
	case *kql.And:
		return c.compileAnd(a, e.Terms)
	case *kql.Cond:
		return c.compileAnd(a, []kql.Expr{e})
	}
	return func(*record) bool { return false }
}

// compileAnd joins terms; predicates on fields of the same subtable are
// grouped so that one row must satisfy all of them, as kintone evaluates
// them.
func (c *call) compileAnd(a *app, terms []kql.Expr) matcher {
	var ms []matcher
	groups := map[*field]*rowGroup{}
	var order []*field
	for _, t := range terms {
		cond, ok := t.(*kql.Cond)
		if !ok {
			ms = append(ms, c.compile(a, t))
			continue
		}
		f := a.byCode[cond.Field]
		switch {
		case f != nil && f.parent != nil:
			g := groups[f.parent]
			if g == nil {
				g = &rowGroup{table: f.parent}
				groups[f.parent] = g
				order = append(order, f.parent)
			}
			p := c.pred(a, f, cond)
			if negative(cond.Op) {
				g.every = append(g.every, colPred{f.idx, p})
			} else {
				g.some = append(g.some, colPred{f.idx, p})
			}
		case f != nil:
			p := c.pred(a, f, cond)
			idx := f.idx
			ms = append(ms, func(r *record) bool { return p(r.vals[idx]) })
		default:
			ms = append(ms, c.relatedMatcher(a, cond))
		}
	}
	for _, t := range order {
		ms = append(ms, groups[t].matcher())
	}
	if len(ms) == 1 {
		return ms[0]
	}
	return func(r *record) bool {
		for _, m := range ms {
			if !m(r) {
				return false
			}
		}
		return true
	}
}

// negative operators hold for a subtable only when every row satisfies
// them (and there is at least one row).
func negative(op kql.Op) bool {
	return op == kql.NotIn || op == kql.NotLike || op == kql.IsNotEmpty || op == kql.Ne
}

type colPred struct {
	idx int
	p   pred
}

// rowGroup is the predicates of one and-group on one subtable: some row
// must satisfy every positive one, every row every negative one.
type rowGroup struct {
	table       *field
	some, every []colPred
}

func (g *rowGroup) matcher() matcher {
	idx := g.table.idx
	return func(r *record) bool {
		rows, _ := r.vals[idx].x.([]row)
		if len(rows) == 0 {
			return false
		}
		for _, row := range rows {
			for _, cp := range g.every {
				if !cp.p(row.vals[cp.idx]) {
					return false
				}
			}
		}
		if len(g.some) == 0 {
			return true
		}
	rows:
		for _, row := range rows {
			for _, cp := range g.some {
				if !cp.p(row.vals[cp.idx]) {
					continue rows
				}
			}
			return true
		}
		return false
	}
}

// pred builds the predicate of cond for field f.
func (c *call) pred(a *app, f *field, cond *kql.Cond) pred {
	p := c.positive(a, f, cond)
	switch cond.Op {
	case kql.Ne, kql.NotIn, kql.NotLike:
		return func(v val) bool { return !p(v) }
	}
	return p
}

// positive builds the predicate of cond with Ne, NotIn and NotLike read as
// their positive forms.
func (c *call) positive(a *app, f *field, cond *kql.Cond) pred {
	op := cond.Op
	switch op {
	case kql.Ne:
		op = kql.Eq
	case kql.NotIn:
		op = kql.In
	case kql.NotLike:
		op = kql.Like
	}
	switch op {
	case kql.IsEmpty, kql.IsNotEmpty:
		want := op == kql.IsEmpty
		return func(v val) bool { return blank(f, v) == want }
	case kql.Like:
		pat := ""
		if len(cond.Values) > 0 {
			pat = cond.Values[0].Text
		}
		words := tokenize(pat)
		return func(v val) bool { return c.like(f, v, words) }
	}
	switch f.typ {
	case "__ID__", "__REVISION__", "RECORD_NUMBER", "NUMBER", "CALC":
		return numberPred(a, f, op, cond.Values)
	case "DATE":
		return c.datePred(op, cond.Values)
	case "DATETIME", "CREATED_TIME", "UPDATED_TIME":
		return c.dateTimePred(op, cond.Values)
	case "TIME":
		return timePred(op, cond.Values)
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		set := c.valueSet(cond.Values)
		return func(v val) bool {
			l, _ := v.x.([]string)
			if len(l) == 0 {
				return set[""]
			}
			for _, s := range l {
				if set[s] {
					return true
				}
			}
			return false
		}
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "CREATOR", "MODIFIER", "STATUS_ASSIGNEE":
		set := c.valueSet(cond.Values)
		return func(v val) bool {
			l, _ := v.x.([]entity)
			if len(l) == 0 {
				return set[""]
			}
			for _, e := range l {
				if set[e.code] {
					return true
				}
			}
			return false
		}
	}
	// Text, drop-down, radio button, status: the value as a string.
	set := c.valueSet(cond.Values)
	return func(v val) bool { return set[v.s] }
}

// valueSet is the literal values of a condition, functions resolved for
// the caller: LOGINUSER() and PRIMARY_ORGANIZATION() name nobody for an API
// token, which acts as no user.
func (c *call) valueSet(vals []kql.Value) map[string]bool {
	set := make(map[string]bool, len(vals))
	for _, v := range vals {
		if v.Kind != kql.Func {
			set[v.Text] = true
			continue
		}
		switch {
		case c.who.user == nil:
		case v.Call.Name == "LOGINUSER":
			set[c.who.user.Code] = true
		case v.Call.Name == "PRIMARY_ORGANIZATION" && c.who.user.Organization != "":
			set[c.who.user.Organization] = true
		}
	}
	return set
}

// blank is "is empty": no value, or text of nothing but spaces, tabs and
// newlines (after removing markup for rich text).
func blank(f *field, v val) bool {
	switch f.typ {
	case "RICH_TEXT":
		return strings.TrimSpace(stripTags(v.s)) == ""
	case "MULTI_LINE_TEXT", "SINGLE_LINE_TEXT", "LINK":
		return strings.TrimSpace(v.s) == ""
	}
	return isEmpty(f, v)
}

// like matches a field against the words of a pattern (see tokenize).
func (c *call) like(f *field, v val, words []token) bool {
	switch f.typ {
	case "FILE":
		files, _ := v.x.([]*fileRef)
		for _, fr := range files {
			if wordMatch(fr.name, words) || (isText(fr.data) && wordMatch(string(fr.data), words)) {
				return true
			}
		}
		return false
	case "RICH_TEXT":
		return wordMatch(stripTags(v.s), words)
	}
	return wordMatch(v.s, words)
}

// numberPred compares stored numbers with the literals exactly, whatever
// their number of digits.
func numberPred(a *app, f *field, op kql.Op, vals []kql.Value) pred {
	type lit struct {
		empty bool
		n     string // canonical; "" when the literal is not a number
	}
	lits := make([]lit, 0, len(vals))
	for _, v := range vals {
		s := v.Text
		if f.typ == "RECORD_NUMBER" {
			s = trimAppCode(a, s)
		}
		if s == "" {
			lits = append(lits, lit{empty: true})
			continue
		}
		n, _ := numberLiteral(s)
		lits = append(lits, lit{n: n})
	}
	switch op {
	case kql.Eq, kql.In:
		return func(v val) bool {
			for _, l := range lits {
				if l.empty {
					if v.s == "" {
						return true
					}
					continue
				}
				if n, ok := numberText(f, v); ok && l.n != "" && compareNumbers(n, l.n) == 0 {
					return true
				}
			}
			return false
		}
	}
	if len(lits) == 0 || lits[0].empty || lits[0].n == "" {
		return func(val) bool { return false }
	}
	x := lits[0].n
	return func(v val) bool {
		n, ok := numberText(f, v)
		return ok && compareOp(op, compareNumbers(n, x))
	}
}

// numberText is the number a stored value of f holds, if it holds one: a
// record number without its app-code prefix; nothing for a date or time
// computed by a CALC field.
func numberText(f *field, v val) (string, bool) {
	switch {
	case v.s == "":
		return "", false
	case f.typ == "RECORD_NUMBER":
		return trimNumberPrefix(v.s), true
	case f.calcText:
		return v.s, isCanonicalNumber(v.s)
	}
	return v.s, true
}

// numericType reports whether fields of type typ hold numbers.
func numericType(typ string) bool {
	switch typ {
	case "NUMBER", "CALC", "RECORD_NUMBER", "__ID__", "__REVISION__":
		return true
	}
	return false
}

// sameValue reports whether a value of fa equals one of fb, as a lookup or
// a related-records condition matches them: by value when both hold
// numbers ("1.5" is "1.50"), else as text.
func sameValue(fa *field, a val, fb *field, b val) bool {
	if numericType(fa.typ) && numericType(fb.typ) {
		x, okx := numberText(fa, a)
		y, oky := numberText(fb, b)
		if okx && oky {
			return compareNumbers(x, y) == 0
		}
	}
	return a.s == b.s
}

// compareOp reads an ordering comparison given the sign of value − literal.
func compareOp(op kql.Op, sign int) bool {
	switch op {
	case kql.Lt:
		return sign < 0
	case kql.Gt:
		return sign > 0
	case kql.Le:
		return sign <= 0
	case kql.Ge:
		return sign >= 0
	}
	return sign == 0
}

// span is an inclusive range of sortable strings (days, or minutes).
type span struct{ lo, hi string }

// rangePred compares stored strings against a span: = means within it,
// < before its start, > after its end.
func rangePred(op kql.Op, spans []span, empty bool) pred {
	if empty { // compared with ""
		return func(v val) bool { return (v.s == "") == (op == kql.Eq || op == kql.In) }
	}
	if len(spans) == 0 {
		return func(val) bool { return false }
	}
	sp := spans[0]
	return func(v val) bool {
		s := v.s
		if s == "" {
			return false
		}
		switch op {
		case kql.Lt:
			return s < sp.lo
		case kql.Le:
			return s <= sp.hi
		case kql.Gt:
			return s > sp.hi
		case kql.Ge:
			return s >= sp.lo
		}
		return s >= sp.lo && s <= sp.hi
	}
}

func (c *call) datePred(op kql.Op, vals []kql.Value) pred {
	if len(vals) == 0 {
		return func(val) bool { return false }
	}
	v := vals[0]
	if v.Kind != kql.Func && v.Text == "" {
		return rangePred(op, nil, true)
	}
	var sp span
	var ok bool
	if v.Kind == kql.Func {
		var lo, hi time.Time
		lo, hi, ok = c.dayRange(v.Call)
		sp = span{lo.Format("2006-01-02"), hi.Format("2006-01-02")}
	} else {
		var d string
		if d, ok = parseDate(v.Text); !ok {
			if t, good := parseDateTime(v.Text); good {
				d, ok = t[:10], true
			}
		}
		sp = span{d, d}
	}
	if !ok {
		return func(val) bool { return false }
	}
	return rangePred(op, []span{sp}, false)
}

func (c *call) dateTimePred(op kql.Op, vals []kql.Value) pred {
	if len(vals) == 0 {
		return func(val) bool { return false }
	}
	v := vals[0]
	if v.Kind != kql.Func && v.Text == "" {
		return rangePred(op, nil, true)
	}
	loc := c.tz()
	var sp span
	switch {
	case v.Kind == kql.Func && v.Call.Name == "NOW":
		t := formatDateTime(c.now)
		sp = span{t, t}
	case v.Kind == kql.Func:
		lo, hi, ok := c.dayRange(v.Call)
		if !ok {
			return func(val) bool { return false }
		}
		sp = daySpan(lo, hi, loc)
	default:
		if d, ok := parseDate(v.Text); ok && !strings.Contains(v.Text, "T") {
			t, _ := time.ParseInLocation("2006-01-02", d, loc)
			sp = daySpan(t, t, loc)
		} else if t, ok := parseDateTime(v.Text); ok {
			sp = span{t, t}
		} else {
			return func(val) bool { return false }
		}
	}
	return rangePred(op, []span{sp}, false)
}

// daySpan is the minutes from the start of day lo to the end of day hi in
// loc, as DATETIME strings.
func daySpan(lo, hi time.Time, loc *time.Location) span {
	start := time.Date(lo.Year(), lo.Month(), lo.Day(), 0, 0, 0, 0, loc)
	end := time.Date(hi.Year(), hi.Month(), hi.Day()+1, 0, 0, 0, 0, loc).Add(-time.Minute)
	return span{formatDateTime(start), formatDateTime(end)}
}

func timePred(op kql.Op, vals []kql.Value) pred {
	if len(vals) == 0 || vals[0].Kind == kql.Func {
		return func(val) bool { return false }
	}
	if vals[0].Text == "" {
		return func(v val) bool { return v.isNull() == (op == kql.Eq) }
	}
	t, ok := parseTime(vals[0].Text)
	if !ok {
		return func(val) bool { return false }
	}
	return func(v val) bool {
		if v.isNull() || v.s == "" {
			return false
		}
		return compareOp(op, strings.Compare(v.s, t))
	}
}

// dayRange is the first and last day a date function stands for, in the
// caller's time zone (the user's setting, else the seed's default).
func (c *call) dayRange(call *kql.Call) (time.Time, time.Time, bool) {
	now := c.now.In(c.tz())
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	day := func(t time.Time) (time.Time, time.Time, bool) { return t, t, true }
	arg := ""
	if len(call.Args) > 0 {
		arg = call.Args[0]
	}
	switch call.Name {
	case "TODAY", "NOW":
		return day(today)
	case "YESTERDAY":
		return day(today.AddDate(0, 0, -1))
	case "TOMORROW":
		return day(today.AddDate(0, 0, 1))
	case "FROM_TODAY":
		n := atoiSigned(arg)
		unit := ""
		if len(call.Args) > 1 {
			unit = call.Args[1]
		}
		switch unit {
		case "WEEKS":
			return day(today.AddDate(0, 0, 7*n))
		case "MONTHS":
			return day(today.AddDate(0, n, 0))
		case "YEARS":
			return day(today.AddDate(n, 0, 0))
		}
		return day(today.AddDate(0, 0, n))
	case "THIS_WEEK", "LAST_WEEK", "NEXT_WEEK":
		sunday := today.AddDate(0, 0, -int(today.Weekday()))
		switch call.Name {
		case "LAST_WEEK":
			sunday = sunday.AddDate(0, 0, -7)
		case "NEXT_WEEK":
			sunday = sunday.AddDate(0, 0, 7)
		}
		if arg == "" {
			return sunday, sunday.AddDate(0, 0, 6), true
		}
		for i, w := range [...]string{"SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"} {
			if w == arg {
				return day(sunday.AddDate(0, 0, i))
			}
		}
		return today, today, false
	case "THIS_MONTH", "LAST_MONTH", "NEXT_MONTH":
		first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
		switch call.Name {
		case "LAST_MONTH":
			first = first.AddDate(0, -1, 0)
		case "NEXT_MONTH":
			first = first.AddDate(0, 1, 0)
		}
		last := first.AddDate(0, 1, -1)
		switch arg {
		case "":
			return first, last, true
		case "LAST":
			return day(last)
		}
		d := atoiSigned(arg)
		if d < 1 || d > last.Day() {
			return today, today, false
		}
		return day(first.AddDate(0, 0, d-1))
	case "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR":
		y := today.Year()
		switch call.Name {
		case "LAST_YEAR":
			y--
		case "NEXT_YEAR":
			y++
		}
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC), true
	}
	return today, today, false
}

func atoiSigned(s string) int {
	n, neg := 0, false
	for i, r := range s {
		switch {
		case i == 0 && (r == '-' || r == '+'):
			neg = r == '-'
		case r >= '0' && r <= '9':
			n = n*10 + int(r-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// relatedMatcher evaluates a predicate on a field of a related-records
// table ("rel.field"): positive operators hold when some related record
// satisfies them, negative ones when every related record does.
func (c *call) relatedMatcher(a *app, cond *kql.Cond) matcher {
	relCode, code, _ := strings.Cut(cond.Field, ".")
	var rt *kintone.FieldProperty
	for i := range a.form {
		if a.form[i].Code == relCode && a.form[i].Type == "REFERENCE_TABLE" {
			rt = &a.form[i]
		}
	}
	if rt == nil || rt.ReferenceTable == nil {
		return func(*record) bool { return false }
	}
	ref := rt.ReferenceTable
	src := c.st.appByRef(ref.RelatedApp)
	own := a.byCode[ref.Condition.Field]
	if src == nil || own == nil || src.byCode[code] == nil || src.byCode[ref.Condition.RelatedField] == nil {
		return func(*record) bool { return false }
	}
	f := src.byCode[code]
	key := src.byCode[ref.Condition.RelatedField]
	p := c.pred(src, f, cond)
	var filter matcher
	if ref.FilterCond != "" {
		if q, err := kql.Parse(ref.FilterCond); err == nil {
			filter = c.compile(src, q.Where)
		}
	}
	neg := negative(cond.Op)
	return func(r *record) bool {
		want := r.vals[own.idx]
		if isEmpty(own, want) {
			return neg
		}
		for _, rr := range c.st.data[src.id].sorted {
			if !sameValue(key, rr.vals[key.idx], own, want) || (filter != nil && !filter(rr)) {
				continue
			}
			if p(rr.vals[f.idx]) != neg {
				return !neg
			}
		}
		return neg
	}
}

// selectRecords runs q over a's records: the page (after order, offset and
// limit) and, when count is set, how many records match in all.
func (c *call) selectRecords(a *app, q *kql.Query, count bool) ([]*record, int) {
	m := c.compile(a, q.Where)
	limit, offset := defaultLimit, 0
	if q.Limit != nil {
		limit = *q.Limit
	}
	if q.Offset != nil {
		offset = *q.Offset
	}
	all := c.st.data[a.id].sorted
	if len(q.OrderBy) == 0 { // $id descending: the stored order reversed
		page := make([]*record, 0, min(limit, len(all)))
		total := 0
		for i := len(all) - 1; i >= 0; i-- {
			r := all[i]
			if m != nil && !m(r) {
				continue
			}
			if total >= offset && len(page) < limit {
				page = append(page, r)
			}
			total++
			if !count && len(page) == limit {
				break
			}
		}
		return page, total
	}
	var hits []*record
	for i := len(all) - 1; i >= 0; i-- {
		if m == nil || m(all[i]) {
			hits = append(hits, all[i])
		}
	}
	sortRecords(a, hits, q.OrderBy)
	total := len(hits)
	if offset >= len(hits) {
		return nil, total
	}
	hits = hits[offset:]
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, total
}

// sortRecords orders hits (given in $id descending order) by keys; the
// sort is stable so ties stay in $id descending order.
func sortRecords(a *app, hits []*record, keys []kql.SortKey) {
	type key struct {
		f    *field
		desc bool
	}
	ks := make([]key, 0, len(keys))
	for _, k := range keys {
		if f := a.byCode[k.Field]; f != nil && f.parent == nil {
			ks = append(ks, key{f, k.Dir != kql.Asc})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		for _, k := range ks {
			c := compareVals(k.f, hits[i].vals[k.f.idx], hits[j].vals[k.f.idx])
			if c == 0 {
				continue
			}
			if k.desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
}

// compareVals orders two values of f; empty values come first.
func compareVals(f *field, a, b val) int {
	ea, eb := isEmpty(f, a), isEmpty(f, b)
	switch {
	case ea && eb:
		return 0
	case ea:
		return -1
	case eb:
		return 1
	}
	switch f.typ {
	case "__ID__", "__REVISION__", "RECORD_NUMBER", "NUMBER", "CALC":
		if f.calcText { // dates and times sort as text
			break
		}
		x, _ := numberText(f, a)
		y, _ := numberText(f, b)
		return compareNumbers(x, y)
	case "CREATOR", "MODIFIER", "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		la, _ := a.x.([]entity)
		lb, _ := b.x.([]entity)
		return strings.Compare(la[0].code, lb[0].code)
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		la, _ := a.x.([]string)
		lb, _ := b.x.([]string)
		return strings.Compare(la[0], lb[0])
	}
	return strings.Compare(a.s, b.s)
}
