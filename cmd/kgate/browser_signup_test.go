package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testbrowser"
)

// Sign-up in Chromium, in Japanese and English, on a wide and a
// phone-sized screen: henry (Acme's domain, not a member) lands on the
// sign-up form after login; a required answer left empty is named in the
// summary and at its field; the last round files his application and
// shows the pending page, which his next login shows again. frank, of a
// domain no organization lists, gets the page saying so. axe finds
// nothing on any of these pages.
func TestSignUpInChromium(t *testing.T) {
	s := startBrowserSuite(t)
	texts := map[string]struct{ title, errors, required, pending, domain string }{
		"ja": {"利用申請", "次の項目を修正してください。", "入力してください。", "申請は承認待ちです", "このメールアドレスでは申請できません"},
		"en": {"Sign up", "Please correct the following:", "Enter this.", "Your application is awaiting approval", "Sign-up is not open to your e-mail address"},
	}
	rounds := []struct {
		lang  string
		width int64
	}{{"ja", 1280}, {"ja", 360}, {"en", 1280}, {"en", 360}}
	for i, r := range rounds {
		want := texts[r.lang]
		t.Run(fmt.Sprintf("%s at %d", r.lang, r.width), func(t *testing.T) {
			tb := s.newTab(t)
			tb.do(chromedp.EmulateViewport(r.width, 800))
			tb.navigate(s.demo.URL + "/")
			if status := tb.pickUser("u-henry"); status != http.StatusOK || !strings.HasSuffix(tb.location(), "/signup") {
				t.Fatalf("henry after login: %d at %s", status, tb.location())
			}
			tb.setLang(r.lang)
			if h1 := tb.text("main h1"); h1 != want.title {
				t.Fatalf("heading %q, want %q", h1, want.title)
			}
			if name := tb.attr("#signup-0", "value"); name != "Henry Ono" {
				t.Errorf("the name is not the provider's: %q", name)
			}
			wantFits(t, tb)
			testbrowser.Axe(t, tb.ctx)
			tb.screenshot(fmt.Sprintf("signup-%s-%d", r.lang, r.width))

			// The organization is not asked of the provider: it starts empty.
			if status := tb.clickStatus(`form[action="/signup"] button[type="submit"]`); status != http.StatusBadRequest {
				t.Fatalf("an empty required answer: status %d", status)
			}
			if h2, field := tb.text("#error-summary h2"), tb.text("#signup-1-error"); h2 != want.errors || field != want.required {
				t.Errorf("summary %q, field error %q", h2, field)
			}
			if tb.attr("#signup-1", "aria-invalid") != "true" {
				t.Error("the empty answer is not marked invalid")
			}
			wantFits(t, tb)
			testbrowser.Axe(t, tb.ctx)
			tb.screenshot(fmt.Sprintf("signup-error-%s-%d", r.lang, r.width))
			if i < len(rounds)-1 {
				return // henry applies once, in the last round
			}

			tb.do(chromedp.SendKeys(chromedp.CSS("#signup-1"), "Acme Trading"),
				chromedp.SendKeys(chromedp.CSS("#signup-2"), "We resell Acme's goods in Osaka."))
			tb.click(`form[action="/signup"] button[type="submit"]`)
			if h1 := tb.text("main h1"); h1 != want.pending {
				t.Fatalf("after applying: %q", h1)
			}
			wantFits(t, tb)
			testbrowser.Axe(t, tb.ctx)
			tb.screenshot(fmt.Sprintf("signup-pending-%s-%d", r.lang, r.width))
			if rs := s.records(t, 1, `email = "henry@acme.example" and state in ("pending")`); len(rs) != 1 || fieldString(t, rs[0], "org") != "acme" {
				t.Fatalf("the members app holds %v for henry", rs)
			}
		})
	}
	t.Run("his next login shows the pending page", func(t *testing.T) {
		tb := s.newTab(t)
		tb.navigate(s.demo.URL + "/")
		if status := tb.pickUser("u-henry"); status != http.StatusForbidden || tb.text("main h1") != texts["en"].pending {
			t.Fatalf("henry, pending: %d %q at %s", status, tb.text("main h1"), tb.location())
		}
		testbrowser.Axe(t, tb.ctx)
	})
	for _, lang := range []string{"ja", "en"} {
		t.Run("frank's domain is not open, in "+lang, func(t *testing.T) {
			tb := s.newTab(t)
			tb.do(chromedp.EmulateViewport(360, 800))
			tb.navigate(s.demo.URL + "/")
			if status := tb.pickUser("u-frank"); status != http.StatusForbidden {
				t.Fatalf("frank: %d at %s", status, tb.location())
			}
			tb.setLang(lang)
			if h1 := tb.text("main h1"); h1 != texts[lang].domain {
				t.Fatalf("frank's page says %q", h1)
			}
			wantFits(t, tb)
			testbrowser.Axe(t, tb.ctx)
			tb.screenshot("signup-domain-" + lang + "-360")
		})
	}
}
