package main

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testbrowser"
)

// The partner portal's charts and CSV export in Chromium: the budget app's
// charts (examples/partner-portal/Caddyfile) reached from its list, in
// Japanese and English at 1280 and 360 px, counting what the simulator
// holds for the member's organization, a masked field's chart absent for
// silver, no axe-core violation; and the list's CSV downloaded by Chromium
// and read back from disk.
func TestChartsAndCSVInChromium(t *testing.T) {
	s := startBrowserSuite(t)
	titles := map[string][]string{ // by language: the budget charts in order
		"en": {"Requested amount by category", "Requests by status", "Approved amount by category"},
		"ja": {"区分別の申請額", "状態別の件数", "区分別の承認額"},
	}
	for _, m := range []struct {
		sub    string
		charts []int // which of titles the member sees
	}{
		{"u-bob", []int{0, 1}}, // silver: approved_amount is masked
		{"u-alice", []int{0, 1, 2}},
	} {
		t.Run(m.sub+"'s budget charts", func(t *testing.T) {
			acme := len(s.recordNumbers(t, 2, `org in ("acme")`))
			tb := s.as(t, m.sub)
			for _, lang := range []string{"en", "ja"} {
				tb.setLang(lang)
				for _, width := range []int64{1280, 360} {
					viewport(tb, width)
					where := lang + ", " + strconv.FormatInt(width, 10) + " px"
					tb.navigate(s.demo.URL + "/apps/budget")
					tb.click(`nav.tabs a[href^="/apps/budget/charts"]`)
					var want []string
					for _, i := range m.charts {
						want = append(want, titles[lang][i])
					}
					if got := tb.texts("section.chart h2"); !slices.Equal(got, want) {
						t.Errorf("%s: charts %q, want %q", where, got, want)
					}
					if got := tb.texts(`section.chart svg[role="img"] > title`); !slices.Equal(got, want) {
						t.Errorf("%s: the drawings are named %q, want %q", where, got, want)
					}
					if cols := chartColumns(tb); len(cols) < 2 || sumDigits(cols[1]) != acme {
						t.Errorf("%s: the status chart adds up to other than Acme's %d requests: %q", where, acme, cols)
					}
					if w := run(tb, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > int(width) {
						t.Errorf("%s: the page is %d px wide", where, w)
					}
					testbrowser.Axe(t, tb.ctx)
					tb.screenshot("budget-charts-" + strings.TrimPrefix(m.sub, "u-") + "-" + lang + "-" + strconv.FormatInt(width, 10))
				}
			}
			viewport(tb, 1280)
		})
	}

	t.Run("bob downloads the filtered list as CSV", func(t *testing.T) {
		event := s.recordNumbers(t, 2, `org in ("acme") and category in ("event")`)
		tb := s.as(t, "u-bob")
		for _, lang := range []string{"en", "ja"} {
			tb.setLang(lang)
			for _, width := range []int64{1280, 360} {
				viewport(tb, width)
				where := lang + ", " + strconv.FormatInt(width, 10) + " px"
				tb.navigate(s.demo.URL + "/apps/budget?f.category=event&sort=amount&dir=desc")
				l := tb.list()
				body, name := tb.download("a.export")
				if !strings.HasPrefix(name, "budget-") || !strings.HasSuffix(name, ".csv") {
					t.Errorf("%s: saved as %q", where, name)
				}
				if !bytes.HasPrefix(body, []byte("\ufeff")) || !bytes.Contains(body, []byte("\r\n")) {
					t.Fatalf("%s: no BOM or CRLF in %q", where, body)
				}
				rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if !slices.Equal(rows[0], l.headers()) {
					t.Errorf("%s: CSV header %q, the list's %q", where, rows[0], l.headers())
				}
				var numbers []string
				for _, r := range rows[1:] {
					numbers = append(numbers, r[0])
				}
				if !sameSet(numbers, event) || !slices.Equal(numbers, l.numbers()) {
					t.Errorf("%s: CSV rows %q; the list shows %q, the simulator has %q", where, numbers, l.numbers(), event)
				}
			}
		}
		viewport(tb, 1280)
	})
}

func viewport(tb *tab, width int64) {
	tb.t.Helper()
	if width < 600 {
		tb.do(chromedp.EmulateViewport(width, 800, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		return
	}
	tb.do(chromedp.EmulateViewport(width, 800))
}
