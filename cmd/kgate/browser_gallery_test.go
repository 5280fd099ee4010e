package main

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testbrowser"
)

// The gallery of the partner portal's documents app
// (examples/partner-portal/Caddyfile) in Chromium, in Japanese and English
// at 1280 and 360 px: a card per record Alice may see, thumbnails of the
// images made by kgate, an icon for the PDF, the preview page reached
// with the keyboard; and a normal list as cards at 360 px, a table at
// 1280. No axe-core violation on any of them.
func TestGalleryAndNarrowListsInChromium(t *testing.T) {
	s := startBrowserSuite(t)
	// Alice (Acme, gold) sees the documents for everyone and for Acme.
	images := []string{"api-workshop-slide.jpg", "brand-mark.png", "holiday-calendar.png"}

	t.Run("alice's documents gallery", func(t *testing.T) {
		tb := s.as(t, "u-alice")
		for _, lang := range []string{"en", "ja"} {
			tb.setLang(lang)
			for _, width := range []int64{1280, 360} {
				viewport(tb, width)
				where := lang + ", " + strconv.FormatInt(width, 10) + " px"
				tb.navigate(s.demo.URL + "/apps/documents")
				rows := tb.list().numbers()
				tb.click(`nav.tabs a[href="/apps/documents/gallery"]`)
				if n := len(tb.texts("li.gallery-card")); n != len(rows) || n == 0 {
					t.Errorf("%s: %d cards, the list shows %d records", where, n, len(rows))
				}
				alts := tb.attrs(".card-media img", "alt")
				slices.Sort(alts)
				if !slices.Equal(alts, images) {
					t.Errorf("%s: thumbnails of %q, want %q", where, alts, images)
				}
				// Every thumbnail loaded, made by kgate at card size.
				sizes := run(tb, chromedp.Evaluate[[]int](`Promise.all(Array.from(document.querySelectorAll(".card-media img"),
					i => i.decode().then(() => Math.max(i.naturalWidth, i.naturalHeight), () => 0)))`, chromedp.EvalAwaitPromise))
				for i, n := range sizes {
					if n == 0 || n > 320 {
						t.Errorf("%s: thumbnail %d is %d px on its longer side", where, i, n)
					}
				}
				if got := tb.texts(".card-file a"); !slices.Contains(got, "price-list-gold.pdf") || !tb.exists(".card-file svg.file-icon") {
					t.Errorf("%s: file cards %q, want the PDF with an icon", where, got)
				}
				if w := run(tb, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(width) {
					t.Errorf("%s: the page is %d px wide", where, w)
				}
				testbrowser.Axe(t, tb.ctx)
				tb.scrollTo(".list-status")
				tb.screenshot("documents-gallery-alice-" + lang + "-" + strconv.FormatInt(width, 10))

				// The keyboard reaches the workshop slide's preview.
				status := tb.tabTo(`.card-media a:has(img[alt="api-workshop-slide.jpg"])`)
				if status != http.StatusOK {
					t.Fatalf("%s: the preview answered %d", where, status)
				}
				if h := tb.text("h1"); h != "api-workshop-slide.jpg" {
					t.Errorf("%s: preview headed %q", where, h)
				}
				natural := run(tb, chromedp.Evaluate[[]int](`(i => i.decode().then(() => [i.naturalWidth, i.naturalHeight], () => [0, 0]))(document.querySelector("figure.preview img"))`, chromedp.EvalAwaitPromise))
				if !slices.Equal(natural, []int{800, 500}) || tb.attr("figure.preview img", "alt") != "api-workshop-slide.jpg" {
					t.Errorf("%s: preview image %v, alt %q", where, natural, tb.attr("figure.preview img", "alt"))
				}
				if href := tb.attr(`a[download="api-workshop-slide.jpg"]`, "href"); !strings.HasPrefix(href, "/files/") {
					t.Errorf("%s: download link %q", where, href)
				}
				if w := run(tb, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(width) {
					t.Errorf("%s: the preview is %d px wide", where, w)
				}
				testbrowser.Axe(t, tb.ctx)
				tb.screenshot("documents-preview-" + lang + "-" + strconv.FormatInt(width, 10))
			}
		}
		viewport(tb, 1280)
	})

	t.Run("a list is cards at 360 px and a table at 1280", func(t *testing.T) {
		tb := s.as(t, "u-bob")
		for _, lang := range []string{"en", "ja"} {
			tb.setLang(lang)
			for _, width := range []int64{1280, 360} {
				viewport(tb, width)
				where := lang + ", " + strconv.FormatInt(width, 10) + " px"
				tb.navigate(s.demo.URL + "/apps/budget")
				heads := tb.listHeaders()[1:]
				display := run(tb, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("table.records tbody tr")).display`))
				// What each cell shows before its value: its column's name
				// on a card, nothing in the table.
				labels := run(tb, chromedp.Evaluate[[]string](`Array.from(document.querySelector("table.records tbody tr").querySelectorAll("td"),
					td => { const c = getComputedStyle(td, "::before").content; return c === "none" ? "" : JSON.parse(c) })`))
				want, wantDisplay := heads, "block"
				if width > 600 {
					want, wantDisplay = make([]string, len(heads)), "table-row"
				}
				if display != wantDisplay || !slices.Equal(labels, want) {
					t.Errorf("%s: rows display %q with cells labelled %q; want %q and %q", where, display, labels, wantDisplay, want)
				}
				if w := run(tb, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(width) {
					t.Errorf("%s: the page is %d px wide", where, w)
				}
				testbrowser.Axe(t, tb.ctx)
				if width < 600 {
					tb.scrollTo(".list-status")
					tb.screenshot("budget-list-cards-" + lang + "-360")
				}
			}
		}
		viewport(tb, 1280)
	})
}

// scrollTo scrolls the first element matching css to the top of the
// window, for a screenshot of what follows it.
func (tb *tab) scrollTo(css string) {
	tb.t.Helper()
	run(tb, chromedp.Evaluate[bool](`(document.querySelector(`+strconv.Quote(css)+`).scrollIntoView(), true)`))
}

// tabTo presses Tab from the top of the page until css has the focus,
// then Enter, and returns the status of the page that leads to. It fails
// if css cannot be reached with the keyboard.
func (tb *tab) tabTo(css string) int {
	tb.t.Helper()
	run(tb, chromedp.Evaluate[bool](`document.activeElement?.blur(), window.scrollTo(0, 0), true`))
	for range 120 {
		tb.do(chromedp.KeyEvent("\t"))
		if run(tb, chromedp.Evaluate[bool](`document.activeElement?.matches(`+strconv.Quote(css)+`) ?? false`)) {
			ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
			defer cancel()
			resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent("\r"))
			if err != nil {
				tb.t.Fatalf("Enter on %s: %v", css, err)
			}
			tb.waitReady()
			return int(resp.Status)
		}
	}
	tb.t.Fatalf("%s is not reached by Tab", css)
	return 0
}
