package enforcement

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The query generator writes members' queries over every field type and
// the operators kintone takes for it, joined by and/or, with order by,
// limit and offset now and then.

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(s) + `"`
}

func list(r *rand.Rand, values []string, quoted bool) string {
	n := 1 + r.IntN(3)
	out := make([]string, n)
	for i := range out {
		out[i] = pick(r, values)
		if quoted {
			out[i] = quote(out[i])
		}
	}
	return "(" + strings.Join(out, ", ") + ")"
}

func numbers() []string {
	var out []string
	for _, n := range append(thresholds, numberNear...) {
		if n != "" && !strings.HasPrefix(n, "-0") || n == "-0.5" {
			out = append(out, n)
		}
	}
	return out
}

// predicate is one condition on one field.
func predicate(r *rand.Rand) string {
	ordered := []string{"=", "!=", "<", "<=", ">", ">="}
	switch r.IntN(17) {
	case 0, 1:
		code := pick(r, []string{"title", "code", "owner", "secret", "site"})
		values := append(append([]string{}, edgeTexts...), edgeOwners...)
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("%s %s %s", code, pick(r, []string{"=", "!="}), quote(pick(r, values)))
		case 1:
			return fmt.Sprintf("%s %s %s", code, pick(r, []string{"in", "not in"}), list(r, values, true))
		}
		return fmt.Sprintf("%s %s %s", code, pick(r, []string{"like", "not like"}), quote(pick(r, words)))
	case 2, 3:
		code := pick(r, []string{"org", "tier", "stage"})
		f, _ := fieldByCode(code)
		return fmt.Sprintf("%s %s %s", code, pick(r, []string{"in", "not in"}), list(r, append([]string{""}, f.options...), true))
	case 4, 5:
		code := pick(r, []string{"amount", "score"})
		if r.IntN(4) == 0 {
			return fmt.Sprintf("%s %s %s", code, pick(r, []string{"in", "not in"}), list(r, numbers(), false))
		}
		return fmt.Sprintf("%s %s %s", code, pick(r, ordered), pick(r, numbers()))
	case 6:
		if r.IntN(4) == 0 {
			return "due " + pick(r, ordered) + " " + pick(r, []string{"TODAY()", "FROM_TODAY(3, DAYS)", "LAST_MONTH()"})
		}
		return fmt.Sprintf("due %s %s", pick(r, ordered), quote(pick(r, edgeDates[1:])))
	case 7:
		return fmt.Sprintf("slot %s %s", pick(r, ordered), quote(pick(r, edgeTimes[1:])))
	case 8:
		if r.IntN(3) == 0 {
			return "at " + pick(r, ordered) + " " + pick(r, []string{"NOW()", "TODAY()"})
		}
		return fmt.Sprintf("at %s %s", pick(r, ordered), quote(pick(r, edgeDatetimes[1:])))
	case 9:
		code := pick(r, []string{"note", "body"})
		if r.IntN(3) == 0 && code == "note" {
			return "note " + pick(r, []string{"is empty", "is not empty"})
		}
		return fmt.Sprintf("%s %s %s", code, pick(r, []string{"like", "not like"}), quote(pick(r, words)))
	case 10:
		return fmt.Sprintf("tags %s %s", pick(r, []string{"in", "not in"}), list(r, []string{"a", "b", "c", ""}, true))
	case 11, 12:
		if r.IntN(3) == 0 {
			return "doc " + pick(r, []string{"is empty", "is not empty"})
		}
		return fmt.Sprintf("doc %s %s", pick(r, []string{"like", "not like"}), quote(pick(r, append(words, "quote", "plan.txt"))))
	case 13:
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("item %s %s", pick(r, []string{"in", "not in"}), list(r, itemNames, true))
		case 1:
			return fmt.Sprintf("item like %s", quote(pick(r, []string{"acme", "bolt"})))
		}
		return fmt.Sprintf("qty %s %s", pick(r, []string{"<", "<=", ">", ">="}), pick(r, []string{"1", "7", "1000.5", "0"}))
	case 14:
		return fmt.Sprintf("$id %s %d", pick(r, ordered), 1+r.IntN(150))
	case 15:
		return fmt.Sprintf("Record_number %s %d", pick(r, ordered), 1+r.IntN(150))
	}
	return fmt.Sprintf("Created_datetime %s %s", pick(r, []string{"<", ">"}), quote("2020-01-01T00:00:00Z"))
}

func condition(r *rand.Rand, depth int) string {
	if depth == 0 || r.IntN(3) == 0 {
		return predicate(r)
	}
	join := pick(r, []string{" and ", " or "})
	n := 2 + r.IntN(4)/3
	terms := make([]string, n)
	for i := range terms {
		terms[i] = condition(r, depth-1)
		if strings.Contains(terms[i], " and ") || strings.Contains(terms[i], " or ") {
			terms[i] = "(" + terms[i] + ")"
		}
	}
	return strings.Join(terms, join)
}

// memberQuery is a query as a member writes it, split in its parts so the
// truth can ask the simulator for the condition alone.
type memberQuery struct {
	cond, order   string
	limit, offset int // -1 when absent
	fields        []string
	totalCount    bool
}

func (q memberQuery) String() string {
	s := strings.TrimSpace(q.cond + " " + q.order)
	if q.limit >= 0 {
		s += fmt.Sprintf(" limit %d", q.limit)
	}
	if q.offset >= 0 {
		s += fmt.Sprintf(" offset %d", q.offset)
	}
	return strings.TrimSpace(s)
}

func genQuery(r *rand.Rand) memberQuery {
	q := memberQuery{limit: -1, offset: -1, totalCount: r.IntN(2) == 0}
	if r.IntN(8) > 0 {
		q.cond = condition(r, 1+r.IntN(3)/2)
	}
	if r.IntN(2) == 0 {
		key := pick(r, []string{"amount", "score", "due", "title", "code", "$id", "slot", "at", "Record_number"})
		q.order = fmt.Sprintf("order by %s %s", key, pick(r, []string{"asc", "desc"}))
	}
	if r.IntN(2) == 0 {
		q.limit = pick(r, []int{1, 5, 20, 100, 200, 500})
	}
	if r.IntN(3) == 0 {
		q.offset = pick(r, []int{0, 3, 50})
	}
	if r.IntN(3) == 0 {
		all := append(append([]field{}, fields...), systemFields...)
		for _, f := range all {
			if f.table == "" && r.IntN(3) == 0 {
				q.fields = append(q.fields, f.code)
			}
		}
	}
	return q
}
