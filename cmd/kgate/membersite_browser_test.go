package main

import (
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testbrowser"
	"github.com/kgate/kgate/internal/testenv"
)

// The member site (examples/member-site) in Chromium: each member's
// gallery, image preview and chart pages in both languages, on a desktop
// and on a phone, pass axe-core and show only what the member may see.
func TestMemberSiteInChromium(t *testing.T) {
	s := startMemberSiteBrowser(t)
	materials := simRecords(t, s.demo, "2", "ms-token-materials")
	requests := simRecords(t, s.demo, "3", "ms-token-requests")

	for _, m := range []struct{ sub, org, level string }{
		{"u-ben", "sakura", "bronze"}, {"u-ken", "orca", "silver"}, {"u-gina", "sakura", "gold"},
	} {
		t.Run(m.sub+" ("+m.level+") sees the gallery of their materials and charts of their company's requests", func(t *testing.T) {
			visible, own := 0, 0
			for _, r := range materials {
				if levelRank[demoField(r, "level")] <= levelRank[m.level] {
					visible++
				}
			}
			for _, r := range requests {
				if demoField(r, "org") == m.org {
					own++
				}
			}
			tb := s.as(t, m.sub)
			for _, lang := range []string{"en", "ja"} {
				tb.setLang(lang)
				for _, width := range []int64{1280, 360} {
					if width == 360 {
						tb.do(chromedp.EmulateViewport(360, 800, chromedp.EmulateScale(2), chromedp.EmulateMobile))
					} else {
						tb.do(chromedp.EmulateViewport(1280, 800))
					}
					checkGalleryPages(t, tb, s, visible, m.level+"-"+lang+"-"+strconv.FormatInt(width, 10))
					for _, c := range []struct {
						app      string
						headings []string // the charts' titles, by language: en, ja
						counts   []int    // the charts that count records, in page order
						total    int      // what each of them adds up to
					}{
						{"materials", []string{"Materials by category", "分類別の資料数"}, []int{0}, visible},
						{"requests", []string{"Requests by status", "状態別の申請数", "Requests per month", "月別の申請数",
							"Requested amount by type", "種別ごとの申請額"}, []int{0, 1}, own},
					} {
						where := c.app + " charts, " + lang + ", " + strconv.FormatInt(width, 10) + " px"
						tb.navigate(s.demo.URL + "/apps/" + c.app + "/charts")
						var want []string
						for i := 0; i < len(c.headings); i += 2 {
							want = append(want, c.headings[i+map[string]int{"en": 0, "ja": 1}[lang]])
						}
						if got := tb.texts("section.chart h2"); !slices.Equal(got, want) {
							t.Errorf("%s: charts %q, want %q", where, got, want)
						}
						if n := len(tb.texts(`section.chart svg[role="img"] title`)); n != len(want) {
							t.Errorf("%s: %d named drawings for %d charts", where, n, len(want))
						}
						// The counting charts add up to the records the member may see.
						columns := chartColumns(tb)
						for _, i := range c.counts {
							if i >= len(columns) || sumDigits(columns[i]) != c.total {
								t.Errorf("%s: chart %d of %d adds up to other than %d: %q", where, i, len(columns), c.total, columns)
							}
						}
						if w := run(tb, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(width) {
							t.Errorf("%s: the page is %d px wide", where, w)
						}
						testbrowser.Axe(t, tb.ctx)
						tb.screenshot("member-site-" + c.app + "-charts-" + m.level + "-" + lang + "-" + strconv.FormatInt(width, 10))
					}
				}
			}
		})
	}
	t.Logf("screenshots in %s", s.shots)
}

// checkGalleryPages looks at the materials' gallery and at the preview of
// its first image as the tab's member at the tab's size: the cards and
// their pictures, the width, axe-core.
func checkGalleryPages(t *testing.T, tb *tab, s *browserSuite, visible int, shot string) {
	t.Helper()
	width := run(tb, chromedp.Evaluate[int](`window.innerWidth`))
	tb.navigate(s.demo.URL + "/apps/materials/gallery")
	if n := len(tb.texts("li.gallery-card h2")); n != visible {
		t.Errorf("gallery at %d px: %d cards, want the %d materials the member may see", width, n, visible)
	}
	if n := len(tb.texts(".gallery-card img")); n == 0 {
		t.Errorf("gallery at %d px: no thumbnail", width)
	}
	if broken := brokenImages(tb); broken != 0 {
		t.Errorf("gallery at %d px: %d pictures do not load", width, broken)
	}
	if w := run(tb, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > width {
		t.Errorf("gallery at %d px: the page is %d px wide", width, w)
	}
	testbrowser.Axe(t, tb.ctx)
	run(tb, chromedp.Evaluate[bool](`document.querySelector("#count").scrollIntoView(), true`)) // the cards, for the screenshot
	tb.screenshot("member-site-gallery-" + shot)

	tb.click(".gallery-card .card-media a[href^='/previews/']")
	if tb.text("h1") == "" || !tb.exists("figure.preview img") || brokenImages(tb) != 0 {
		t.Errorf("preview at %d px: heading %q, picture shown %v", width, tb.text("h1"), tb.exists("figure.preview img"))
	}
	if w := run(tb, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > width {
		t.Errorf("preview at %d px: the page is %d px wide", width, w)
	}
	testbrowser.Axe(t, tb.ctx)
	tb.screenshot("member-site-preview-" + shot)
}

// brokenImages counts the page's images that fail to load.
func brokenImages(tb *tab) int {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[int](`Promise.all(Array.from(document.images, i => i.decode().then(() => 0, () => 1))).then(r => r.reduce((a, b) => a + b, 0))`, chromedp.EvalAwaitPromise))
}

// chartColumns returns the values of each chart's table, in page order.
func chartColumns(tb *tab) [][]string {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("section.chart"),
		s => Array.from(s.querySelectorAll("tbody td.num"), td => td.textContent.trim()))`))
}

func sumDigits(values []string) int {
	total := 0
	for _, v := range values {
		n, _ := strconv.Atoi(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, v))
		total += n
	}
	return total
}

// startMemberSiteBrowser is startBrowserSuite for the member site.
func startMemberSiteBrowser(t *testing.T) *browserSuite {
	t.Helper()
	testenv.LookPath(t, "chromium", "chromium-browser", "google-chrome")
	d, err := startDemo(demoOptions{Example: "member-site", Listen: freeLoopbackAddr(t)}, io.Discard)
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
	s.browser = testbrowser.Chromium(t, chromedp.Flag("lang", "en-US"), chromedp.Flag("accept-lang", "en-US,en"), chromedp.WindowSize(1280, 800))
	return s
}
