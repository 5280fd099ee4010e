package portal

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
)

func TestDefuseKeepsSpreadsheetsFromRunningCellsAsFormulas(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1+1", "'+1+1"},
		{"-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-5", "-5"},
		{"-1,234.50", "-1,234.50"},
		{"1,000", "1,000"},
		{"¥540000", "¥540000"},
		{"a=b", "a=b"},
		{"", ""},
	} {
		if got := defuse(tc.in); got != tc.want {
			t.Errorf("defuse(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// hostileBudget adds budget records of acme whose titles a spreadsheet
// or a CSV reader could trip on.
var hostileTitles = []string{`=HYPERLINK("http://evil.example","x")`, "comma, \"quote\"\nnew line", "@SUM(A1)", "-2+3"}

func hostileBudget(seed *kintonesim.Seed) {
	for i := range seed.Apps {
		a := &seed.Apps[i]
		if a.Code != "budget" {
			continue
		}
		for _, title := range hostileTitles {
			val := func(v string) json.RawMessage { b, _ := json.Marshal(map[string]string{"value": v}); return b }
			a.Records = append(a.Records, map[string]json.RawMessage{"title": val(title), "org": val("acme"),
				"amount": val("1500"), "category": val("other"), "Status": val("Draft"), "approved_amount": val("777")})
		}
	}
}

// readCSV checks the file's form (BOM, CRLF) and parses it.
func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	if !strings.HasPrefix(body, "\ufeff") {
		t.Fatalf("no byte-order mark: %q", body[:min(len(body), 20)])
	}
	body = strings.TrimPrefix(body, "\ufeff")
	if strings.Count(body, "\n") != strings.Count(body, "\r\n") {
		// newlines inside quoted cells are the value's own
		for _, line := range strings.SplitAfter(body, "\r\n") {
			if strings.HasSuffix(line, "\n") && !strings.HasSuffix(line, "\r\n") {
				t.Fatalf("a line ends without CR: %q", line)
			}
		}
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	return rows
}

func column(rows [][]string, name string) int { return slices.Index(rows[0], name) }

func TestCSVIsTheListInTheMembersLanguageWithMasksAndDefusedCells(t *testing.T) {
	w := newWorldWith(t, worldOptions{seed: hostileBudget})
	r := w.get(t, demoMember("bob"), "/apps/budget/export.csv", "Accept-Language", "ja")
	if r.Code != 200 || r.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(r.Header().Get("Content-Disposition"), `attachment; filename="budget-`) {
		t.Fatalf("status %d, headers %v", r.Code, r.Header())
	}
	rows := readCSV(t, r.body)
	if want := []string{"番号", "件名", "組織", "金額", "区分", "申請者", "承認額", "ステータス"}; !slices.Equal(rows[0], want) {
		t.Errorf("header %q, want the list's Japanese labels %q", rows[0], want)
	}
	approved := column(rows, "承認額")
	titles := map[string]bool{}
	for _, row := range rows[1:] {
		if row[approved] != "（非表示）" {
			t.Errorf("masked approved amount exported as %q", row[approved])
		}
		titles[row[1]] = true
	}
	for _, title := range hostileTitles {
		want := defuse(title)
		if !titles[want] {
			t.Errorf("title %q not exported as %q; titles %v", title, want, titles)
		}
	}
	mustNotContain(t, r.body, "777")
	en := readCSV(t, w.get(t, demoMember("bob"), "/apps/budget/export.csv", "Accept-Language", "en").body)
	if column(en, "Amount") < 0 || column(en, "金額") >= 0 {
		t.Errorf("English header %q", en[0])
	}
}

func TestCSVHoldsWhatTheListsFiltersAndSortSelect(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("alice"), "/apps/budget/export.csv?f.category=event&sort=amount&dir=desc", "Accept-Language", "en")
	rows := readCSV(t, r.body)
	cat, amount := column(rows, "Category"), column(rows, "Amount")
	if cat < 0 || amount < 0 {
		t.Fatalf("header %q", rows[0])
	}
	truth := seedTruth(t, "category", "amount", func(v map[string]string) bool { return v["org"] == "acme" && v["category"] == "event" })
	count, _, _ := strings.Cut(truth["event"], "/")
	if strconv.Itoa(len(rows)-1) != count {
		t.Errorf("%d rows, want %s", len(rows)-1, count)
	}
	prev := -1
	for _, row := range rows[1:] {
		if row[cat] != "event" {
			t.Errorf("row of category %q", row[cat])
		}
		n, _ := strconv.Atoi(strings.Trim(strings.ReplaceAll(row[amount], ",", ""), "¥"))
		if prev >= 0 && n > prev {
			t.Errorf("amounts not descending: %d after %d", n, prev)
		}
		prev = n
	}
}

func TestCSVRowsAndColumnsFollowThePolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   func(map[string]any)
		who      string
		keep     func(map[string]string) bool
		absent   string // a column that must not be there
		present  string
		exported int // records the audit event gives; -1 to take the truth's count
	}{
		{"silver: their organization's rows", nil, "bob", func(v map[string]string) bool { return v["org"] == "acme" }, "Internal note", "Requested by", -1},
		{"a policy widening silver to every organization", func(d map[string]any) { level(d, "budget", "silver")["scope"] = "all" },
			"bob", func(map[string]string) bool { return true }, "Internal note", "Requested by", -1},
		{"a policy hiding requested_by from silver", func(d map[string]any) {
			level(d, "budget", "silver")["readable"] = []any{"title", "org", "amount", "category"}
		}, "bob", func(v map[string]string) bool { return v["org"] == "acme" }, "Requested by", "Amount", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy})
			r := w.get(t, demoMember(tc.who), "/apps/budget/export.csv", "Accept-Language", "en")
			rows := readCSV(t, r.body)
			if column(rows, tc.absent) >= 0 || column(rows, tc.present) < 0 {
				t.Errorf("header %q: want %q and not %q", rows[0], tc.present, tc.absent)
			}
			truth := 0
			for k, v := range seedTruth(t, "org", "", tc.keep) {
				_ = k
				n, _ := strconv.Atoi(strings.SplitN(v, "/", 2)[0])
				truth += n
			}
			if len(rows)-1 != truth {
				t.Errorf("%d rows, want %d", len(rows)-1, truth)
			}
			if len(w.rec.exports) != 1 || w.rec.exports[0].records != truth || w.rec.exports[0].err != "" {
				t.Errorf("audited %+v, want one export of %d records", w.rec.exports, truth)
			}
		})
	}
}

func TestAnExportPastThePolicysCapIsRefusedUpFront(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cap    any // silver's export rule; nil: none (the default cap)
		status int
	}{
		{"under the cap", 7, 200},
		{"past the cap", 6, 403},
		{"no export rule: the default cap", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: func(d map[string]any) {
				if tc.cap == nil {
					delete(level(d, "budget", "silver"), "export")
					return
				}
				level(d, "budget", "silver")["export"] = tc.cap
			}})
			r := w.get(t, demoMember("bob"), "/apps/budget/export.csv", "Accept-Language", "en") // bob sees 7
			if r.Code != tc.status {
				t.Fatalf("status %d, want %d", r.Code, tc.status)
			}
			if len(w.rec.exports) != 1 {
				t.Fatalf("audited %+v, want one export", w.rec.exports)
			}
			if tc.status == 403 {
				mustContain(t, r.body, "This view holds 7 records; your member level may export up to 6 at a time.")
				if e := w.rec.exports[0]; e.records != 0 || !strings.Contains(e.err, "past the export cap of 6") {
					t.Errorf("audited %+v", e)
				}
				return
			}
			if rows := readCSV(t, r.body); len(rows) != 8 || w.rec.exports[0].records != 7 {
				t.Errorf("%d rows, audited %+v; want 7 records", len(rows)-1, w.rec.exports[0])
			}
		})
	}
}

func TestTheListOffersTheCSVOfItsView(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("alice"), "/apps/budget?f.category=event&sort=amount&dir=desc&page=1&size=50", "Accept-Language", "en")
	mustContain(t, r.body, `<a class="button export" href="/apps/budget/export.csv?dir=desc&amp;f.category=event&amp;sort=amount" download>Download CSV</a>`)
	empty := w.get(t, demoMember("alice"), "/apps/budget?q=nothing-matches-this", "Accept-Language", "en")
	mustNotContain(t, empty.body, "export.csv")
}

// shiftingCursor is the gateway with a cursor whose records change while
// an export reads it: the count it gives is stale by under records, and
// its reads fail from the failAt-th (0: never).
type shiftingCursor struct {
	backend
	under  int64
	failAt int
	reads  int
}

func (s *shiftingCursor) CreateCursor(ctx context.Context, id *identity.Identity, req gateway.CursorRequest) (string, int64, error) {
	key, total, err := s.backend.CreateCursor(ctx, id, req)
	return key, total - s.under, err
}

func (s *shiftingCursor) GetCursor(ctx context.Context, id *identity.Identity, key string) (*gateway.Page, error) {
	s.reads++
	if s.reads == s.failAt {
		return nil, kintone.NewError("GAIA_CU01", id.Lang)
	}
	return s.backend.GetCursor(ctx, id, key)
}

func TestAnExportCutShortSaysSoInItsLastLine(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cap      int // silver's export cap; bob sees 7
		cursor   *shiftingCursor
		rows     int // records written
		last     string
		auditErr string
	}{
		{"records added past the cap while writing", 5, &shiftingCursor{under: 2}, 5,
			"The export stopped at 5 records, the most your member level may export at a time.", "the export reached its cap"},
		{"kintone fails mid-way", 1000, &shiftingCursor{failAt: 1}, 0,
			"The export stopped before its end: kintone did not give every record. Download again in a moment.", "GAIA_CU01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: func(d map[string]any) {
				level(d, "budget", "silver")["export"] = tc.cap
			}})
			tc.cursor.backend = w.rec.backend
			w.rec.backend = tc.cursor
			r := w.get(t, demoMember("bob"), "/apps/budget/export.csv", "Accept-Language", "en")
			if r.Code != 200 {
				t.Fatalf("status %d", r.Code)
			}
			rows := readCSV(t, r.body)
			if len(rows) != tc.rows+2 || rows[len(rows)-1][0] != tc.last {
				t.Fatalf("%d rows ending %q; want %d records and %q", len(rows)-2, rows[len(rows)-1], tc.rows, tc.last)
			}
			if len(w.rec.exports) != 1 || w.rec.exports[0].records != tc.rows || !strings.Contains(w.rec.exports[0].err, tc.auditErr) {
				t.Errorf("audited %+v, want %d records and an error with %q", w.rec.exports, tc.rows, tc.auditErr)
			}
		})
	}
}
