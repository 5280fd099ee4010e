package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testbrowser"
)

// The home page and the polish of the new-user review, in Chromium, in
// both languages, at 1280 and 360 px: the home page's numbers against the
// simulator, organization names and the organization filter, status
// colours, the policy's reasons in the member's language and the API token
// user never shown; axe-core finds nothing on any of the pages.
func TestHomeAndPolishInChromium(t *testing.T) {
	s := startBrowserSuite(t)
	alice := s.as(t, "u-alice")

	// The ground truth, asked of the simulator apart from kgate: alice is
	// gold at Acme, who may Submit from Draft and Withdraw from Submitted.
	acme := s.recordNumbers(t, 2, `org in ("acme")`)
	awaiting := s.recordNumbers(t, 2, `org in ("acme") and Status in ("Draft", "Submitted")`)
	labels := map[string]struct{ records, awaiting, firstVisit, org, viaPortal, closed string }{
		"en": {"Records", "Awaiting your action", "from your next visit", "Acme Trading", "via the portal", "Member records are visible to the operator's staff only."},
		"ja": {"件数", "あなたの対応待ち", "次回の訪問から", "アクメ商事", "ポータル経由", "会員情報は運営スタッフのみが閲覧できます。"},
	}
	for _, lang := range []string{"en", "ja"} {
		for _, width := range []int64{1280, 360} {
			t.Run(lang+"-"+strconv.FormatInt(width, 10), func(t *testing.T) {
				alice.t = t
				alice.do(chromedp.EmulateViewport(width, 800))
				alice.navigate(s.demo.URL + "/")
				alice.setLang(lang)
				l := labels[lang]
				card := `.app-card:has(a[href="/apps/budget"])`
				count := func(label string) string {
					return run(alice, chromedp.Evaluate[string](`(() => { for (const d of document.querySelectorAll(`+strconv.Quote(card+" .app-counts > div")+`)) { if (d.querySelector("dt").textContent.trim() === `+strconv.Quote(label)+`) return d.querySelector("dd").textContent.trim() } return "" })()`))
				}
				if got := count(l.records); got != strconv.Itoa(len(acme)) {
					t.Errorf("budget card: %s %q, want %d", l.records, got, len(acme))
				}
				if got := count(l.awaiting); got != strconv.Itoa(len(awaiting)) {
					t.Errorf("budget card: %s %q, want %d", l.awaiting, got, len(awaiting))
				}
				// Alice's first visit is this run: nothing is counted as new yet.
				if note := alice.text(".home-note"); !strings.Contains(note, l.firstVisit) {
					t.Errorf("home note %q, want the first-visit note", note)
				}
				if alt := alice.attr(card+" img.app-image", "alt"); alt != "" || !alice.exists(card+" img.app-image") {
					t.Errorf("budget card: default icon missing or not decorative (alt %q)", alt)
				}
				if w := run(alice, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); w > width {
					t.Errorf("home at %d px is %d px wide", width, w)
				}
				testbrowser.Axe(t, alice.ctx)
				alice.screenshot("home-" + lang + "-" + strconv.FormatInt(width, 10))

				// The list: organizations by name, a filter offering only
				// Acme, status badges in their colours.
				alice.navigate(s.demo.URL + "/apps/budget")
				opts := alice.attrs(`select[name="f.org"] option`, "value")
				if len(opts) != 2 || opts[1] != "acme" {
					t.Errorf("organization filter offers %q, want only acme", opts)
				}
				if got := alice.texts(`select[name="f.org"] option`); len(got) != 2 || got[1] != l.org {
					t.Errorf("organization filter labels %q, want %q", got, l.org)
				}
				if bg := run(alice, chromedp.Evaluate[string](`(() => { for (const b of document.querySelectorAll(".badge")) { if (b.textContent.trim() === "Approved") return getComputedStyle(b).backgroundColor } return "" })()`)); bg != "rgb(30, 123, 52)" {
					t.Errorf("Approved badge background %q, want the configured #1e7b34", bg)
				}
				if width == 1280 {
					for _, org := range alice.list().column(t, map[string]string{"en": "Organization", "ja": "組織"}[lang]) {
						if org != l.org {
							t.Errorf("a row of organization %q, want %q", org, l.org)
						}
					}
				}
				testbrowser.Axe(t, alice.ctx)
				alice.screenshot("list-polish-" + lang + "-" + strconv.FormatInt(width, 10))

				// A record kgate's token wrote: never "Administrator".
				alice.navigate(s.demo.URL + "/apps/budget/records/1")
				if body := alice.text("main"); strings.Contains(body, "Administrator") || !strings.Contains(body, l.viaPortal) {
					t.Errorf("record page shows the token user or lacks %q", l.viaPortal)
				}
				testbrowser.Axe(t, alice.ctx)

				// The policy's reason in the page's language.
				alice.navigate(s.demo.URL + "/apps/members")
				if r := alice.texts(".reasons li"); len(r) != 1 || r[0] != l.closed {
					t.Errorf("403 reasons %q, want %q", r, l.closed)
				}
				testbrowser.Axe(t, alice.ctx)
			})
		}
	}
}
