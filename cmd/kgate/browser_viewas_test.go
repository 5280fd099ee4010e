package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Staff view the demo's portal as a silver partner in Chromium: the
// partner's records with the masked field, the policy's explanation on a
// refused app, a write refused, and back to staff after Stop.
func TestViewAsMemberInChromium(t *testing.T) {
	s := startBrowserSuite(t)
	sam := s.login(t, "u-sam")
	sam.setLang("en")

	if status := sam.navigate(s.demo.URL + "/view-as"); status != http.StatusOK {
		t.Fatalf("sam's view-as page: %d", status)
	}
	sam.do(chromedp.SendKeys(chromedp.CSS("#view-as-email"), "bob@acme.example"))
	sam.click(`.view-as button[type="submit"]`)
	if banner := sam.text(".view-as-banner"); !strings.HasPrefix(banner, "Viewing as Bob Suzuki") ||
		!strings.HasSuffix(banner, "<bob@acme.example> — Stop") {
		t.Fatalf("the banner says %q", banner)
	}
	sam.screenshot("view-as-home")

	sam.navigate(s.demo.URL + "/apps/budget")
	l := sam.list()
	l.wantNoColumn(t, "Internal note", "Approved amount")
	if want := s.recordNumbers(t, 2, `org in ("acme")`); !sameSet(l.numbers(), want) {
		t.Errorf("viewing as bob, the list shows %v; the simulator has %v for acme", l.numbers(), want)
	}
	sam.click(`a[href="/apps/budget/records/1"]`)
	if rec := sam.fields(); rec["Approved amount"] != "(hidden)" {
		t.Errorf("viewing as bob, approved amount %q, want the mask", rec["Approved amount"])
	}
	if !sam.exists(".view-as-banner") {
		t.Error("the record page has no view-as banner")
	}

	t.Run("a write is refused", func(t *testing.T) {
		sam.t = t
		sam.do(chromedp.SendKeys(chromedp.CSS("#comment-text"), "written by staff"))
		if status := sam.clickStatus(`form.comment-form button[type="submit"]`); status != http.StatusForbidden {
			t.Errorf("posting a comment while viewing: %d", status)
		}
		if body := sam.text("main"); !strings.Contains(body, "You are viewing as a member: nothing can be changed.") {
			t.Errorf("the refusal says %q", body)
		}
	})

	t.Run("a refused app is explained", func(t *testing.T) {
		sam.t = t
		if status := sam.navigate(s.demo.URL + "/apps/members"); status != http.StatusForbidden {
			t.Errorf("the members app viewed as bob: %d", status)
		}
		explain := sam.text("pre.explain")
		for _, want := range []string{`REFUSED: read in app "members" (id 1) for bob@acme.example`, "failed  allow", "kgate.rego:", "row rule: no record"} {
			if !strings.Contains(explain, want) {
				t.Errorf("the explanation lacks %q:\n%s", want, explain)
			}
		}
		sam.screenshot("view-as-explained")
	})

	t.Run("stop returns to staff", func(t *testing.T) {
		sam.t = t
		sam.click(".view-as-banner button")
		if sam.exists(".view-as-banner") || !sam.exists(`.app-card a[href="/apps/members"]`) {
			t.Errorf("after Stop at %s: banner %v", sam.location(), sam.exists(".view-as-banner"))
		}
	})
}
