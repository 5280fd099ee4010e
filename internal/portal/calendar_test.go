package portal

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// dayCell returns the calendar cell of day (YYYY-MM-DD).
func dayCell(body, day string) string {
	i := strings.Index(body, `<time datetime="`+day+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	for _, end := range []string{"</td>", "</li>\n"} {
		if j := strings.Index(rest, end); j >= 0 {
			return rest[:j]
		}
	}
	return rest
}

func TestCalendarMonthPlacesTheMembersRecordsOnTheirDays(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("bob"), "/apps/schedule/calendar", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body, `<h2 id="cal-heading">November 2026</h2>`, `<td class="day today">`)
	mustContain(t, dayCell(r.body, "2026-11-18"), `<span class="time">15:00</span> Weekly partner call`)
	mustContain(t, dayCell(r.body, "2026-11-22"), "Acme quarterly review")
	// A record with an end date appears on every day it covers, its time
	// only on the first.
	mustContain(t, dayCell(r.body, "2026-11-21"), `<span class="time">18:30</span> Good links`)
	mustContain(t, dayCell(r.body, "2026-11-23"), `>Good links</a>`)
	// Days of the next month in the grid show their records too.
	mustContain(t, dayCell(r.body, "2026-12-04"), "Security 101")
	// Another organization's records are not there.
	mustNotContain(t, r.body, "Bluebird delivery sync", "Cosmo")
	// The query covers the grid, in the member's zone, with the end field,
	// in one page of kintone's 500 whatever the level.
	q := w.rec.queries()
	cond := `(start < "2026-12-05T15:00:00Z") and ((start >= "2026-10-31T15:00:00Z") or (end >= "2026-10-31T15:00:00Z")) order by start asc, $id asc limit `
	if want := []string{cond + "500"}; !slices.Equal(q, want) {
		t.Errorf("queries %q\nwant %q", q, want)
	}
}

func TestCalendarWeekAndNavigation(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("dave"), "/apps/schedule/calendar?view=week&date=2026-11-19", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body,
		`<h2 id="cal-heading">Sun, Nov 15 – Sat, Nov 21</h2>`,
		`href="/apps/schedule/calendar?date=2026-11-12&amp;view=week" rel="prev"`,
		`href="/apps/schedule/calendar?date=2026-11-26&amp;view=week" rel="next"`,
		`href="/apps/schedule/calendar?date=2026-11-19&amp;view=week" aria-current="page">Week</a>`,
	)
	mustContain(t, dayCell(r.body, "2026-11-19"), "Bluebird delivery sync")
	mustContain(t, dayCell(r.body, "2026-11-17"), "Nothing scheduled.")
	mustNotContain(t, r.body, "Acme quarterly review", "Good links")
}

func TestCalendarInJapanese(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("alice"), "/apps/schedule/calendar?date=2026-11-01", "Accept-Language", "ja")
	mustContain(t, r.body, "2026年11月", `<abbr title="水曜日">水</abbr>`, "11月18日(水)", "前の月")
}

func TestCalendarRefusesBadParametersAndAppsWithoutDates(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		path   string
		status int
	}{
		{"/apps/schedule/calendar?view=year", http.StatusBadRequest},
		{"/apps/schedule/calendar?date=tomorrow", http.StatusBadRequest},
		{"/apps/schedule/calendar?date=0001-01-01", http.StatusBadRequest},
		{"/apps/survey/calendar", http.StatusNotFound}, // no date field
		{"/apps/members/calendar", http.StatusForbidden},
	}
	for _, tt := range tests {
		r := w.get(t, demoMember("bob"), tt.path, "Accept-Language", "en")
		if r.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, r.Code, tt.status)
		}
	}
}

func TestCalendarTabOnlyForAppsWithADateField(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("bob"), "/apps/documents", "Accept-Language", "en")
	mustContain(t, r.body, `<a href="/apps/documents/calendar">Calendar</a>`) // by its DATE field
	r = w.get(t, demoMember("bob"), "/apps/survey", "Accept-Language", "en")
	mustNotContain(t, r.body, "/calendar")
}
