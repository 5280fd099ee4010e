package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The list's URL becomes the member's query: these pin down the KQL the
// gateway receives for each part of the state.
func TestListURLBecomesTheMembersQuery(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, path, want string
	}{
		{"first page", "/apps/budget", `limit 20`},
		{"keyword over the text fields", "/apps/budget?q=flyers",
			`(title like "flyers") or (purpose like "flyers") or (requested_by like "flyers") limit 20`},
		{"keyword is one string literal", "/apps/budget?q=" + url.QueryEscape(`x" or org in ("bluebird") or title like "`),
			`(title like "x\" or org in (\"bluebird\") or title like \"") or (purpose like "x\" or org in (\"bluebird\") or title like \"") or (requested_by like "x\" or org in (\"bluebird\") or title like \"") limit 20`},
		{"sort ascending with a stable tie-break", "/apps/budget?sort=amount", `order by amount asc, $id asc limit 20`},
		{"sort descending", "/apps/budget?sort=title&dir=desc", `order by title desc, $id desc limit 20`},
		{"drop-down filter", "/apps/budget?f.category=event", `category in ("event") limit 20`},
		{"several options of one filter", "/apps/budget?f.category=event&f.category=training", `category in ("event", "training") limit 20`},
		{"filters and keyword together", "/apps/budget?q=ads&f.category=marketing&f.org=acme",
			`((title like "ads") or (purpose like "ads") or (requested_by like "ads")) and (org in ("acme")) and (category in ("marketing")) limit 20`},
		{"paging", "/apps/budget?page=3&size=50", `limit 50 offset 100`},
		{"date range", "/apps/documents?from.published=2026-09-01&to.published=2026-09-30",
			`(published >= "2026-09-01") and (published <= "2026-09-30") limit 20`},
		{"date-time range in the member's zone", "/apps/schedule?from.start=2026-11-20&to.start=2026-11-20",
			`(start >= "2026-11-19T15:00:00Z") and (start < "2026-11-20T15:00:00Z") limit 20`},
		{"empty filter values are no filter", "/apps/budget?q=&f.category=", `limit 20`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.rec.queries()
			r := w.get(t, demoMember("alice"), tt.path, "Accept-Language", "en")
			if r.Code != http.StatusOK {
				t.Fatalf("status %d: %s", r.Code, between(r.body, "<main", "</main>"))
			}
			got := w.rec.queries()
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("queries %q\nwant [%q]", got, tt.want)
			}
		})
	}
}

func TestListSortAndFilterKeepTheMembersRows(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("dave"), "/apps/budget?sort=amount&dir=desc&q="+url.QueryEscape(`" or org = "acme`), "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustNotContain(t, r.body, `<td data-label="Organization">acme</td>`, `<td data-label="Organization">cosmo</td>`)
	r = w.get(t, demoMember("dave"), "/apps/budget?sort=amount&dir=desc", "Accept-Language", "en")
	amounts := cellsOf(r.body, 3)
	if len(amounts) != 7 || amounts[0] != "¥540,000" {
		t.Errorf("dave's amounts, largest first: %q", amounts)
	}
	mustNotContain(t, r.body, `<td data-label="Organization">acme</td>`, `<td data-label="Organization">cosmo</td>`)
}

// The portal refuses list URLs it cannot turn into a query the member may
// run, before asking the gateway for anything.
func TestListRefusesWhatItCannotQuery(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, who, path, want string
	}{
		{"unreadable sort field", "alice", "/apps/budget?sort=internal_note", `The list cannot be sorted by &#34;internal_note&#34;.`},
		{"unknown sort field", "alice", "/apps/budget?sort=nope", `cannot be sorted by &#34;nope&#34;`},
		{"table sort field", "alice", "/apps/budget?sort=items", `cannot be sorted by &#34;items&#34;`},
		{"field inside a table", "alice", "/apps/budget?sort=cost", `cannot be sorted by &#34;cost&#34;`},
		{"file sort field", "alice", "/apps/budget?sort=attachment", `cannot be sorted by &#34;attachment&#34;`},
		{"bad direction", "alice", "/apps/budget?sort=title&dir=up", "sort direction"},
		{"page zero", "alice", "/apps/budget?page=0", "There is no page"},
		{"page past kintone's offset limit", "alice", "/apps/budget?page=600&size=20", "There is no page"},
		{"huge page size", "alice", "/apps/budget?size=1000", "is not a page size"},
		{"option that does not exist", "alice", "/apps/budget?f.category=" + url.QueryEscape(`x") or ("1`), "not one of its choices"},
		{"date that is not one", "alice", "/apps/documents?from.published=yesterday", "needs dates such as"},
		{"keyword too long", "alice", "/apps/budget?q=" + strings.Repeat("あ", 101), "keyword is too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.rec.queries()
			r := w.get(t, demoMember(tt.who), tt.path, "Accept-Language", "en")
			if r.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.Code)
			}
			mustContain(t, r.body, tt.want)
			if q := w.rec.queries(); len(q) != 0 {
				t.Errorf("the gateway was asked %q", q)
			}
		})
	}
}

func TestListSortOnAMaskedFieldFallsBackToTheUsualOrder(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("bob"), "/apps/budget?sort=approved_amount&dir=desc", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	if q := w.rec.queries(); !slices.Equal(q, []string{"limit 20"}) {
		t.Errorf("queries %q", q)
	}
	mustContain(t, r.body, "The list cannot be sorted by &#34;Approved amount&#34; for your membership", "Spring campaign flyers")
	head := between(r.body, "<thead>", "</thead>")
	mustNotContain(t, head, "sort=approved_amount", "aria-sort")
	mustContain(t, head, "sort=amount")
}

func TestListPageSizesAreTheSameForEveryLevel(t *testing.T) {
	w := newWorld(t)
	// The policy bounds how fast a member reads, not how large a page is.
	for _, who := range []string{"bob", "alice"} {
		r := w.get(t, demoMember(who), "/apps/budget?size=100", "Accept-Language", "en")
		if r.Code != http.StatusOK {
			t.Fatalf("%s: status %d", who, r.Code)
		}
		if q := w.rec.queries(); !slices.Equal(q, []string{"limit 100"}) {
			t.Errorf("%s: queries %q", who, q)
		}
		mustNotContain(t, r.body, "the most your membership allows")
		sizes := between(r.body, `<select id="size"`, "</select>")
		mustContain(t, sizes, `<option value="20">`, `<option value="50">`, `<option value="100" selected>`)
	}
}

func TestListPagingShowsTheTotalAndLinksKeepTheState(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.PageSizes = []int{2, 5} })
	r := w.get(t, demoMember("alice"), "/apps/budget?sort=amount&f.org=acme&page=2", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body,
		"Showing 3–4 of 7 records.",
		`href="/apps/budget?dir=asc&amp;f.org=acme&amp;sort=amount" rel="prev"`,
		`href="/apps/budget?dir=asc&amp;f.org=acme&amp;page=3&amp;sort=amount" rel="next"`,
		`href="/apps/budget?dir=asc&amp;f.org=acme&amp;page=4&amp;sort=amount" aria-label="Page 4"`,
		`aria-current="page">2</a>`,
		// Sorting again starts from page 1 and keeps the filter.
		`href="/apps/budget?dir=desc&amp;f.org=acme&amp;sort=amount" class="sort"`,
		`aria-sort="ascending"`,
	)
	if n := len(cellsOf(r.body, 1)); n != 2 {
		t.Errorf("%d rows on a page of 2", n)
	}
	// The filter form keeps the sort in hidden fields.
	mustContain(t, between(r.body, `<form class="card filters"`, "</form>"),
		`<input type="hidden" name="sort" value="amount">`, `<input type="hidden" name="dir" value="asc">`)
}

func TestListPastTheEndSaysSo(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.PageSizes = []int{5} })
	r := w.get(t, demoMember("alice"), "/apps/budget?page=9", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body, "This page is past the end: there are 7 records in all.", `href="/apps/budget?page=2" rel="prev"`)
}

// cellsOf returns the text of column n (0 = the record link) of each row.
func cellsOf(body string, n int) []string {
	tbody := between(body, "<tbody>", "</tbody>")
	var out []string
	for _, row := range strings.Split(tbody, "<tr>")[1:] {
		cells := strings.Split(row, "<td")
		if n < len(cells) {
			c := cells[n]
			c = c[strings.Index(c, ">")+1:]
			c = strings.TrimSuffix(strings.SplitN(c, "</td>", 2)[0], "")
			out = append(out, c)
		}
	}
	return out
}

func TestListKeepsAPageSizeTheURLNames(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("alice"), "/apps/budget?size=30", "Accept-Language", "en")
	if q := w.rec.queries(); !slices.Equal(q, []string{"limit 30"}) {
		t.Errorf("queries %q", q)
	}
	mustContain(t, between(r.body, `<select id="size"`, "</select>"), `<option value="20">`, `<option value="30" selected>`, `<option value="50">`)
}

func TestListFiltersAreConfigurable(t *testing.T) {
	w := newWorld(t, func(c *Config) {
		c.Apps["budget"] = AppSettings{
			Filters: []string{"Status", "Created_datetime", "internal_note", "title"}, StatusOptions: []string{"Draft", "Submitted"},
			SearchFields: []string{"title", "internal_note"},
		}
	})
	r := w.get(t, demoMember("alice"), "/apps/budget?f.Status=Draft&from.Created_datetime=2026-10-01&q=x", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, between(r.body, "<main", "</main>"))
	}
	want := `(title like "x") and (Status in ("Draft")) and (Created_datetime >= "2026-09-30T15:00:00Z") limit 20`
	if q := w.rec.queries(); !slices.Equal(q, []string{want}) {
		t.Errorf("queries %q\nwant %q", q, want)
	}
	form := between(r.body, `<form class="card filters"`, "</form>")
	mustContain(t, form, `name="f.Status"`, `<option value="Draft" selected>`, `name="from.Created_datetime"`)
	// Unreadable and unsuitable fields are not offered.
	mustNotContain(t, form, "internal_note", `name="f.title"`, "f.category")
	if r := w.get(t, demoMember("alice"), "/apps/budget?f.Status=Approvedish", "Accept-Language", "en"); r.Code != http.StatusBadRequest {
		t.Errorf("a status that is not offered: status %d", r.Code)
	}
}
