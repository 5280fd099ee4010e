package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testbrowser"
	"github.com/kgate/kgate/internal/testenv"
)

// The portal as partners use it (issue 6's browser tests, and issue 7's
// write scenario): Debian's Chromium, driven by chromedp, against `kgate
// demo` started in this process (the simulator, the demo OpenID Provider
// and Caddy with kgate). Every member logs in through the provider's page
// in a browser context of their own, so cookies never cross; scenarios
// that do not log out share the member's session. What a page shows is
// compared with the simulator itself: the records a member sees are
// exactly those of their organization.
//
// Screenshots of the main pages in both languages are written to
// $KGATE_SCREENSHOTS, or to a fresh temporary folder; the test logs where.
func TestPortalInChromium(t *testing.T) {
	s := startBrowserSuite(t)

	t.Run("login page lists the demo users", func(t *testing.T) {
		tb := s.newTab(t)
		tb.navigate(s.demo.URL + "/apps/budget")
		if loc := tb.location(); !strings.HasPrefix(loc, s.demo.Issuer+"login") {
			t.Fatalf("a page without a session should lead to the provider's login, got %s", loc)
		}
		users := tb.texts("form button small")
		if len(users) < 7 || !strings.Contains(strings.Join(users, "\n"), "bob@acme.example") {
			t.Fatalf("the login page lists %q", users)
		}
		tb.screenshot("login")
	})

	t.Run("bob, silver at Acme, sees only Acme's budget requests, approved amounts masked", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.setLang("en")
		if got := bob.text("main h1"); got != "Welcome" {
			t.Fatalf("home heading %q", got)
		}
		me := strings.Join(bob.texts(".me-card dd"), " | ")
		for _, want := range []string{"Bob Suzuki", "Acme Trading", "Silver"} {
			if !strings.Contains(me, want) {
				t.Errorf("the membership card says %q, want %q in it", me, want)
			}
		}
		if apps := bob.texts(".app-card h3"); slices.ContainsFunc(apps, func(a string) bool { return strings.Contains(a, "Members") }) {
			t.Errorf("the home page offers the members app to a partner: %q", apps)
		}
		bob.click(`.app-card a[href="/apps/budget"]`)
		l := bob.list()
		l.wantColumns(t, "Title", "Organization", "Amount", "Category", "Status", "Requested by")
		l.wantNoColumn(t, "Internal note", "Approved amount")
		want := s.recordNumbers(t, 2, `org in ("acme")`)
		if !sameSet(l.numbers(), want) {
			t.Fatalf("bob's list shows %v, the simulator has %v for acme", l.numbers(), want)
		}
		for _, org := range l.column(t, "Organization") {
			if org != "Acme Trading" { // org_field: the code by its configured name
				t.Errorf("a row of organization %q in bob's list", org)
			}
		}

		bob.click(`a[href="/apps/budget/records/1"]`)
		rec := bob.fields()
		if rec["Approved amount"] != "(hidden)" {
			t.Errorf("a silver member sees approved amount %q, want the mask", rec["Approved amount"])
		}
		if _, ok := rec["Internal note"]; ok {
			t.Errorf("the record shows the internal note to a partner: %v", rec)
		}
		if rec["Title"] != bob.text("main h1") || rec["Organization"] != "Acme Trading" {
			t.Errorf("record page: heading %q, fields %v", bob.text("main h1"), rec)
		}
	})

	t.Run("sort by clicking a column header", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.setLang("en")
		bob.navigate(s.demo.URL + "/apps/budget")
		amountHead := `th:has(a.sort[href*="sort=amount"])`
		bob.click(amountHead + ` a.sort`)
		if !strings.Contains(bob.location(), "sort=amount") || bob.attr(amountHead, "aria-sort") != "ascending" {
			t.Fatalf("after one click: %s, aria-sort %q", bob.location(), bob.attr(amountHead, "aria-sort"))
		}
		if sorted := bob.attrs(`th[aria-sort]`, "aria-sort"); len(sorted) != 1 {
			t.Errorf("more than one column says it is sorted: %q", sorted)
		}
		asc := amounts(t, bob.list().column(t, "Amount"))
		if !slices.IsSorted(asc) || len(asc) == 0 {
			t.Fatalf("ascending by amount: %v", asc)
		}
		bob.click(amountHead + ` a.sort`)
		desc := amounts(t, bob.list().column(t, "Amount"))
		if bob.attr(amountHead, "aria-sort") != "descending" || !slices.IsSortedFunc(desc, func(a, b int) int { return b - a }) || desc[0] != asc[len(asc)-1] {
			t.Fatalf("a second click sorts descending: %v", desc)
		}
	})

	t.Run("keyword search", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.setLang("en")
		bob.navigate(s.demo.URL + "/apps/budget")
		bob.do(chromedp.SendKeys(chromedp.CSS("#q"), "training"))
		bob.click(`form.filters button.primary`)
		if !strings.Contains(bob.location(), "q=training") {
			t.Fatalf("the search is not in the URL: %s", bob.location())
		}
		// The keyword is looked for in the readable text fields.
		want := s.recordNumbers(t, 2, `org in ("acme") and (title like "training" or purpose like "training" or requested_by like "training")`)
		got := bob.list().numbers()
		if len(want) == 0 || len(want) >= len(s.recordNumbers(t, 2, `org in ("acme")`)) || !sameSet(got, want) {
			t.Fatalf("searching \"training\" shows %v, want %v", got, want)
		}
		if c := bob.text("#count"); !strings.Contains(c, strconv.Itoa(len(want))) {
			t.Errorf("count %q does not say %d", c, len(want))
		}
	})

	t.Run("page through a list", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.setLang("en")
		bob.navigate(s.demo.URL + "/apps/budget?size=3")
		want := s.recordNumbers(t, 2, `org in ("acme")`)
		var seen []string
		for page := 1; ; page++ {
			rows := bob.list().numbers()
			if len(rows) == 0 || len(rows) > 3 {
				t.Fatalf("page %d has %d rows", page, len(rows))
			}
			seen = append(seen, rows...)
			count := bob.text("#count")
			if !strings.Contains(count, fmt.Sprintf("of %d records", len(want))) {
				t.Errorf("page %d count %q", page, count)
			}
			if !bob.exists(`.pager a[rel="next"]`) {
				break
			}
			if page > len(want) {
				t.Fatal("the pager never ends")
			}
			bob.click(`.pager a[rel="next"]`)
			if !strings.Contains(bob.location(), "page="+strconv.Itoa(page+1)) {
				t.Fatalf("the page is not in the URL: %s", bob.location())
			}
		}
		if len(seen) != len(want) || !sameSet(seen, want) {
			t.Fatalf("the pages together show %v, want each of %v once", seen, want)
		}
	})

	t.Run("download a file through kgate", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.navigate(s.demo.URL + "/apps/budget/records/1")
		key, name := s.attachment(t, 2, 1, "attachment")
		href := bob.attr(`.files a[download]`, "href")
		if !strings.HasPrefix(href, "/files/") || strings.Contains(href, key) {
			t.Fatalf("the download link %q should be kgate's, without kintone's file key", href)
		}
		got, suggested := bob.download(`.files a[download]`)
		if want := s.fileContent(t, 2, key); string(got) != string(want) {
			t.Fatalf("downloaded %q, kintone holds %q", got, want)
		}
		if suggested != name {
			t.Errorf("the download is named %q, want %q", suggested, name)
		}
	})

	t.Run("see comments", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.navigate(s.demo.URL + "/apps/budget/records/2")
		comments := bob.texts(".comment-list .comment p")
		if len(comments) != 1 || !strings.Contains(comments[0], "Received. We will review it this week.") {
			t.Fatalf("comments on budget-2: %q", comments)
		}
	})

	t.Run("switch language ja and en", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.navigate(s.demo.URL + "/apps/budget")
		bob.setLang("ja")
		if bob.attr("html", "lang") != "ja" || !slices.Contains(bob.list().headers(), "件名") || !strings.Contains(bob.text("#count"), "件") {
			t.Fatalf("Japanese list: lang %q, headers %q, count %q", bob.attr("html", "lang"), bob.list().headers(), bob.text("#count"))
		}
		if !strings.HasSuffix(bob.location(), "/apps/budget") {
			t.Errorf("the switch should come back to the same page, not %s", bob.location())
		}
		bob.setLang("en")
		if bob.attr("html", "lang") != "en" || !slices.Contains(bob.list().headers(), "Title") || !strings.Contains(bob.text("#count"), "records") {
			t.Fatalf("English list: lang %q, headers %q, count %q", bob.attr("html", "lang"), bob.list().headers(), bob.text("#count"))
		}
	})

	t.Run("log out; the old URL and the back button need a login again", func(t *testing.T) {
		bob := s.login(t, "u-bob") // a session of its own, which it ends
		bob.navigate(s.demo.URL + "/apps/budget/records/1")
		title := bob.text("main h1")
		bob.click(`form.logout button`)
		if loc := bob.location(); strings.HasPrefix(loc, s.demo.URL+"/apps") {
			t.Fatalf("after logout the browser is still on %s", loc)
		}
		bob.navigateBack()
		s.wantLoggedOut(t, bob, title)
		bob.navigate(s.demo.URL + "/apps/budget/records/1")
		s.wantLoggedOut(t, bob, title)
	})

	t.Run("carol, gold at Bluebird, sees only Bluebird's records and approved amounts", func(t *testing.T) {
		carol := s.as(t, "u-carol")
		carol.setLang("en")
		carol.navigate(s.demo.URL + "/apps/budget")
		want := s.recordNumbers(t, 2, `org in ("bluebird")`)
		if got := carol.list().numbers(); !sameSet(got, want) {
			t.Fatalf("carol's list shows %v, the simulator has %v for bluebird", got, want)
		}
		approved := s.records(t, 2, `org in ("bluebird") and Status in ("Approved") and approved_amount != ""`)
		if len(approved) == 0 {
			t.Fatal("the demo seed has no approved bluebird request")
		}
		id, amount := fieldString(t, approved[0], "$id"), fieldString(t, approved[0], "approved_amount")
		carol.navigate(s.demo.URL + "/apps/budget/records/" + id)
		if got := carol.fields()["Approved amount"]; got != yen(t, amount) {
			t.Errorf("a gold member sees approved amount %q, want %s", got, yen(t, amount))
		}
		acme := s.records(t, 2, `org in ("acme")`)
		status := carol.navigate(s.demo.URL + "/apps/budget/records/" + fieldString(t, acme[0], "$id"))
		if status != http.StatusNotFound || carol.text("main h1") != "Not found" {
			t.Fatalf("another organization's record: status %d, heading %q", status, carol.text("main h1"))
		}
	})

	t.Run("alice, gold at Acme, sees Acme's records with approved amounts", func(t *testing.T) {
		alice := s.as(t, "u-alice")
		alice.setLang("en")
		alice.navigate(s.demo.URL + "/apps/budget")
		if got, want := alice.list().numbers(), s.recordNumbers(t, 2, `org in ("acme")`); !sameSet(got, want) {
			t.Fatalf("alice's list shows %v, want %v", got, want)
		}
		approved := s.records(t, 2, `org in ("acme") and approved_amount != ""`)
		alice.navigate(s.demo.URL + "/apps/budget/records/" + fieldString(t, approved[0], "$id"))
		if got, want := alice.fields()["Approved amount"], yen(t, fieldString(t, approved[0], "approved_amount")); got != want {
			t.Errorf("approved amount %q, want %q", got, want)
		}
	})

	t.Run("a member without access sees the 403 page", func(t *testing.T) {
		for _, tt := range []struct{ sub, heading, reason string }{
			{"u-erin", "You do not have access", "Your membership is inactive."},
			{"u-frank", "Sign-up is not open to your e-mail address", ""},
		} {
			tb := s.newTab(t) // Chromium asks for English pages
			tb.navigate(s.demo.URL + "/")
			status := tb.pickUser(tt.sub)
			if status != http.StatusForbidden || tb.text("main h1") != tt.heading || (tt.reason != "" && !slices.Contains(tb.texts(".reasons li"), tt.reason)) {
				t.Errorf("%s: status %d, heading %q, reasons %q", tt.sub, status, tb.text("main h1"), tb.texts(".reasons li"))
			}
			if tb.exists("form.logout") || tb.exists(".me") {
				t.Errorf("%s: a refused member's page shows a member header", tt.sub)
			}
			tb.screenshot(strings.TrimPrefix(tt.sub, "u-") + "-403-en")
		}
	})

	t.Run("an app the policy closes shows the 403 page with the policy's reasons", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.setLang("en")
		status := bob.navigate(s.demo.URL + "/apps/members")
		if status != http.StatusForbidden || bob.text("main h1") != "You do not have access" {
			t.Fatalf("members app for a partner: status %d, heading %q", status, bob.text("main h1"))
		}
		if r := bob.texts(".reasons li"); !slices.Contains(r, "Member records are visible to the operator's staff only.") {
			t.Fatalf("the page does not give the policy's reason: %q", r)
		}
	})

	t.Run("calendar shows only the member's events", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		bob.navigate(s.demo.URL + "/apps/schedule/calendar")
		hrefs := bob.attrs(".cal-month .events a", "href")
		if len(hrefs) == 0 {
			t.Fatal("this month's calendar shows no event; the demo seed schedules some around today")
		}
		allowed := s.recordNumbers(t, 5, `org in ("acme", "all")`)
		for _, h := range hrefs {
			id := h[strings.LastIndex(h, "/")+1:]
			if !slices.Contains(allowed, "schedule-"+id) && !slices.Contains(allowed, id) {
				t.Errorf("the calendar links to %s, which is not acme's nor everyone's", h)
			}
		}
	})

	t.Run("the main pages in both languages pass axe-core, with screenshots", func(t *testing.T) {
		bob := s.as(t, "u-bob")
		for _, lang := range []string{"en", "ja"} {
			bob.setLang(lang)
			for _, p := range []struct{ name, path string }{
				{"home", "/"}, {"list", "/apps/budget"}, {"record", "/apps/budget/records/1"},
				{"calendar", "/apps/schedule/calendar"}, {"403", "/apps/members"},
			} {
				bob.navigate(s.demo.URL + p.path)
				testbrowser.Axe(t, bob.ctx)
				bob.screenshot("bob-" + p.name + "-" + lang)
			}
		}
		// A phone: the pages fit 360 px without scrolling sideways.
		bob.do(chromedp.EmulateViewport(360, 800, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		for _, p := range []struct{ name, path string }{{"list", "/apps/budget"}, {"record", "/apps/budget/records/1"}} {
			bob.navigate(s.demo.URL + p.path)
			if w := run(bob, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 360 {
				t.Errorf("%s at 360 px: the page is %d px wide", p.name, w)
			}
			testbrowser.Axe(t, bob.ctx)
			bob.screenshot("bob-" + p.name + "-ja-360")
		}
		t.Logf("screenshots in %s", s.shots)
	})

	// Last, because it adds a record: the screenshots above show the demo
	// as it starts.
	t.Run("alice creates a budget request with an attachment, fixes an error, submits it and comments; carol never sees it", func(t *testing.T) {
		s.writeScenario(t)
	})
}

// browserSuite is the demo and one Chromium for every scenario.
type browserSuite struct {
	t        *testing.T // the whole suite's test, which outlives the shared sessions
	demo     *demo
	browser  context.Context // a started browser; tabs are its children
	shots    string
	dl       string
	sessions map[string]*tab // member → their logged-in tab
}

// startBrowserSuite finds Chromium (skipping or failing without it), starts
// the demo on a free loopback port and the browser, and stops both when
// the test ends.
func startBrowserSuite(t *testing.T) *browserSuite {
	t.Helper()
	testenv.LookPath(t, "chromium", "chromium-browser", "google-chrome")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	d, err := startDemo(demoOptions{Listen: "localhost:" + strconv.Itoa(port), Policies: "../../policies"}, io.Discard)
	if err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	t.Cleanup(d.Stop)

	s := &browserSuite{t: t, demo: d, dl: t.TempDir(), sessions: map[string]*tab{}}
	if s.shots = os.Getenv("KGATE_SCREENSHOTS"); s.shots == "" {
		if s.shots, err = os.MkdirTemp("", "kgate-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(s.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := testbrowser.Chromium(t, chromedp.Flag("lang", "en-US"), chromedp.Flag("accept-lang", "en-US,en"), chromedp.WindowSize(1280, 800))
	s.browser = ctx
	t.Logf("demo at %s; screenshots in %s", d.URL, s.shots)
	return s
}

// tab is one browser tab in a browser context of its own: its own cookies,
// so each member's session stays theirs.
type tab struct {
	t   *testing.T
	s   *browserSuite
	ctx context.Context
}

// stepTimeout bounds one browser step, so a missing element fails the test
// with its selector instead of hanging it.
const stepTimeout = 20 * time.Second

func (s *browserSuite) newTab(t *testing.T) *tab {
	t.Helper()
	return s.openTab(t, t, chromedp.WithNewBrowserContext())
}

// openTab opens a tab that lives as long as owner's test.
func (s *browserSuite) openTab(t *testing.T, owner *testing.T, opt chromedp.ContextOption) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser, opt)
	owner.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, without a timeout
		t.Fatalf("opening a tab: %v", err)
	}
	tb := &tab{t: t, s: s, ctx: ctx}
	tb.do(chromedp.EmulateViewport(1280, 800))
	return tb
}

// login opens a tab in a new browser context and logs in as sub through
// the demo provider's page.
func (s *browserSuite) login(t *testing.T, sub string) *tab {
	t.Helper()
	return s.loginIn(t, s.newTab(t), sub)
}

func (s *browserSuite) loginIn(t *testing.T, tb *tab, sub string) *tab {
	t.Helper()
	tb.navigate(s.demo.URL + "/")
	if status := tb.pickUser(sub); status != http.StatusOK || !tb.exists("form.logout") {
		t.Fatalf("logging in as %s: status %d at %s", sub, status, tb.location())
	}
	return tb
}

// as returns sub's tab, on the home page, logging in the first time: the
// scenarios that do not log out share one session and one tab per member,
// since every new tab costs Chromium a renderer.
func (s *browserSuite) as(t *testing.T, sub string) *tab {
	t.Helper()
	if tb, ok := s.sessions[sub]; ok {
		tb.t = t
		tb.do(chromedp.EmulateViewport(1280, 800))
		if status := tb.navigate(s.demo.URL + "/"); status != http.StatusOK || !tb.exists("form.logout") {
			t.Fatalf("%s's session: status %d at %s", sub, status, tb.location())
		}
		return tb
	}
	tb := s.loginIn(t, s.openTab(t, s.t, chromedp.WithNewBrowserContext()), sub)
	s.sessions[sub] = tb
	return tb
}

// pickUser chooses sub on the provider's login page and returns the status
// of the page the login ends on.
func (tb *tab) pickUser(sub string) int {
	tb.t.Helper()
	if loc := tb.location(); !strings.HasPrefix(loc, tb.s.demo.Issuer+"login") {
		tb.t.Fatalf("expected the provider's login page, at %s", loc)
	}
	return tb.clickStatus(`form:has(input[name="user"][value="` + sub + `"]) button`)
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser at %s: %v", tb.locationOrUnknown(), err)
	}
}

func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("browser at %s: %v", tb.locationOrUnknown(), err)
	}
	return v
}

// navigate loads url and returns the HTTP status of the page it ends on.
func (tb *tab) navigate(url string) int {
	tb.t.Helper()
	resp := run(tb, chromedp.NavigateResponse(url))
	tb.waitReady()
	return int(resp.Status)
}

func (tb *tab) navigateBack() {
	tb.t.Helper()
	tb.do(chromedp.NavigateBack())
	tb.waitReady()
}

// click clicks the first element matching css, waits for the page it
// leads to, and fails unless that page is a 200.
func (tb *tab) click(css string) {
	tb.t.Helper()
	if status := tb.clickStatus(css); status != http.StatusOK {
		tb.t.Fatalf("clicking %s led to status %d at %s", css, status, tb.location())
	}
}

func (tb *tab) clickStatus(css string) int {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		tb.t.Fatalf("clicking %s at %s: %v", css, tb.locationOrUnknown(), err)
	}
	tb.waitReady()
	return int(resp.Status)
}

// waitReady waits until the document has loaded.
func (tb *tab) waitReady() {
	tb.t.Helper()
	tb.do(chromedp.WaitReady(chromedp.CSS("body")))
}

func (tb *tab) location() string {
	tb.t.Helper()
	return run(tb, chromedp.Location())
}

func (tb *tab) locationOrUnknown() string {
	ctx, cancel := context.WithTimeout(tb.ctx, time.Second)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		return loc
	}
	return "(unknown)"
}

// texts returns the trimmed text of every element matching css, in
// document order ([] when there is none).
func (tb *tab) texts(css string) []string {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(`+strconv.Quote(css)+`), e => e.textContent.trim())`))
}

// text is the text of the first element matching css, "" when none does.
func (tb *tab) text(css string) string {
	tb.t.Helper()
	if all := tb.texts(css); len(all) > 0 {
		return all[0]
	}
	return ""
}

func (tb *tab) exists(css string) bool {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(css)+`) !== null`))
}

// attrs returns an attribute of every element matching css.
func (tb *tab) attrs(css, name string) []string {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(`+strconv.Quote(css)+`), e => e.getAttribute(`+strconv.Quote(name)+`) ?? "")`))
}

func (tb *tab) attr(css, name string) string {
	tb.t.Helper()
	if all := tb.attrs(css, name); len(all) > 0 {
		return all[0]
	}
	return ""
}

// setLang uses the page's language switch and waits for the page to come
// back in that language.
func (tb *tab) setLang(lang string) {
	tb.t.Helper()
	if tb.attr("html", "lang") == lang {
		return
	}
	tb.clickStatus(`form.lang-switch button[value="` + lang + `"]`) // the page may be an error page
	if got := tb.attr("html", "lang"); got != lang {
		tb.t.Fatalf("after switching to %s the page is in %q", lang, got)
	}
}

// fields reads a record page: label → displayed value.
func (tb *tab) fields() map[string]string {
	tb.t.Helper()
	pairs := run(tb, chromedp.Evaluate[[][2]string](`Array.from(document.querySelectorAll(".record-fields > div"), d => [d.querySelector("dt")?.textContent.trim() ?? "", d.querySelector("dd")?.textContent.trim() ?? ""])`))
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		if p[0] != "" {
			m[p[0]] = p[1]
		}
	}
	return m
}

// download clicks a download link and returns the bytes Chromium saved and
// the name it suggested for them.
func (tb *tab) download(css string) ([]byte, string) {
	tb.t.Helper()
	id := chromedp.FromContext(tb.ctx).BrowserContextID
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: id,
		DownloadPath: tb.s.dl, EventsEnabled: new(true)})
	if err != nil {
		tb.t.Fatal(err)
	}
	begins := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	tb.do(chromedp.Click(chromedp.CSS(css)))
	var guid, suggested string
	for ev, err := range begins {
		if err != nil {
			tb.t.Fatalf("waiting for the download to begin: %v", err)
		}
		guid, suggested = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			tb.t.Fatalf("waiting for the download: %v", err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			tb.t.Fatal("the download was canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(tb.s.dl, guid))
	if err != nil {
		tb.t.Fatal(err)
	}
	return b, suggested
}

// screenshot saves the viewport as name.png in the screenshot folder.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png := run(tb, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(tb.s.shots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// listPage is the record table of a list page as the member sees it.
type listPage struct {
	head []string
	rows [][]string // the record number first, then one cell per column
}

func (tb *tab) list() *listPage {
	tb.t.Helper()
	lp := &listPage{head: tb.listHeaders()}
	lp.rows = run(tb, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("table.records tbody tr"), tr => Array.from(tr.children, c => c.textContent.trim()))`))
	return lp
}

// listHeaders are the column labels, without the sort hint for screen
// readers.
func (tb *tab) listHeaders() []string {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table.records thead th"), th => { const a = th.querySelector("a.sort"); return (a ? a.firstChild.textContent : th.textContent).trim() })`))
}

func (lp *listPage) headers() []string { return lp.head }

func (lp *listPage) numbers() []string {
	out := make([]string, len(lp.rows))
	for i, r := range lp.rows {
		out[i] = r[0]
	}
	return out
}

func (lp *listPage) column(t *testing.T, label string) []string {
	t.Helper()
	i := slices.Index(lp.head, label)
	if i < 0 {
		t.Fatalf("no column %q in %q", label, lp.head)
	}
	out := make([]string, len(lp.rows))
	for j, r := range lp.rows {
		out[j] = r[i]
	}
	return out
}

func (lp *listPage) wantColumns(t *testing.T, labels ...string) {
	t.Helper()
	if got := lp.head[1:]; !slices.Equal(got, labels) {
		t.Errorf("columns %q, want %q", got, labels)
	}
}

func (lp *listPage) wantNoColumn(t *testing.T, labels ...string) {
	t.Helper()
	for _, l := range labels {
		if slices.Contains(lp.head, l) {
			t.Errorf("column %q is shown: %q", l, lp.head)
		}
	}
}

// wantLoggedOut checks that the tab is on the provider's login page and
// shows nothing of the record titled title.
func (s *browserSuite) wantLoggedOut(t *testing.T, tb *tab, title string) {
	t.Helper()
	if loc := tb.location(); !strings.HasPrefix(loc, s.demo.Issuer+"login") {
		t.Errorf("after logout the browser is at %s, want the provider's login page", loc)
	}
	if body := tb.text("body"); strings.Contains(body, title) {
		t.Errorf("after logout the page still shows %q", title)
	}
}

// records asks the simulator itself which records of app match query.
func (s *browserSuite) records(t *testing.T, app int64, query string) []kintone.Record {
	t.Helper()
	recs, err := s.demo.Sim.Select(app, "", query)
	if err != nil {
		t.Fatalf("simulator query %q: %v", query, err)
	}
	return recs
}

// recordNumbers are the record numbers (as the list shows them) of the
// records of app matching query.
func (s *browserSuite) recordNumbers(t *testing.T, app int64, query string) []string {
	t.Helper()
	var out []string
	for _, r := range s.records(t, app, query) {
		out = append(out, fieldString(t, r, "Record_number"))
	}
	return out
}

// attachment is the file key and name of the first file in a record's
// FILE field, as kintone holds it.
func (s *browserSuite) attachment(t *testing.T, app, id int64, field string) (key, name string) {
	t.Helper()
	recs := s.records(t, app, "$id = "+strconv.FormatInt(id, 10))
	if len(recs) != 1 {
		t.Fatalf("record %d of app %d: %d found", id, app, len(recs))
	}
	var files []struct{ FileKey, Name string }
	if err := json.Unmarshal(recs[0][field].Value, &files); err != nil || len(files) == 0 {
		t.Fatalf("record %d has no file in %s: %s", id, field, recs[0][field].Value)
	}
	return files[0].FileKey, files[0].Name
}

// fileContent downloads a file straight from the simulated kintone.
func (s *browserSuite) fileContent(t *testing.T, app int64, key string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", s.demo.Kintone+"/k/v1/file.json?fileKey="+key, nil)
	req.Header.Set("X-Cybozu-API-Token", "demo-token-budget")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("file %s from the simulator: %d %s", key, resp.StatusCode, b)
	}
	return b
}

// fieldString is a field's value as a string.
func fieldString(t *testing.T, r kintone.Record, code string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(r[code].Value, &s); err != nil {
		t.Fatalf("field %s: %s is not a string", code, r[code].Value)
	}
	return s
}

// yen is a whole amount as the demo's budget fields show it: the unit
// before, digits grouped by three.
func yen(t *testing.T, amount string) string {
	t.Helper()
	n, err := strconv.Atoi(amount)
	if err != nil {
		t.Fatalf("amount %q: %v", amount, err)
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return "¥" + s
}

// amounts parses displayed amounts such as ¥95000 or ¥95,000.
func amounts(t *testing.T, cells []string) []int {
	t.Helper()
	out := make([]int, len(cells))
	for i, c := range cells {
		n, err := strconv.Atoi(strings.NewReplacer("¥", "", ",", "").Replace(c))
		if err != nil {
			t.Fatalf("amount %q: %v", c, err)
		}
		out[i] = n
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
